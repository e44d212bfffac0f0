"""The label maps of a recording as a DICOM Segmentation (BINARY, one frame per segment and source frame,
every frame of the recording), each frame referencing the source instance (and frame) it segments.

Built with pydicom to the Segmentation IOD: highdicom's Segmentation refuses cine data (echo clips have
no Frame of Reference, and cine MR repeats each plane position once per phase), so the functional groups
are written here. Echo segments: 1 LV cavity, 2 LV myocardium, 3 left atrium; MRI: 1 LV blood pool,
2 LV myocardium (the MRI network draws no RV). Checked with dciodvfy in the tests.
"""

from __future__ import annotations

import datetime as _dt

import numpy as np

from app import __version__
from app.report.dicom_sources import SourceImages, study_attributes

SEG_SOP = "1.2.840.10008.5.1.4.1.1.66.4"
# (label value, label, SNOMED CT code, meaning)
SEGMENTS = {
    "echo": (
        (1, "LV cavity", "87878005", "Left ventricle"),
        (2, "LV myocardium", "49848007", "Left ventricle myocardium"),
        (3, "Left atrium", "82471001", "Left atrium"),
    ),
    "mri": (
        (1, "LV blood pool", "87878005", "Left ventricle"),
        (2, "LV myocardium", "49848007", "Left ventricle myocardium"),
        (3, "RV blood pool", "53085002", "Right ventricle"),
    ),
}


def code_item(value: str, scheme: str, meaning: str):
    from pydicom.dataset import Dataset

    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, scheme, meaning
    return item


def new_dataset(sop_class: str, source, series_uid: str, series_number: int, modality: str, anonymise: bool):
    """A dataset with file meta, SOP common, patient/study copied from `source`, a new series, equipment."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, UID, ExplicitVRLittleEndian, generate_uid

    ds = Dataset()
    ds.preamble = b"\0" * 128  # a Part 10 file however it is encoded (STOW-RS writes it as it is)
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = UID(sop_class)
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    now = _dt.datetime.now()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID, ds.SOPInstanceUID = sop_class, ds.file_meta.MediaStorageSOPInstanceUID
    for keyword, value in study_attributes(source, anonymise).items():
        setattr(ds, keyword, value)
    ds.Modality, ds.SeriesInstanceUID, ds.SeriesNumber, ds.InstanceNumber = modality, series_uid, series_number, 1
    ds.SeriesDate = ds.ContentDate = now.strftime("%Y%m%d")
    ds.SeriesTime = ds.ContentTime = now.strftime("%H%M%S")
    ds.Manufacturer, ds.ManufacturerModelName = "CardioTrace", "CardioTrace"
    ds.DeviceSerialNumber, ds.SoftwareVersions = "0", __version__
    return ds


def _segment_items(modality: str, algorithm: str, edited: bool) -> list:
    from pydicom.dataset import Dataset

    items = []
    for number, label, code, meaning in SEGMENTS[modality]:
        s = Dataset()
        s.SegmentNumber, s.SegmentLabel = number, label
        s.SegmentAlgorithmType = "SEMIAUTOMATIC" if edited else "AUTOMATIC"
        s.SegmentAlgorithmName = algorithm[:64] or "CardioTrace"
        s.SegmentedPropertyCategoryCodeSequence = [code_item("91723000", "SCT", "Anatomical Structure")]
        s.SegmentedPropertyTypeCodeSequence = [code_item(code, "SCT", meaning)]
        items.append(s)
    return items


def _dimensions(ds, has_stack: bool) -> None:
    from pydicom.dataset import Dataset
    from pydicom.uid import generate_uid

    uid = generate_uid()
    org = Dataset()
    org.DimensionOrganizationUID = uid
    ds.DimensionOrganizationSequence = [org]
    pointers = [(0x0062000B, 0x0062000A, "Segment number")]
    if has_stack:
        pointers.append((0x00209057, 0x00209111, "Slice (in-stack position)"))
    pointers.append((0x00209128, 0x00209111, "Phase (temporal position)"))
    index = []
    for pointer, group, label in pointers:
        d = Dataset()
        d.DimensionOrganizationUID, d.DimensionIndexPointer, d.FunctionalGroupPointer = uid, pointer, group
        d.DimensionDescriptionLabel = label
        index.append(d)
    ds.DimensionIndexSequence = index


def _frame_item(sources: SourceImages, segment: int, s: int, t: int, has_stack: bool):
    from pydicom.dataset import Dataset

    index, frame = sources.ref(s, t)
    src = sources.datasets[index]
    item = Dataset()
    content = Dataset()
    content.DimensionIndexValues = [segment, s + 1, t + 1] if has_stack else [segment, t + 1]
    content.TemporalPositionIndex = t + 1
    if has_stack:
        content.StackID, content.InStackPositionNumber = "1", s + 1
    item.FrameContentSequence = [content]
    ref = Dataset()
    ref.ReferencedSOPClassUID, ref.ReferencedSOPInstanceUID = src.SOPClassUID, src.SOPInstanceUID
    if frame is not None:
        ref.ReferencedFrameNumber = frame
    ref.PurposeOfReferenceCodeSequence = [code_item("121322", "DCM", "Source image for image processing operation")]
    derivation = Dataset()
    derivation.DerivationCodeSequence = [code_item("113076", "DCM", "Segmentation")]
    derivation.SourceImageSequence = [ref]
    item.DerivationImageSequence = [derivation]
    segment_id = Dataset()
    segment_id.ReferencedSegmentNumber = segment
    item.SegmentIdentificationSequence = [segment_id]
    if "FrameOfReferenceUID" in sources.first and "ImagePositionPatient" in src:
        position = Dataset()
        position.ImagePositionPatient = list(src.ImagePositionPatient)
        item.PlanePositionSequence = [position]
    return item


def _shared_group(sources: SourceImages, spacing_mm: tuple[float, float]):
    from pydicom.dataset import Dataset

    group = Dataset()
    measures = Dataset()
    first = sources.first
    measures.PixelSpacing = (
        list(first.PixelSpacing) if "PixelSpacing" in first else [f"{float(s):.10g}" for s in spacing_mm]
    )
    measures.SliceThickness = first.get("SliceThickness") or 1.0
    group.PixelMeasuresSequence = [measures]
    if "FrameOfReferenceUID" in first and "ImageOrientationPatient" in first:
        orientation = Dataset()
        orientation.ImageOrientationPatient = list(first.ImageOrientationPatient)
        group.PlaneOrientationSequence = [orientation]
    return group


def _references(sources: SourceImages) -> list:
    from pydicom.dataset import Dataset

    series = Dataset()
    series.SeriesInstanceUID = sources.first.SeriesInstanceUID
    instances = []
    for src in sources.datasets:
        ref = Dataset()
        ref.ReferencedSOPClassUID, ref.ReferencedSOPInstanceUID = src.SOPClassUID, src.SOPInstanceUID
        instances.append(ref)
    series.ReferencedInstanceSequence = instances
    return [series]


def build_segmentation(labels: np.ndarray, sources: SourceImages, modality: str, spacing_mm: tuple[float, float],
                       series_uid: str, series_number: int = 902, algorithm: str = "", edited: bool = False,
                       anonymise: bool = False):
    """labels (T, H, W) or (S, T, H, W) with the recording's values -> a pydicom Segmentation dataset."""
    from pydicom.pixels import pack_bits

    stack = labels if labels.ndim == 4 else labels[None]
    n_slices, n_phases, rows, cols = stack.shape
    has_stack = n_slices > 1
    first = sources.first
    ds = new_dataset(SEG_SOP, first, series_uid, series_number, "SEG", anonymise)
    ds.SeriesDescription = "CardioTrace segmentation"
    if "FrameOfReferenceUID" in first:
        ds.FrameOfReferenceUID, ds.PositionReferenceIndicator = first.FrameOfReferenceUID, ""
    else:
        ds.PatientOrientation = ""  # type 2C: no image orientation (echo)
    ds.ImageType = ["DERIVED", "PRIMARY"]
    ds.ContentLabel, ds.ContentDescription, ds.ContentCreatorName = "CARDIOTRACE", "LV contours", ""
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.Rows, ds.Columns = rows, cols
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 1, 1, 0, 0
    ds.LossyImageCompression, ds.SegmentationType = "00", "BINARY"
    ds.SegmentSequence = _segment_items(modality, algorithm, edited)
    _dimensions(ds, has_stack)
    ds.SharedFunctionalGroupsSequence = [_shared_group(sources, spacing_mm)]
    frames, items = [], []
    for number, *_ in SEGMENTS[modality]:
        for s in range(n_slices):
            for t in range(n_phases):
                frames.append(stack[s, t] == number)
                items.append(_frame_item(sources, number, s, t, has_stack))
    ds.PerFrameFunctionalGroupsSequence = items
    ds.NumberOfFrames = len(frames)
    ds.ReferencedSeriesSequence = _references(sources)
    packed = pack_bits(np.stack(frames).astype(np.uint8))
    ds.PixelData = packed + (b"\0" if len(packed) % 2 else b"")
    return ds


def segment_masks(seg, modality: str) -> dict[int, np.ndarray]:
    """Read back: segment number -> (S*T, H, W) bool masks in the order they were written."""
    data = np.asarray(seg.pixel_array).reshape(int(seg.NumberOfFrames), int(seg.Rows), int(seg.Columns))
    numbers = [
        int(f.SegmentIdentificationSequence[0].ReferencedSegmentNumber) for f in seg.PerFrameFunctionalGroupsSequence
    ]
    return {n: data[np.array(numbers) == n].astype(bool) for n, *_ in SEGMENTS[modality]}
