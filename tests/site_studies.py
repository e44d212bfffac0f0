"""Saved studies of a synthetic 'site' for the adaptation tests: real files, read back through the readers.

Each patient is a beating apical clip drawn from exact labels (tests/analysis_synth.py), grey levels per
structure that no echo network was trained on (a site that 'looks different'), written as DICOM US, opened,
analysed with its exact labels as the segmenter, and saved the way the viewer autosaves (StudyState.to_json),
with the given frames marked as corrected by hand or propagated, and optionally signed.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np

from app.data.readers import load_recording
from app.data.recording import PatientInfo, Recording, uniform_frame_times
from app.data.writers import write_recording
from app.tasks import run_task
from app.workflow.autosave import SUFFIX
from app.workflow.study import StudyState
from app.workflow.study_analysis import analyze_for_viewer
from tests.analysis_synth import cardiac_curve, half_ellipse_lv

FPS, HR = 30.0, 72.0
GREY = np.array([20, 150, 90, 60], np.uint8)  # background, cavity, myocardium, LA: a bright cavity, dark tissue


def site_labels(patient: int, n_frames: int = 24) -> np.ndarray:
    rng = np.random.default_rng(patient)
    a, b, cx = rng.uniform(60, 80), rng.uniform(20, 28), rng.uniform(52, 68)
    shape_curve, _, _ = cardiac_curve(n_frames, FPS, HR, 1.0, 0.5)
    return np.stack([half_ellipse_lv((128, 120), a * s ** (1 / 3), b * s ** (1 / 3), base_row=100, cx=cx, wall_px=7)
                     for s in shape_curve])


def site_recording(patient: int, folder: Path) -> Recording:
    """The patient's clip written as DICOM and read back (the path the saved study points to)."""
    labels = site_labels(patient)
    noise = np.random.default_rng(100 + patient).normal(0, 6, labels.shape)
    frames = np.clip(GREY[labels] + noise, 0, 255).astype(np.uint8)
    rec = Recording(frames, (0.4, 0.4), uniform_frame_times(len(frames), FPS), "echo", "a4c", calibrated=True,
                    patient=PatientInfo(name=f"SITE^{patient}", patient_id=f"P{patient:03d}"))
    path = write_recording(rec, folder / f"patient{patient}.dcm")
    return replace(load_recording(path, echo=True), view="a4c")


def save_study(patient: int, folder: Path, hand: tuple[int, ...] = (), propagated: tuple[int, ...] = (),
               signed: bool = False) -> Path:
    """The saved study of one patient in `folder`; returns its file."""
    rec = site_recording(patient, folder)
    labels = site_labels(patient)
    study = StudyState()
    study.add_recording(rec)
    study.set_analysis(0, run_task(analyze_for_viewer(rec, segmenter=lambda r, cancel=None: labels, strain=False)))
    keys = {(0, f) for f in (*hand, *propagated)}
    changes = {((0, f), "endo"): study[0].contour((0, f), "endo") for f in (*hand, *propagated)}
    study.set_contours(0, changes, edited_keys=keys, propagated_keys={(0, f) for f in propagated})
    if signed:
        study.set_conclusion("normal LV size and function", "Dr Reviewer")
    path = folder / f"{study.save_key(0)}{SUFFIX}"
    path.write_text(json.dumps(study.to_json(0)), encoding="utf-8")
    return path
