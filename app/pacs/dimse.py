"""DIMSE with pynetdicom: association set-up with clear failures, C-ECHO, C-FIND (study, series), C-STORE.

Every network step has a timeout (node.timeout_s); a node that is down, refuses us or never answers
raises PacsError with one line, within about 2 x timeout_s. C-GET / C-MOVE live in dimse_retrieve.py.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from app.pacs.errors import PacsError
from app.pacs.models import QueryFilter, SeriesMatch, StudyMatch
from app.pacs.nodes import DimseNode

if TYPE_CHECKING:  # heavy imports stay lazy
    from pydicom.dataset import Dataset
    from pynetdicom import AE
    from pynetdicom.association import Association

# (abstract syntax, its transfer syntaxes or None for the default ones)
Contexts = Sequence[tuple[str, list[str] | None]]

logging.getLogger("pynetdicom").setLevel(logging.CRITICAL)  # failures reach the user as one PacsError line

VERIFICATION = "1.2.840.10008.1.1"
FIND_STUDY_ROOT = "1.2.840.10008.5.1.4.1.2.2.1"


def make_ae(node: DimseNode) -> AE:
    from pynetdicom import AE

    ae = AE(ae_title=node.our_aet)
    for name in ("acse_timeout", "dimse_timeout", "network_timeout", "connection_timeout"):
        setattr(ae, name, node.timeout_s)
    return ae


def _reachable(node: DimseNode) -> None:
    """PacsError naming the cause when nothing accepts a TCP connection at the node's address."""
    try:
        with socket.create_connection((node.host, node.port), timeout=node.timeout_s):
            return
    except ConnectionRefusedError:
        raise PacsError(f"{node.label}: nothing listens there (connection refused); check host and port") from None
    except socket.timeout:
        raise PacsError(f"{node.label}: no answer within {node.timeout_s:g} s (host down or port filtered)") from None
    except OSError as exc:
        raise PacsError(f"{node.label}: cannot connect ({exc.strerror or exc})") from None


@contextmanager
def association(node: DimseNode, contexts: Contexts, ext_neg: list[Any] | None = None,
                evt_handlers: list[Any] | None = None, ae: AE | None = None) -> Iterator[Association]:
    """An established association for `contexts` [(abstract syntax, [transfer syntaxes] or None)]."""
    _reachable(node)
    ae = ae or make_ae(node)
    for abstract, syntaxes in contexts:
        if syntaxes:
            ae.add_requested_context(abstract, syntaxes)
        else:
            ae.add_requested_context(abstract)
    started_s = time.monotonic()
    assoc = ae.associate(node.host, node.port, ae_title=node.aet, ext_neg=ext_neg, evt_handlers=evt_handlers)
    if not assoc.is_established:
        _raise_not_established(node, assoc, time.monotonic() - started_s)
    try:
        yield assoc
    finally:
        if assoc.is_established:
            assoc.release()
        ae.shutdown()


def _raise_not_established(node: DimseNode, assoc: Association, waited_s: float) -> None:
    """One line for a refused association. A node that drops the connection at once, instead of (or right
    after) sending A-ASSOCIATE-RJ, refuses us too: only a wait of about the whole timeout is a timeout."""
    refused = (f"{node.label} refused the association (is our AE title {node.our_aet} registered there, "
               f"and theirs {node.aet}?)")
    if assoc.is_rejected:
        raise PacsError(refused)
    if waited_s < 0.8 * node.timeout_s:
        raise PacsError(refused.replace("association (", "association: it aborted it at once (", 1))
    raise PacsError(f"{node.label}: the association was aborted or timed out after {node.timeout_s:g} s")


def echo(node: DimseNode) -> None:
    """C-ECHO; PacsError when the node does not answer success."""
    with association(node, [(VERIFICATION, None)]) as assoc:
        status = assoc.send_c_echo()
    code = getattr(status, "Status", None)
    if code != 0x0000:
        raise PacsError(f"{node.label}: C-ECHO failed ({'no response' if code is None else f'status 0x{code:04X}'})")


def _find(node: DimseNode, query: Dataset) -> list[Dataset]:
    """The identifiers of every pending C-FIND response."""
    found: list[Dataset] = []
    with association(node, [(FIND_STUDY_ROOT, None)]) as assoc:
        for status, identifier in assoc.send_c_find(query, FIND_STUDY_ROOT):
            code = getattr(status, "Status", None)
            if code is None:
                raise PacsError(f"{node.label}: C-FIND got no response within {node.timeout_s:g} s")
            if code in (0xFF00, 0xFF01) and identifier is not None:
                found.append(identifier)
            elif code not in (0x0000, 0xFF00, 0xFF01):
                raise PacsError(f"{node.label}: C-FIND failed (status 0x{code:04X})")
    return found


def _text(ds: Dataset, keyword: str) -> str:
    value = ds.get(keyword, "")
    return "" if value is None else str(value).strip()


def _values(ds: Dataset, keyword: str) -> tuple[str, ...]:
    value = ds.get(keyword) or []
    return (str(value),) if isinstance(value, str) else tuple(str(v) for v in value if v)


def _int(ds: Dataset, keyword: str) -> int | None:
    try:
        return int(str(ds.get(keyword, "")).strip())
    except ValueError:
        return None


def study_query(flt: QueryFilter) -> Dataset:
    from pydicom.dataset import Dataset

    q = Dataset()
    q.QueryRetrieveLevel = "STUDY"
    q.StudyInstanceUID = ""
    q.PatientName = flt.patient_name
    q.PatientID = flt.patient_id
    q.StudyDate = flt.date_range
    q.StudyDescription = ""
    q.ModalitiesInStudy = flt.modality
    q.NumberOfStudyRelatedInstances = ""
    return q


def find_studies(node: DimseNode, flt: QueryFilter) -> list[StudyMatch]:
    """Studies matching `flt` (study level), without their series."""
    return [StudyMatch(study_uid=_text(ds, "StudyInstanceUID"), patient_name=_text(ds, "PatientName"),
                       patient_id=_text(ds, "PatientID"), date=_text(ds, "StudyDate"),
                       description=_text(ds, "StudyDescription"),
                       modalities=_values(ds, "ModalitiesInStudy"),
                       n_instances=_int(ds, "NumberOfStudyRelatedInstances"))
            for ds in _find(node, study_query(flt))]


def find_series(node: DimseNode, study_uid: str, modality: str = "") -> list[SeriesMatch]:
    """The series of one study (series level), optionally of one modality."""
    from pydicom.dataset import Dataset

    q = Dataset()
    q.QueryRetrieveLevel = "SERIES"
    q.StudyInstanceUID = study_uid
    q.SeriesInstanceUID = ""
    q.Modality = modality
    q.SeriesDescription = ""
    q.SeriesNumber = ""
    q.NumberOfSeriesRelatedInstances = ""
    return sorted((SeriesMatch(series_uid=_text(ds, "SeriesInstanceUID"), modality=_text(ds, "Modality"),
                               description=_text(ds, "SeriesDescription"), number=_int(ds, "SeriesNumber"),
                               n_instances=_int(ds, "NumberOfSeriesRelatedInstances"))
                   for ds in _find(node, q)), key=lambda s: (s.number is None, s.number or 0, s.series_uid))


def store(node: DimseNode, datasets: Iterable[Dataset]) -> int:
    """C-STORE each dataset; PacsError when the node refuses one. Returns the number stored."""
    from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian

    objects = list(datasets)
    contexts: dict[str, list[str]] = {}
    for ds in objects:
        syntaxes = contexts.setdefault(str(ds.SOPClassUID), [ExplicitVRLittleEndian, ImplicitVRLittleEndian])
        ts = str(ds.file_meta.TransferSyntaxUID) if "TransferSyntaxUID" in getattr(ds, "file_meta", {}) else ""
        if ts and ts not in syntaxes:
            syntaxes.insert(0, ts)
    with association(node, list(contexts.items())) as assoc:
        for ds in objects:
            try:
                status = assoc.send_c_store(ds)
            except (ValueError, RuntimeError) as exc:  # no accepted context for this SOP class / link lost
                raise PacsError(
                    f"{node.label} refused to store {_text(ds, 'Modality') or 'an object'}: {exc}"
                ) from None
            code = getattr(status, "Status", None)
            if code is None or not (code == 0x0000 or 0xB000 <= code <= 0xBFFF):
                what = "no response" if code is None else f"status 0x{code:04X}"
                raise PacsError(f"{node.label} refused to store {_text(ds, 'Modality') or 'an object'} "
                                f"{_text(ds, 'SOPInstanceUID')} ({what})")
    return len(objects)
