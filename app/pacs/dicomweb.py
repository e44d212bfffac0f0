"""DICOMweb with dicomweb-client: QIDO-RS (studies, series), WADO-RS (one series, instance by instance so
it reports progress and can stop), STOW-RS. Auth: basic (user + password) or a bearer token from the node.
Every HTTP failure becomes one PacsError line; each request has the node's timeout."""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from app.pacs.errors import PacsError, RetrieveCancelled
from app.pacs.models import QueryFilter, SeriesMatch, StudyMatch
from app.pacs.nodes import DicomWebNode
from app.tasks import Cancel, Progress, is_cancelled

if TYPE_CHECKING:  # heavy imports stay lazy
    from dicomweb_client.api import DICOMwebClient
    from pydicom.dataset import Dataset

T = TypeVar("T")


def client(node: DicomWebNode) -> DICOMwebClient:
    import requests
    from dicomweb_client.api import DICOMwebClient

    session = requests.Session()
    if node.token:
        session.headers["Authorization"] = f"Bearer {node.token}"
    elif node.username:
        session.auth = (node.username, node.password)
    web = DICOMwebClient(url=node.url, session=session, timeout=node.timeout_s)  # no request hangs
    web.set_http_retry_params(retry=False)  # a dead node answers "no" at once, not after 5 back-offs
    return web


def _call(node: DicomWebNode, what: str, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    import requests

    try:
        return func(*args, **kwargs)
    except requests.HTTPError as exc:
        code = exc.response.status_code if exc.response is not None else "?"
        hints = {401: " (credentials missing or wrong: CARDIOTRACE_DICOMWEB_USER/PASSWORD or _TOKEN)",
                 403: " (not allowed)", 404: " (is the URL the DICOMweb service root?)"}
        hint = hints.get(code, "") if isinstance(code, int) else ""
        raise PacsError(f"{node.label}: {what} refused, HTTP {code}{hint}") from None
    except requests.Timeout:
        raise PacsError(f"{node.label}: no answer to {what} within {node.timeout_s:g} s") from None
    except requests.ConnectionError:
        raise PacsError(f"{node.label}: cannot connect for {what} (nothing listens there or host unknown)") from None
    except requests.RequestException as exc:
        raise PacsError(f"{node.label}: {what} failed ({type(exc).__name__})") from None


def _first(item: dict[str, Any], tag: str) -> str:
    values = item.get(tag, {}).get("Value") or [""]
    value = values[0]
    if isinstance(value, dict):  # PN: {"Alphabetic": "..."}
        value = value.get("Alphabetic", "")
    return str(value).strip()


def _all(item: dict[str, Any], tag: str) -> tuple[str, ...]:
    return tuple(str(v) for v in (item.get(tag, {}).get("Value") or []) if v)


def _int(item: dict[str, Any], tag: str) -> int | None:
    text = _first(item, tag)
    try:
        return int(float(text)) if text else None
    except ValueError:
        return None


def find_studies(node: DicomWebNode, flt: QueryFilter) -> list[StudyMatch]:
    filters = {k: v for k, v in (("PatientID", flt.patient_id), ("PatientName", flt.patient_name),
                                 ("ModalitiesInStudy", flt.modality), ("StudyDate", flt.date_range)) if v}
    fields = ["StudyDescription", "NumberOfStudyRelatedInstances", "ModalitiesInStudy"]
    items = _call(node, "QIDO-RS study search", client(node).search_for_studies, search_filters=filters,
                  fields=fields, fuzzymatching=False)
    return [StudyMatch(study_uid=_first(i, "0020000D"), patient_name=_first(i, "00100010"),
                       patient_id=_first(i, "00100020"), date=_first(i, "00080020"),
                       description=_first(i, "00081030"), modalities=_all(i, "00080061"),
                       n_instances=_int(i, "00201208")) for i in items]


def find_series(node: DicomWebNode, study_uid: str, modality: str = "") -> list[SeriesMatch]:
    filters = {"Modality": modality} if modality else {}
    items = _call(node, "QIDO-RS series search", client(node).search_for_series, study_instance_uid=study_uid,
                  search_filters=filters, fields=["SeriesDescription", "NumberOfSeriesRelatedInstances"])
    found = [SeriesMatch(series_uid=_first(i, "0020000E"), modality=_first(i, "00080060"),
                         description=_first(i, "0008103E"), number=_int(i, "00200011"),
                         n_instances=_int(i, "00201209")) for i in items]
    return sorted(found, key=lambda s: (s.number is None, s.number or 0, s.series_uid))


def get_series(node: DicomWebNode, study_uid: str, series_uid: str, folder: Path,
               cancel: Cancel = None) -> Generator[Progress, None, int]:
    """WADO-RS one series, instance by instance, into `folder`; yields Progress, returns the count."""
    web = client(node)
    listed = _call(node, "QIDO-RS instance search", web.search_for_instances, study_instance_uid=study_uid,
                   series_instance_uid=series_uid)
    uids = [_first(i, "00080018") for i in listed]
    for n, sop_uid in enumerate(uids):
        if is_cancelled(cancel):
            raise RetrieveCancelled()
        yield Progress(n / max(len(uids), 1), f"WADO-RS: {n} of {len(uids)}")
        ds = _call(node, "WADO-RS retrieval", web.retrieve_instance, study_uid, series_uid, sop_uid)
        name = "".join(c for c in sop_uid if c.isdigit() or c == ".") or f"i{n}"
        ds.save_as(Path(folder) / f"{name}.dcm", enforce_file_format=True)
    return len(uids)


def store(node: DicomWebNode, datasets: Iterable[Dataset]) -> int:
    """STOW-RS the datasets; PacsError when the service refuses them."""
    datasets = list(datasets)
    response = _call(node, "STOW-RS store", client(node).store_instances, datasets)
    failed = response.get("00081198", {}).get("Value") if response is not None else None
    if failed:
        raise PacsError(f"{node.label} refused to store {len(failed)} of {len(datasets)} objects (STOW-RS)")
    return len(datasets)
