"""Frames of a JPEG DICOM whose data is damaged: found by the reader, said in a note, flagged, and left out of the
curve ED/ES come from and of the strain's peak (app/data/readers/pixel_damage.py)."""

from __future__ import annotations

import io
from dataclasses import replace

import numpy as np
import pytest

from app.analysis.contours import extract_all
from app.data.readers.pixel_damage import damage_note, jpeg_damage
from app.workflow.analyze import measure
from app.workflow.results import FLAG_DAMAGED_PIXELS
from app.workflow.strain_step import no_gls_reason
from tests.test_pipeline_synthetic import beating_labels, recording_for


def _jpeg(image: np.ndarray, quality: int = 90) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(image).save(out, format="JPEG", quality=quality)
    return out.getvalue()


def _image(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[:96, :128]
    return np.clip(120 + 60 * np.sin(x / 9.0) * np.cos(y / 7.0) + rng.normal(0, 20, (96, 128)), 0, 255).astype(np.uint8)


def test_a_sound_jpeg_passes_and_a_cut_or_garbled_one_is_named():
    sound = _jpeg(_image())
    assert jpeg_damage(sound) == ""
    assert jpeg_damage(sound + b"\x00") == jpeg_damage(sound + b"\xff") == ""  # pads to an even length
    assert jpeg_damage(_jpeg(_image(), quality=1)) == ""  # its tables hold 0xFF bytes: not markers
    assert jpeg_damage(sound[: len(sound) // 2]) == "cut short (no end-of-image marker)"
    scan = sound.index(b"\xff\xda")
    garbled = bytearray(sound)
    garbled[scan + 200: scan + 202] = b"\xff\x3f"
    assert jpeg_damage(bytes(garbled)) == "an invalid marker 0xFF3F inside the image data"
    assert jpeg_damage(b"not a jpeg") == "no start-of-image marker"


def _jpeg_dicom(tmp_path, damage: dict[int, str]):
    """A 12-frame JPEG baseline US DICOM of the same image, with the frames in `damage` cut or garbled."""
    import pydicom
    from pydicom.encaps import encapsulate
    from pydicom.uid import JPEGBaseline8Bit

    from app.data.recording import Recording, uniform_frame_times
    from app.data.writers.dicom_us import write_us_dicom

    images = np.stack([_image(seed) for seed in range(12)])
    path = write_us_dicom(Recording(images, (0.3, 0.3), uniform_frame_times(12, 50.0), "echo", "a4c"),
                          tmp_path / "clip.dcm")
    ds = pydicom.dcmread(path)
    frames = [_jpeg(f) for f in ds.pixel_array]
    for index, how in damage.items():
        if how == "cut":
            frames[index] = frames[index][: len(frames[index]) // 3]
        else:
            b = bytearray(frames[index])
            b[len(b) // 2: len(b) // 2 + 2] = b"\xff\x90"
            frames[index] = bytes(b)
    ds.PixelData = encapsulate(frames)
    ds["PixelData"].VR = "OB"
    ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
    ds.save_as(path, enforce_file_format=True)
    return path


def test_the_reader_names_the_damaged_frames_of_a_jpeg_file_and_says_so(tmp_path):
    from app.data.readers import load_recording

    sound = load_recording(_jpeg_dicom(tmp_path, {}))
    assert sound.damaged_frames == () and not any("damaged" in n for n in sound.reader_notes)
    damaged = load_recording(_jpeg_dicom(tmp_path, {4: "cut", 5: "garble", 9: "garble"}))
    assert damaged.damaged_frames == (4, 5, 9)
    assert damage_note((4, 5, 9), 12) in damaged.reader_notes
    assert "(frames 4-5 and 9, counted from 0)" in damage_note((4, 5, 9), 12)
    assert damage_note((3,), 12).startswith("1 of 12 frames holds damaged image data (frame 3,")


@pytest.fixture(scope="module")
def beating():
    return beating_labels()


def _shrunk_at(labels, frames):
    """The labels with the cavity of `frames` drawn 15 % smaller each way: a decoder's noise read as an LV."""
    out = labels.copy()
    smaller = beating_labels(a_ed=80.0 * 0.85, b_ed=26.0 * 0.85)[0]  # the fixture's heart, at the same phases
    out[list(frames)] = smaller[list(frames)]
    return out


def test_damaged_frames_are_flagged_and_no_ed_or_es_lands_on_them(beating):
    """A run of three frames around an ES whose cavity the noise shrank: read as they are, the ES lands in the
    run and the EF soars; flagged as damaged, the ES and the EF are those of the sound clip."""
    labels, _, _, _ = beating
    sound = measure(recording_for(labels), extract_all(labels))
    es = sound.es_frames[1]  # a trusted beat's (the first starts on the clip's first frame)
    run = (es - 1, es, es + 1)
    noisy = _shrunk_at(labels, run)
    contours = extract_all(noisy)
    unflagged = measure(recording_for(noisy), contours)
    assert unflagged.es_frames[1] in run and unflagged.ef_pct > sound.ef_pct + 10  # what the flag prevents
    flagged = measure(replace(recording_for(noisy), damaged_frames=run), contours)
    assert all(FLAG_DAMAGED_PIXELS in flagged.quality[t] for t in run)
    assert not set(flagged.ed_frames + flagged.es_frames) & set(run)
    assert flagged.ef_pct == pytest.approx(sound.ef_pct, abs=3)


def test_damaged_frames_inside_a_systole_withhold_the_gls_and_those_in_diastole_do_not(beating):
    labels = beating[0]
    rec, contours = recording_for(labels), extract_all(labels)
    m = measure(rec, contours)
    ed, es = m.ed_frames[0], m.es_frames[0]
    assert no_gls_reason(rec, m) == ""
    inside = no_gls_reason(replace(rec, damaged_frames=(ed + 2, ed + 3)), m)
    assert inside == f"the file's image data is damaged on frames {ed + 2}-{ed + 3}, inside a systole the strain " \
                     "peak is searched over"
    systoles = list(zip(m.ed_frames, m.es_frames, strict=False))
    filling = [t for t in range(es + 4, rec.n_frames) if not any(e <= t <= s + 3 for e, s in systoles)]
    assert filling and no_gls_reason(replace(rec, damaged_frames=(filling[0],)), m) == ""
