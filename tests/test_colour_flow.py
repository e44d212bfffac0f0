"""Colour Doppler clips are told from grey-scale and tinted B-mode ones, and never measured (app/data/readers/
colour_flow.py): the reader flags them, the analysis refuses them with one line, a study leaves them out."""

from __future__ import annotations

import functools
import json
import subprocess
import sys

import numpy as np
import pydicom
import pytest
from analysis_synth import phantom_echo
from pydicom.sequence import Sequence
from pypdf import PdfReader
from readers_helpers import US_MULTIFRAME_SOP, add_region, base_dataset, echo_frames, set_rgb_pixels, write_us
from scipy.ndimage import gaussian_filter

from app.data.readers import load_recording
from app.data.readers.colour_flow import grey_map, off_grey_map, shows_colour_flow

SEPIA = np.array([1.0, 0.82, 0.58])  # a scanner's tinted B-mode map: one colour per grey level
TINTED_CLINICAL_CLIP = "0X69297859FF626047.avi"  # the one EchoNet clip of the 80 stored with a blue B-mode map


@functools.lru_cache(maxsize=1)
def _clips() -> dict[str, np.ndarray]:
    """(T, H, W, 3) uint8 RGB of one phantom A4C clip: grey, sepia-tinted, and with colour flow in the LV (red
    while it fills, blue while it empties, as a colour Doppler box over the ventricle paints the blood)."""
    case = phantom_echo("a4c")
    grey = case.recording.frames
    rgb = np.repeat(grey[..., None], 3, axis=-1)
    tinted = np.rint(rgb * SEPIA).astype(np.uint8)
    colour = rgb.copy()
    rng = np.random.default_rng(0)
    filling = np.gradient(case.truth.volume_ml) > 0
    for t, cavity in enumerate(case.truth.labels == 1):
        speed = gaussian_filter(rng.random(cavity.shape), 4.0)  # velocity varies smoothly across the jet
        speed = (speed - speed.min()) / np.ptp(speed)
        flow = cavity & (speed > 0.25)  # below the wall filter's cut: grey, as on a scanner
        level = (110 + 145 * speed[flow]).astype(np.uint8)
        zeros = np.zeros_like(level)
        colour[t][flow] = np.stack([level, level // 4, zeros] if filling[t] else [zeros, level // 3, level], axis=1)
    return {"grey": rgb, "tinted": tinted, "colour": colour}


def _write_avi(path, rgb: np.ndarray):
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, rgb.shape[2:0:-1], isColor=True)
    for frame in rgb:
        writer.write(np.ascontiguousarray(frame[..., ::-1]))
    writer.release()
    return path


def _write_rgb_dicom(path, rgb: np.ndarray):
    ds = base_dataset(US_MULTIFRAME_SOP, "US")
    set_rgb_pixels(ds, rgb)
    ds.FrameTime = 33.3
    ds.save_as(path, enforce_file_format=True)
    return path


@pytest.mark.parametrize("kind, expected", [("grey", False), ("tinted", False), ("colour", True)])
def test_colour_flow_is_told_from_grey_and_tinted_clips_through_lossy_video_and_dicom(tmp_path, kind, expected):
    rgb = _clips()[kind]
    video = load_recording(_write_avi(tmp_path / f"{kind}.avi", rgb))  # MJPEG: chroma subsampled, lossy
    dicom = load_recording(_write_rgb_dicom(tmp_path / f"{kind}.dcm", rgb))
    assert (video.image_mode == "colour Doppler") is expected and (dicom.image_mode == "colour Doppler") is expected
    assert video.summary()["image_mode"] == ("colour Doppler" if expected else "2D")
    for recording in (video, dicom):  # a colour Doppler clip keeps its colours for the viewer, and only such a clip
        assert (recording.display_rgb is not None) is expected
        if expected:
            assert recording.display_rgb.shape == (*recording.frames.shape, 3)
            assert not recording.display_rgb[:, ~recording.sector_mask].any()  # black outside, as the grey frames
            flow = np.abs(rgb.astype(int) - rgb.mean(axis=-1, keepdims=True)).max(axis=-1) > 60
            shown = recording.display_rgb[flow].astype(int)
            assert np.abs(shown - rgb[flow]).mean() < 20  # the flow's colours, not grey
            assert np.abs(shown - shown.mean(axis=-1, keepdims=True)).max(axis=-1).mean() > 40


def test_a_tinted_map_is_learnt_per_grey_level_and_only_colour_off_it_counts():
    tinted = _clips()["tinted"][:4]
    luma = np.rint(tinted.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)).astype(np.uint8)
    table = grey_map(tinted, luma)
    level = int(np.median(luma[luma > 80]))
    assert np.abs(table[level].astype(int) - np.rint(level / (SEPIA @ [0.299, 0.587, 0.114]) * SEPIA)).max() <= 3
    off = off_grey_map(tinted)
    assert not off.any()
    marked = tinted.copy()
    marked[:, 40:60, 60:90] = (0, 60, 230)  # a blue jet in every frame, on a sector that is not all jet
    assert shows_colour_flow(off_grey_map(marked), None)
    traced = tinted.copy()
    traced[:, 100:102, :] = (0, 230, 0)  # a green ECG trace across the whole image: a line, not flow
    assert not off_grey_map(traced).any() and not shows_colour_flow(off_grey_map(traced), None)
    sector = np.zeros(marked.shape[1:3], bool)
    sector[:, :30] = True  # the jet outside the sector (a colour bar, the ECG): not colour flow
    assert not shows_colour_flow(off_grey_map(marked), sector)


def test_a_colour_flow_region_in_the_file_says_so_without_colour(tmp_path):
    frames, _ = echo_frames(10)
    path = write_us(tmp_path / "flow.dcm", frames, region_box=(0, 0, 119, 159), delta_cm=0.03)
    assert load_recording(path).image_mode == "2D"
    ds = pydicom.dcmread(path)
    add_region(ds, 1, 2, (20, 40, 90, 120))  # 2D, colour flow
    ds.save_as(path)
    assert load_recording(path).image_mode == "colour Doppler"


def test_a_spectral_doppler_display_is_not_a_2d_clip_and_is_not_analyzed(tmp_path):
    from app.workflow.analyze import refusal

    frames, _ = echo_frames(10)
    path = write_us(tmp_path / "pw.dcm", frames, region_box=(0, 50, 39, 109), delta_cm=0.03)  # the 2D reference
    ds = pydicom.dcmread(path)
    add_region(ds, 3, 3, (40, 0, 119, 159))  # spectral, PW Doppler
    ds.save_as(path)
    rec = load_recording(path)
    assert rec.image_mode == "spectral Doppler"
    assert refusal(rec).startswith("a spectral Doppler display: no LV image to trace")
    ds.SequenceOfUltrasoundRegions = Sequence([ds.SequenceOfUltrasoundRegions[0]])  # the 2D image alone
    ds.save_as(path)
    assert load_recording(path).image_mode == "2D" and refusal(load_recording(path)) == ""


def _analyze(*args):
    return subprocess.run([sys.executable, "-m", "app", "analyze", *map(str, args)], capture_output=True, text=True,
                          timeout=600)


@pytest.mark.slow
def test_analyze_refuses_a_colour_doppler_clip_alone_and_leaves_it_out_of_a_study(tmp_path):
    colour = _write_avi(tmp_path / "a4c_colour.avi", _clips()["colour"])
    grey = _write_avi(tmp_path / "a4c.avi", _clips()["grey"])
    alone = _analyze(colour)
    assert alone.returncode == 2 and alone.stdout == ""
    lines = alone.stderr.strip().splitlines()
    assert len(lines) == 1 and "colour Doppler" in lines[0] and "grey-scale (2D) clip" in lines[0]
    both = _analyze(grey, colour, "--same-patient", "--no-strain", "--json", tmp_path / "out.json",
                    "--report", tmp_path / "study.pdf", "--measurements", tmp_path / "measurements.json")
    assert both.returncode == 0, both.stderr
    assert f"left out {colour}: a colour Doppler clip" in both.stderr
    result = json.loads((tmp_path / "out.json").read_text())
    reason = alone.stderr.split(": ", 2)[2].strip()
    assert result["left_out"] == [{"path": str(colour), "reason": reason}]
    assert result["ef_pct"] is not None  # the grey clip is the study
    # the report the user signs names the clip its values do not rest on, on page 1, and so does its export
    exported = json.loads((tmp_path / "measurements.json").read_text())
    assert exported["not_measured"] == [{"name": colour.name, "reason": reason}]
    assert [rec["name"] for rec in exported["recordings"]] == [grey.name]
    first_page = " ".join(PdfReader(str(tmp_path / "study.pdf")).pages[0].extract_text().split())
    assert f"Not measured (these values do not rest on them): {colour.name}: a colour Doppler clip" in first_page


@pytest.mark.shared
def test_real_colour_doppler_images_are_flagged_and_no_clinical_clip_is(shared_data):
    for name in ("color-pl.dcm", "US1_UNCR.dcm"):  # a TEE colour-flow frame; power Doppler of a lymph node
        assert load_recording(shared_data / "dicom_samples" / name).image_mode == "colour Doppler", name
    assert load_recording(shared_data / "dicom_samples" / "gdcm-US-ALOKA-16.dcm").image_mode == "2D"  # palette, grey
    clips = sorted((shared_data / "echonet_clips").glob("*.avi"))
    if not clips:
        pytest.skip("echonet_clips holds no AVI")
    assert TINTED_CLINICAL_CLIP in {c.name for c in clips}
    flagged = [c.name for c in clips if load_recording(c).image_mode != "2D"]
    assert flagged == []  # 80 grey-scale A4C clips, one of them blue-tinted
