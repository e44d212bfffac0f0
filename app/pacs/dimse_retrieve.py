"""C-GET (the node sends over our association) and C-MOVE (the node opens an association to our own
storage SCP) of one series into a staging folder, yielding Progress; cancellable at every
response (the association is aborted). Completeness is judged by the caller (cache.commit)."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from app.pacs.dimse import association, make_ae
from app.pacs.errors import PacsError, RetrieveCancelled
from app.pacs.nodes import DimseNode
from app.tasks import Cancel, Progress, is_cancelled

if TYPE_CHECKING:  # heavy imports stay lazy
    from pydicom.dataset import Dataset
    from pynetdicom.association import Association
    from pynetdicom.events import Event, EventHandlerType

GET_STUDY_ROOT = "1.2.840.10008.5.1.4.1.2.2.3"
MOVE_STUDY_ROOT = "1.2.840.10008.5.1.4.1.2.2.2"
# what a cardiac study holds: echo and MR images, secondary captures, and our own results (SR, SEG, PDF)
IMAGE_CLASSES = (
    "1.2.840.10008.5.1.4.1.1.3.1",  # Ultrasound Multi-frame Image
    "1.2.840.10008.5.1.4.1.1.6.1",  # Ultrasound Image
    "1.2.840.10008.5.1.4.1.1.6.2",  # Enhanced US Volume
    "1.2.840.10008.5.1.4.1.1.4",  # MR Image
    "1.2.840.10008.5.1.4.1.1.4.1",  # Enhanced MR Image
    "1.2.840.10008.5.1.4.1.1.2",  # CT Image
    "1.2.840.10008.5.1.4.1.1.7",  # Secondary Capture
    "1.2.840.10008.5.1.4.1.1.7.2",  # Multi-frame Grayscale Byte SC
    "1.2.840.10008.5.1.4.1.1.7.3",  # Multi-frame Grayscale Word SC
    "1.2.840.10008.5.1.4.1.1.7.4",  # Multi-frame True Color SC
)
DOCUMENT_CLASSES = (
    "1.2.840.10008.5.1.4.1.1.88.11",  # Basic Text SR
    "1.2.840.10008.5.1.4.1.1.88.22",  # Enhanced SR
    "1.2.840.10008.5.1.4.1.1.88.33",  # Comprehensive SR
    "1.2.840.10008.5.1.4.1.1.88.34",  # Comprehensive 3D SR
    "1.2.840.10008.5.1.4.1.1.66.4",  # Segmentation
    "1.2.840.10008.5.1.4.1.1.104.1",  # Encapsulated PDF
)
STORAGE_CLASSES = IMAGE_CLASSES + DOCUMENT_CLASSES


def _syntaxes() -> list[str]:
    from pydicom.uid import (
        JPEG2000,
        DeflatedExplicitVRLittleEndian,
        ExplicitVRLittleEndian,
        ImplicitVRLittleEndian,
        JPEG2000Lossless,
        JPEGBaseline8Bit,
        JPEGExtended12Bit,
        JPEGLosslessSV1,
        JPEGLSLossless,
        JPEGLSNearLossless,
        RLELossless,
    )

    return [ExplicitVRLittleEndian, ImplicitVRLittleEndian, RLELossless, JPEGBaseline8Bit, JPEGExtended12Bit,
            JPEGLosslessSV1, JPEGLSLossless, JPEGLSNearLossless, JPEG2000Lossless, JPEG2000,
            DeflatedExplicitVRLittleEndian]


def _requested_contexts() -> list[tuple[str, list[str] | None]]:
    """For C-GET: one context per (image class, transfer syntax) so the node can send each instance as it
    is stored (Orthanc cannot transcode every compression); documents in the uncompressed syntaxes."""
    from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian

    plain: list[str] = [ExplicitVRLittleEndian, ImplicitVRLittleEndian]
    contexts: list[tuple[str, list[str] | None]] = [(uid, plain) for uid in STORAGE_CLASSES]
    contexts += [(uid, [ts]) for uid in IMAGE_CLASSES for ts in _syntaxes()[2:]]
    return contexts


def _series_identifier(study_uid: str, series_uid: str) -> Dataset:
    from pydicom.dataset import Dataset

    q = Dataset()
    q.QueryRetrieveLevel = "SERIES"
    q.StudyInstanceUID = study_uid
    q.SeriesInstanceUID = series_uid
    return q


@contextmanager
def _uids_as_sent() -> Iterator[None]:
    """No warning per instance for a source's non-standard UIDs (a leading zero: Sunnybrook's 200 images gave 202
    lines on stderr) while a series arrives: they are stored as sent, and the readers take them as they are."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Invalid value for VR UI")
        yield


def _store_handler(folder: Path, series_uid: str, received: list[str]) -> Callable[[Event], int]:
    """EVT_C_STORE handler writing each instance of `series_uid` to `folder/<SOP Instance UID>.dcm`."""

    def handle(event: Event) -> int:
        ds = event.dataset
        if str(ds.get("SeriesInstanceUID", "")) != series_uid:
            return 0x0000  # not ours (another retrieval to the same SCP): accepted and dropped
        name = "".join(c for c in str(ds.SOPInstanceUID) if c.isdigit() or c == ".") or f"i{len(received)}"
        with open(folder / f"{name}.dcm", "wb") as f:
            f.write(event.encoded_dataset(include_meta=True))
        received.append(name)
        return 0x0000

    return handle


def _follow(node: DimseNode, responses: Iterator[tuple[Dataset, Dataset | None]], expected: int | None,
            received: list[str], cancel: Cancel, assoc: Association, what: str) -> Iterator[Progress]:
    """Turn C-GET/C-MOVE responses into progress; PacsError on failure, RetrieveCancelled on cancel."""
    for status, _identifier in responses:
        if is_cancelled(cancel):
            assoc.abort()
            raise RetrieveCancelled()
        code = getattr(status, "Status", None)
        if code is None:
            raise PacsError(f"{node.label}: {what} got no response within {node.timeout_s:g} s")
        done = int(status.get("NumberOfCompletedSubOperations", len(received)) or 0)
        left = status.get("NumberOfRemainingSubOperations")
        total = expected or (done + int(left) if left is not None else None)
        if code == 0xFF00:
            yield Progress(min(done / total, 0.99) if total else 0.0, f"{what}: {done} of {total or '?'}")
        elif code == 0xFE00:
            raise RetrieveCancelled()
        elif code == 0xB000 or int(status.get("NumberOfFailedSubOperations", 0) or 0):
            raise PacsError(
                f"{node.label}: {what} failed for {status.get('NumberOfFailedSubOperations', '?')} instances"
            )
        elif code != 0x0000:
            raise PacsError(f"{node.label}: {what} failed (status 0x{code:04X})")


def get_series(node: DimseNode, study_uid: str, series_uid: str, folder: Path, expected: int | None = None,
               cancel: Cancel = None) -> Generator[Progress, None, int]:
    """C-GET one series into `folder`; yields Progress, returns the number of instances received."""
    from pynetdicom import build_role, evt

    received: list[str] = []
    contexts: list[tuple[str, list[str] | None]] = [(GET_STUDY_ROOT, None), *_requested_contexts()]
    roles = [build_role(uid, scp_role=True) for uid in STORAGE_CLASSES]
    handlers: list[EventHandlerType] = [(evt.EVT_C_STORE, _store_handler(Path(folder), series_uid, received))]
    with _uids_as_sent(), association(node, contexts, ext_neg=roles, evt_handlers=handlers) as assoc:
        responses = assoc.send_c_get(_series_identifier(study_uid, series_uid), GET_STUDY_ROOT)
        yield from _follow(node, responses, expected, received, cancel, assoc, "C-GET")
    return len(received)


def move_series(node: DimseNode, study_uid: str, series_uid: str, folder: Path, listen_port: int,
                expected: int | None = None, cancel: Cancel = None) -> Generator[Progress, None, int]:
    """C-MOVE one series to our own storage SCP (AE title node.our_aet, listening on `listen_port`, which
    the node must know as a destination); yields Progress, returns the number received."""
    from pynetdicom import evt

    received: list[str] = []
    scp = make_ae(node)
    for uid in STORAGE_CLASSES:
        scp.add_supported_context(uid, _syntaxes())
    handlers: list[EventHandlerType] = [(evt.EVT_C_STORE, _store_handler(Path(folder), series_uid, received))]
    try:
        server = scp.start_server(("0.0.0.0", int(listen_port)), block=False, evt_handlers=handlers)
    except OSError as exc:
        raise PacsError(f"cannot listen on port {listen_port} for C-MOVE ({exc.strerror or exc})") from None
    assert server is not None  # block=False returns the server
    try:
        with _uids_as_sent(), association(node, [(MOVE_STUDY_ROOT, None)]) as assoc:
            responses = assoc.send_c_move(_series_identifier(study_uid, series_uid), node.our_aet, MOVE_STUDY_ROOT)
            yield from _follow(node, responses, expected, received, cancel, assoc, "C-MOVE")
    finally:
        server.shutdown()
    return len(received)
