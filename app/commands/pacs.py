"""`cardiotrace pacs echo|find|get`: talk to a PACS node from the command line.

    python -m app pacs echo --node ORTHANC@127.0.0.1:4242
    python -m app pacs find --node ORTHANC@127.0.0.1:4242 --modality US --date 20250101-20251231 --json -
    python -m app pacs find --dicomweb http://127.0.0.1:8042/dicom-web --patient-id P1 --json studies.json
    python -m app pacs get --node ORTHANC@127.0.0.1:4242 --study UID [--series UID] --out DIR [--move-port 11113]

Nodes: `--node AET@HOST:PORT` (DIMSE; our AE title from --aet, default CARDIOTRACE; a node name from the
settings file works too) or `--dicomweb URL` (the service root; credentials from the environment:
CARDIOTRACE_DICOMWEB_USER / _PASSWORD or _TOKEN). A node that does not answer, refuses, or sends an
incomplete series -> one line on stderr, exit 2.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from app.pacs.nodes import DEFAULT_OUR_AET
from app.paths import write_text


def add_node_arguments(parser: argparse.ArgumentParser, required: bool = True) -> None:
    where = parser.add_mutually_exclusive_group(required=required)
    where.add_argument("--node", metavar="AET@HOST:PORT", help="DIMSE node (or the name of a saved node)")
    where.add_argument("--dicomweb", metavar="URL", help="DICOMweb service root, e.g. http://127.0.0.1:8042/dicom-web")
    parser.add_argument("--aet", default=DEFAULT_OUR_AET, help=f"our AE title (default {DEFAULT_OUR_AET})")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="pacs_command", metavar="echo|find|get", required=True,
                                parser_class=type(parser))
    echo = sub.add_parser("echo", help="test a node (C-ECHO; a QIDO-RS search for DICOMweb)")
    add_node_arguments(echo)
    find = sub.add_parser("find", help="search studies and list their series")
    add_node_arguments(find)
    find.add_argument("--patient-id", default="", metavar="ID")
    find.add_argument("--patient-name", default="", metavar="PATTERN", help="DICOM wildcards: DOE^*")
    find.add_argument("--modality", choices=("US", "MR"), default="")
    find.add_argument("--date", metavar="FROM-TO", help="study date range YYYYMMDD-YYYYMMDD (either side may be empty)")
    find.add_argument("--json", dest="json_out", metavar="OUT", help="write the studies as JSON ('-' = stdout)")
    get = sub.add_parser("get", help="retrieve a study or one series as files")
    add_node_arguments(get)
    get.add_argument("--study", required=True, type=_uid, metavar="UID", help="Study Instance UID")
    get.add_argument("--series", action="append", type=_uid, metavar="UID",
                     help="Series Instance UID (repeatable; default all)")
    get.add_argument("--out", required=True, metavar="DIR", help="folder for the instances (<SOP Instance UID>.dcm)")
    get.add_argument("--move-port", type=_port, metavar="PORT",
                     help="DIMSE: C-MOVE to our own storage SCP listening on PORT (the node must know our AE "
                          "there) instead of C-GET")


def _uid(text: str) -> str:
    """argparse type of a DICOM UID (checked before a node is asked): digits in dot-separated parts, 64 at most."""
    text = text.strip()
    if len(text) > 64 or not re.fullmatch(r"[0-9]+(\.[0-9]+)*", text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a DICOM UID (digits and dots, at most 64 characters)")
    return text


def _port(text: str) -> int:
    from app.pacs.nodes import is_port

    if not text.isdigit() or not is_port(int(text)):
        raise argparse.ArgumentTypeError(f"must be a port number 1-65535, got {text!r}")
    return int(text)


def node_from_args(args: argparse.Namespace):
    """The node the options name; PacsError for a malformed one."""
    from app.pacs.nodes import dicomweb_node, resolve_node

    if getattr(args, "dicomweb", None):
        return dicomweb_node(args.dicomweb)
    return resolve_node(args.node, args.aet)


def run(args: argparse.Namespace) -> int:
    from app.commands.usage import UsageError, check_output_targets
    from app.pacs.errors import PacsError

    # where the results go, before a node is asked: a folder that is a file, or not writable, is one line now
    check_output_targets({"--json": getattr(args, "json_out", None)}, {"--out": getattr(args, "out", None)})
    try:
        return {"echo": _echo, "find": _find, "get": _get}[args.pacs_command](args)
    except PacsError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:  # the results' folder after all (a full disk)
        raise UsageError(f"cannot write {exc.filename or 'the results'}: {exc.strerror or exc}") from None


def _echo(args) -> int:
    from app.pacs import retrieve

    node = node_from_args(args)
    retrieve.echo(node)
    print(f"{node.label}: answers")
    return 0


def _find(args) -> int:
    from app.pacs import retrieve
    from app.pacs.models import QueryFilter, parse_date_range

    date_from, date_to = parse_date_range(args.date)
    flt = QueryFilter(args.patient_id, args.patient_name, args.modality, date_from, date_to)
    studies = retrieve.find(node_from_args(args), flt)
    if args.json_out:
        text = json.dumps({"studies": [s.to_json_dict() for s in studies]}, indent=2)
        if args.json_out == "-":
            sys.stdout.write(text + "\n")
        else:
            write_text(args.json_out, text)  # (a write that fails after all: run's one line)
    if args.json_out != "-":
        for s in studies:
            print(f"{s.date or '-':8}  {s.patient_id or '-':12}  {s.patient_name or '-':20}  {s.description or '-'}  "
                  f"{s.study_uid}")
            for se in s.series:
                print(f"    {se.modality or '-':3} {se.n_instances or 0:5} images  {se.description or '-'}  "
                      f"{se.series_uid}")
        print(f"{len(studies)} studies", file=sys.stderr)
    return 0


def _get(args) -> int:
    from app.pacs import retrieve
    from app.tasks import run_task

    node = node_from_args(args)
    steps = retrieve.retrieve_study(node, args.study, args.series, move_port=args.move_port)
    series = run_task(steps)
    assert series is not None  # nothing cancels it
    written = retrieve.copy_out(series, Path(args.out))
    print(f"{len(written)} instances of {len(series)} series in {args.out}", file=sys.stderr)
    return 0
