"""Folders and DICOMDIRs with several series; content sniffing."""

from __future__ import annotations

import shutil

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
from readers_helpers import echo_frames, write_mr_series, write_us

from app.data.readers import LoadError, list_series, load_recording
from app.data.readers.detect import DICOM, FOLDER, METAIMAGE, NIFTI, VIDEO, sniff


@pytest.fixture()
def mixed_folder(tmp_path):
    """Two MR cine series, one US clip, one NIfTI clip, plus files that are not recordings."""
    root = tmp_path / "exam"
    _, mr_a = write_mr_series(root / "sa", n_slices=3, n_phases=4)
    _, mr_b = write_mr_series(root / "sa2", n_slices=2, n_phases=5, shape=(20, 24))
    frames, _ = echo_frames(n_frames=5)
    (root / "echo").mkdir()
    write_us(root / "echo" / "clip1", frames, frame_time_ms=33.0, description="A4C")
    image = sitk.GetImageFromArray(frames)
    sitk.WriteImage(image, str(root / "patient0003_2CH_sequence.nii.gz"))
    (root / "README").write_text("exam notes\n")
    (root / "report.pdf").write_bytes(b"%PDF-1.4\n" + bytes(100))
    return root, mr_a, mr_b


def test_list_series_groups_mr_and_lists_clips(mixed_folder):
    root, mr_a, mr_b = mixed_folder
    listed = list_series(root)
    assert len(listed) == 4
    shapes = sorted(tuple(s.shape) for s in listed)
    assert (3, 4, 32, 40) in shapes and (2, 5, 20, 24) in shapes
    assert (5, 120, 160) in shapes  # the US clip (and the NIfTI clip)
    modalities = sorted(s.modality for s in listed)
    assert modalities == ["echo", "echo", "mri", "mri"]
    mr_keys = [s.key for s in listed if s.modality == "mri"]
    assert all(k.count(".") > 3 for k in mr_keys)  # SeriesInstanceUIDs


def test_folder_with_several_series_needs_a_key(mixed_folder):
    root, mr_a, mr_b = mixed_folder
    with pytest.raises(LoadError, match="4 series here; choose one with a key") as info:
        load_recording(root)
    listed = list_series(root)
    for series in listed:
        assert series.key in str(info.value)
    mr = next(s for s in listed if s.shape == (2, 5, 20, 24))
    rec = load_recording(root, series_key=mr.key)
    assert np.array_equal(rec.frames, mr_b)
    clip = next(s for s in listed if s.description == "A4C")
    assert load_recording(root, series_key=clip.key).frame_rate_hz == pytest.approx(1000 / 33.0)
    with pytest.raises(LoadError, match="no series with key 'nope'"):
        load_recording(root, series_key="nope")


def test_dicomdir(tmp_path):
    from pydicom.fileset import FileSet

    src = tmp_path / "src"
    write_mr_series(src / "mr", n_slices=2, n_phases=3)
    frames, _ = echo_frames(n_frames=3)
    write_us(src / "us.dcm", frames)
    fileset = FileSet()
    for path in sorted(src.rglob("*.dcm")):
        ds = pydicom.dcmread(path)
        for keyword, value in (("StudyDate", "20250101"), ("StudyTime", "120000"), ("StudyID", "1"),
                               ("AccessionNumber", ""), ("SeriesNumber", 1), ("InstanceNumber", 1)):
            if keyword not in ds:
                setattr(ds, keyword, value)
        fileset.add(ds)
    out = tmp_path / "media"
    fileset.write(out)
    for where in (out, out / "DICOMDIR"):
        listed = list_series(where)
        assert sorted(tuple(s.shape) for s in listed) == [(2, 3, 32, 40), (3, 120, 160)]
    mr_key = next(s.key for s in list_series(out) if s.modality == "mri")
    assert load_recording(out / "DICOMDIR", series_key=mr_key).frames.shape == (2, 3, 32, 40)
    with pytest.raises(LoadError, match="2 series here"):
        load_recording(out / "DICOMDIR")


def test_single_series_folder_loads_without_key(tmp_path):
    folder, expected = write_mr_series(tmp_path / "one", n_slices=2, n_phases=3)
    (folder / "notes.txt").write_text("not an image")
    assert np.array_equal(load_recording(folder).frames, expected)


def test_sniff_by_content_not_extension(tmp_path):
    frames, _ = echo_frames(n_frames=2)
    dicom = write_us(tmp_path / "x.nii", frames)
    assert sniff(dicom) == DICOM
    nii = tmp_path / "image.dcm"
    sitk.WriteImage(sitk.GetImageFromArray(frames), str(tmp_path / "t.nii.gz"))
    shutil.copy(tmp_path / "t.nii.gz", nii)
    assert sniff(nii) == NIFTI
    sitk.WriteImage(sitk.GetImageFromArray(frames), str(tmp_path / "plain.nii"))
    assert sniff(tmp_path / "plain.nii") == NIFTI
    sitk.WriteImage(sitk.GetImageFromArray(frames), str(tmp_path / "m.mhd"))
    assert sniff(tmp_path / "m.mhd") == METAIMAGE
    avi = tmp_path / "v.dat"
    avi.write_bytes(b"RIFF\x00\x00\x00\x00AVI LIST" + bytes(64))
    assert sniff(avi) == VIDEO
    assert sniff(tmp_path) == FOLDER
    headerless = tmp_path / "headerless"
    raw = dicom.read_bytes()
    assert raw[128:132] == b"DICM" and raw[132:134] == b"\x02\x00" and raw[136:138] == b"UL"
    meta_end = 144 + int.from_bytes(raw[140:144], "little")  # after the group 0002 length value
    headerless.write_bytes(raw[meta_end:])  # no preamble, no file meta: a bare dataset
    assert sniff(headerless) == DICOM
    rec = load_recording(headerless)
    assert rec.frames.shape == (2, 120, 160)


def test_progress_is_reported_and_cancel_stops_the_read(tmp_path):
    from app.data.readers import LoadCancelled

    folder, expected = write_mr_series(tmp_path / "cine", n_slices=3, n_phases=4)
    seen: list[tuple[float, str]] = []
    rec = load_recording(folder, progress=lambda p: seen.append((p.fraction, p.message)))
    assert np.array_equal(rec.frames, expected)
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0
    assert any("decoding images 12/12" in msg for _, msg in seen)

    calls = []

    def cancel_after_five():
        calls.append(1)
        return len(calls) >= 5

    with pytest.raises(LoadCancelled, match="cancelled"):
        load_recording(folder, cancel=cancel_after_five)
    assert len(calls) == 5  # stopped at once
    with pytest.raises(LoadError):  # a LoadCancelled is a LoadError for callers that only know that
        load_recording(folder, cancel=lambda: True)


def _sax_copy(tmp_path):
    """The demo short-axis stack (8 slices x 16 phases, one file per image) and its files by slice position."""
    from pathlib import Path

    folder = tmp_path / "sax"
    shutil.copytree(Path(__file__).resolve().parents[1] / "resources/demo/sax", folder)
    files = sorted(folder.glob("*.dcm"))
    positions = [tuple(pydicom.dcmread(f, stop_before_pixels=True).ImagePositionPatient) for f in files]
    return folder, files, positions


def test_a_stack_missing_an_image_names_the_file_that_could_not_be_read(tmp_path):
    """One image of a stack cut short in a transfer: the slices' phase counts differ, and the error says why."""
    folder, files, _ = _sax_copy(tmp_path)
    files[3].write_bytes(files[3].read_bytes()[:500])
    with pytest.raises(LoadError) as info:
        load_recording(folder)
    assert str(info.value).endswith("missing images?; 1 DICOM file here could not be read and is left out "
                                    f"({files[3].name}: the image has no size (Rows=0, Columns=0))")


def test_a_stack_that_lost_a_whole_slice_loads_with_a_note_naming_the_files(tmp_path):
    """Every image of one slice cut short (or never written): the stack reads without it, and says so."""
    folder, files, positions = _sax_copy(tmp_path)
    lost = [f for f, p in zip(files, positions, strict=False) if p == positions[0]]
    for f in lost[:-1]:
        f.write_bytes(f.read_bytes()[:300])
    lost[-1].write_bytes(b"")  # created, never written
    rec = load_recording(folder)
    assert rec.n_slices == 7
    assert rec.reader_notes == (f"{len(lost)} DICOM files here could not be read and are left out ({lost[0].name}: "
                                f"not a DICOM file: no DICOM elements could be read; and {len(lost) - 1} more)",)


def test_a_complete_stack_and_non_image_files_give_no_note(tmp_path):
    folder, _, _ = _sax_copy(tmp_path)
    (folder / "README").write_text("exam notes\n")
    (folder / "report.pdf").write_bytes(b"%PDF-1.4\n" + bytes(100))
    assert load_recording(folder).reader_notes == ()
