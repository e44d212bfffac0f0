"""The PACS options of `cardiotrace analyze`: read the recordings from a node, send the results back.

    analyze STUDY_UID[/SERIES_UID]... --from-node NODE     # retrieve (through the cache), then analyze each clip
    analyze PATH... --send AET@HOST:PORT                    # SR + SEG + Encapsulated PDF by C-STORE
    analyze PATH... --send-dicomweb URL                     # the same by STOW-RS
    analyze PATH... --dicom-out DIR                         # the same objects as files

A refused store, a node that does not answer, or a recording not read from DICOM -> UsageError (exit 2); the
nodes and the recordings' DICOM sources are checked before the analysis.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.pacs.nodes import DEFAULT_OUR_AET


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("PACS: read from a node, results back as DICOM (SR, SEG, PDF)")
    group.add_argument("--from-node", metavar="NODE",
                       help="PATHs are Study Instance UIDs (or STUDY_UID/SERIES_UID) on this node (AET@HOST:PORT, "
                            "a DICOMweb URL, or a saved node name); retrieved through the local cache")
    group.add_argument("--send", metavar="NODE", help="store the SR, SEG and Encapsulated PDF on this DIMSE node "
                       "(AET@HOST:PORT or a saved node name) by C-STORE")
    group.add_argument("--send-dicomweb", metavar="URL", help="store them by STOW-RS at this DICOMweb service root")
    group.add_argument("--dicom-out", metavar="DIR", help="write the SR, SEG and Encapsulated PDF as files in DIR")
    group.add_argument("--aet", default=DEFAULT_OUR_AET, help=f"our AE title (default {DEFAULT_OUR_AET})")


def wants_dicom(args) -> bool:
    return bool(args.send or args.send_dicomweb or args.dicom_out)


def validate(args) -> None:
    from app.commands.usage import UsageError

    if getattr(args, "out", None) and (wants_dicom(args) or args.from_node):
        raise UsageError("--out (batch) cannot be combined with --from-node, --send, --send-dicomweb or --dicom-out")
    if args.send and args.send_dicomweb:
        raise UsageError("give either --send or --send-dicomweb")


def check_nodes(args) -> None:
    """Before a long analysis: the node to send to answers (C-ECHO / a QIDO-RS search with our credentials),
    else one line now rather than after the analysis."""
    if args.send or args.send_dicomweb:
        _guard(_check_nodes, args)


def check_sources(args, recordings) -> None:
    """Before a long analysis: DICOM results reference the recordings' DICOM images, all of one study; a video,
    a NIfTI or two studies get one line now, before any report or export is written."""
    if wants_dicom(args) and recordings:
        _guard(_check_sources, recordings)


def _check_sources(recordings) -> None:
    from app.report.dicom_results import source_values_as_stored
    from app.report.dicom_sources import common_study_uid, source_images

    with source_values_as_stored():  # a source's malformed UID is copied as stored, not news to the user
        common_study_uid([source_images(rec) for rec in recordings])


def _check_nodes(args) -> None:
    from app.pacs import retrieve

    retrieve.echo(_target_node(args))


def _target_node(args):
    from app.pacs.nodes import dicomweb_node, resolve_node

    return resolve_node(args.send, args.aet) if args.send else dicomweb_node(args.send_dicomweb)


def _guard(func, *args):
    from app.commands.usage import UsageError
    from app.pacs.errors import PacsError
    from app.report.dicom_sources import DicomResultError

    try:
        return func(*args)
    except (PacsError, DicomResultError) as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:  # --dicom-out's folder (permissions, a full disk)
        raise UsageError(f"cannot write {exc.filename or 'the DICOM results'}: {exc.strerror or exc}") from None


def resolve_paths(args) -> list[str]:
    """The PATHs, or with --from-node the retrieved series (files or folders in the cache)."""
    if not args.from_node:
        return list(args.paths)
    return _guard(_retrieve_all, args)


def _retrieve_all(args) -> list[str]:
    from app.pacs import retrieve
    from app.pacs.errors import PacsError
    from app.pacs.nodes import resolve_node
    from app.tasks import run_task

    node = resolve_node(args.from_node, args.aet)
    out = []
    for text in args.paths:
        study_uid, _, series_uid = str(text).partition("/")
        if series_uid:
            wanted = [series_uid]
        else:
            wanted = [s.series_uid for s in retrieve.find_series(node, study_uid) if s.modality in ("US", "MR")]
            if not wanted:
                raise PacsError(f"{node.label}: study {study_uid} not found, or it holds no US or MR series")
        retrieved = run_task(retrieve.retrieve_study(node, study_uid, wanted))
        assert retrieved is not None  # nothing cancels it
        for series in retrieved:
            out += _recordings_of(Path(series.folder))
    return out


def _recordings_of(folder: Path) -> list[str]:
    """The PATHs of one retrieved series: its file, or its folder (an MR stack's slices), or each echo clip of a
    series that holds the exam's clips as instances of their own (scanners store an exam either way)."""
    from app.data.readers import list_series

    files = sorted(folder.glob("*.dcm"))
    if len(files) == 1:
        return [str(files[0])]
    entries = list_series(folder)
    if len(entries) > 1 and all(e.modality == "echo" and len(e.paths) == 1 for e in entries):
        return [str(e.paths[0]) for e in entries]
    return [str(folder)]


def send(args, analyses, report) -> None:
    """Build the DICOM results of the study's report (the one --report writes) and write / store them as the
    options say; progress lines on stderr."""
    if wants_dicom(args) and analyses:
        _guard(_send, args, analyses, report)


def _send(args, analyses, report) -> None:
    from app.report.dicom_results import build_results, send_results, write_results

    results = build_results(analyses, report=report, anonymise=args.anonymise, page_size=args.page_size)
    if args.dicom_out:
        for path in write_results(results, args.dicom_out):
            print(f"wrote {path}", file=sys.stderr)
    if args.send or args.send_dicomweb:
        node = _target_node(args)
        n = send_results(results, node)
        print(f"stored {n} objects (SR, SEG, PDF) on {node.label}: {report.status_text}", file=sys.stderr)
