"""One entry point for either dialect (DimseNode -> pynetdicom, DicomWebNode -> dicomweb-client):
echo, find studies with their series, retrieve a series through the cache, store our results."""

from __future__ import annotations

import os
import shutil
from collections.abc import Generator, Iterable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from app.pacs import dicomweb, dimse, dimse_retrieve
from app.pacs.cache import SeriesCache
from app.pacs.errors import PacsError, RetrieveCancelled
from app.pacs.models import QueryFilter, RetrievedSeries, SeriesMatch, StudyMatch
from app.pacs.nodes import DimseNode, Node
from app.tasks import Cancel, Progress

if TYPE_CHECKING:  # heavy imports stay lazy
    from pydicom.dataset import Dataset


def echo(node: Node) -> None:
    """C-ECHO, or a QIDO-RS study search for a DICOMweb node; PacsError when it does not answer."""
    if isinstance(node, DimseNode):
        dimse.echo(node)
    else:
        dicomweb.find_studies(node, QueryFilter(patient_id="CARDIOTRACE-ECHO"))


def find(node: Node, flt: QueryFilter, with_series: bool = True) -> list[StudyMatch]:
    """Matching studies (sorted by date, newest first), each with its series when `with_series`."""
    if flt.modality and flt.modality not in ("US", "MR"):
        raise PacsError(f"modality {flt.modality!r}: choose US or MR")
    studies = dimse.find_studies(node, flt) if isinstance(node, DimseNode) else dicomweb.find_studies(node, flt)
    if with_series:
        studies = [replace(s, series=tuple(find_series(node, s.study_uid))) for s in studies]
    return sorted(studies, key=lambda s: (s.date, s.study_uid), reverse=True)


def find_series(node: Node, study_uid: str) -> list[SeriesMatch]:
    if isinstance(node, DimseNode):
        return dimse.find_series(node, study_uid)
    return dicomweb.find_series(node, study_uid)


def retrieve_series(node: Node, study_uid: str, series_uid: str, cache: SeriesCache | None = None,
                    expected: int | None = None, move_port: int | None = None, cancel: Cancel = None
                    ) -> Generator[Progress, None, RetrievedSeries]:
    """Generator: yields Progress, returns the complete RetrievedSeries (from the cache when it is
    there). DIMSE uses C-GET, or C-MOVE to our storage SCP on `move_port` when given. Nothing is kept of
    a retrieval that fails, is cancelled or misses instances (`expected` defaults to the node's count)."""
    cache = cache or SeriesCache()
    hit = cache.lookup(study_uid, series_uid)
    if hit is not None:
        yield Progress(1.0, "from the local cache")
        return hit
    if expected is None:
        listed = {s.series_uid: s for s in find_series(node, study_uid)}
        if series_uid not in listed:
            raise PacsError(f"{node.label}: no series {series_uid} in study {study_uid}")
        expected = listed[series_uid].n_instances
    staging = cache.begin()
    try:
        if isinstance(node, DimseNode) and move_port:
            steps = dimse_retrieve.move_series(node, study_uid, series_uid, staging, move_port, expected, cancel)
        elif isinstance(node, DimseNode):
            steps = dimse_retrieve.get_series(node, study_uid, series_uid, staging, expected, cancel)
        else:
            steps = dicomweb.get_series(node, study_uid, series_uid, staging, cancel)
        yield from steps
        result = cache.commit(staging, study_uid, series_uid, expected)
    except BaseException:  # failure, cancel, or the consumer closed the generator: keep nothing
        cache.discard(staging)
        raise
    yield Progress(1.0, f"{result.n_instances} instances retrieved")
    return result


def retrieve_study(node: Node, study_uid: str, series_uids: list[str] | None = None,
                   cache: SeriesCache | None = None, move_port: int | None = None, cancel: Cancel = None
                   ) -> Generator[Progress, None, list[RetrievedSeries]]:
    """Generator: every (or the given) series of a study through the cache; returns [RetrievedSeries]."""
    listed = find_series(node, study_uid)
    if series_uids:
        unknown = set(series_uids) - {s.series_uid for s in listed}
        if unknown:
            raise PacsError(f"{node.label}: no series {sorted(unknown)[0]} in study {study_uid}")
        listed = [s for s in listed if s.series_uid in series_uids]
    if not listed:
        raise PacsError(f"{node.label}: study {study_uid} not found or empty")
    results: list[RetrievedSeries] = []
    for i, series in enumerate(listed):
        steps = retrieve_series(node, study_uid, series.series_uid, cache, series.n_instances, move_port, cancel)
        while True:
            try:
                step = next(steps)
            except StopIteration as stop:
                results.append(stop.value)
                break
            yield Progress((i + step.fraction) / len(listed), f"series {i + 1} of {len(listed)}: {step.message}")
    return results


def copy_out(series: list[RetrievedSeries], out_dir: Path) -> list[Path]:
    """The instances of retrieved series as files in `out_dir` (`<SOP Instance UID>.dcm`)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for s in series:
        for f in sorted(Path(s.folder).glob("*.dcm")):
            target = out_dir / f.name
            tmp = out_dir / f".{f.name}.part"
            shutil.copyfile(f, tmp)
            os.replace(tmp, target)
            written.append(target)
    return written


def store(node: Node, datasets: Iterable[Dataset]) -> int:
    """C-STORE or STOW-RS; PacsError with one line when refused."""
    if isinstance(node, DimseNode):
        return dimse.store(node, datasets)
    return dicomweb.store(node, datasets)


__all__ = ["PacsError", "RetrieveCancelled", "copy_out", "echo", "find", "find_series", "retrieve_series",
           "retrieve_study", "store"]
