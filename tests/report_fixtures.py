"""Analyzed recordings for the report/export/batch tests, without any model.

`synthetic_echo_case` draws a beating ellipse-shaped LV (cavity, myocardium band, LA) in an apical
layout and its image; the analysis is the real contour extraction + measurement code run on those
labels, so the numbers the report prints come from the same path as in the app.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from app.data.recording import PatientInfo, Recording, uniform_frame_times


def synthetic_labels(n_frames: int = 30, shape=(160, 128), beats: float = 1.5, seed: int = 0) -> np.ndarray:
    """(T, H, W) uint8 labels 0-3: an LV whose axes shrink ~20 % in systole, myocardium band, LA."""
    h, w = shape
    rows, cols = np.mgrid[0:h, 0:w].astype(np.float32)
    t = np.arange(n_frames)
    phase = 0.5 * (1 + np.cos(2 * np.pi * beats * t / n_frames))  # 1 at ED, 0 at ES
    labels = np.zeros((n_frames, h, w), np.uint8)
    cx, base_row = w / 2, 0.72 * h
    upper = rows <= base_row
    for i, p in enumerate(phase):
        a_long = (0.52 + 0.08 * p) * h  # apex-to-base length of the half ellipse
        b = (0.16 + 0.05 * p) * w
        wall = 6 + 3 * (1 - p)
        cav = (((rows - base_row) / a_long) ** 2 + ((cols - cx) / b) ** 2 <= 1) & upper
        body = (((rows - base_row) / (a_long + wall)) ** 2 + ((cols - cx) / (b + wall)) ** 2 <= 1) & upper
        labels[i][body] = 2
        labels[i][cav] = 1
        la = ((rows - (base_row + 0.12 * h)) / (0.12 * h)) ** 2 + ((cols - cx) / (b + 2)) ** 2 <= 1
        labels[i][la & ~upper] = 3
    return labels


def synthetic_recording(labels: np.ndarray, fps: float = 40.0, view: str = "a4c", seed: int = 0,
                        path: Path | None = None, patient: PatientInfo | None = None) -> Recording:
    rng = np.random.default_rng(seed)
    tissue = np.array([40, 15, 170, 20], np.float32)[labels]
    frames = np.clip(tissue + rng.normal(0, 18, labels.shape), 0, 255).astype(np.uint8)
    return Recording(frames=frames, spacing_mm=(0.6, 0.6), frame_times_s=uniform_frame_times(len(frames), fps),
                     modality="echo", view=view, calibrated=True,
                     patient=patient or PatientInfo(name="Doe^Jane", patient_id="CT-0042", birth_date="19600102",
                                                    sex="F", study_date="20261120", institution="Test Hospital",
                                                    manufacturer="Phantom"),
                     source_path=path, heart_rate_bpm=None)


def analyze_with_labels(recording: Recording, labels: np.ndarray):
    """A RecordingAnalysis from given labels (the pipeline's contour + measurement path)."""
    from app.analysis.contours import extract_all
    from app.workflow.analyze import measure
    from app.workflow.results import FrameContours, RecordingAnalysis

    contours = FrameContours.of(extract_all(labels))
    confidence = np.full(recording.n_frames, 0.9)
    m = measure(recording, contours, confidence=confidence)
    return RecordingAnalysis(recording, labels, contours, confidence, m, segmenter="truth labels")


def synthetic_analysis(view: str = "a4c", n_frames: int = 30, seed: int = 0, path: Path | None = None):
    labels = synthetic_labels(n_frames, seed=seed)
    return analyze_with_labels(synthetic_recording(labels, view=view, seed=seed, path=path), labels)


def synthetic_strain(analysis, gls_peak_pct: float = -19.0, weak_segment: int | None = None):
    """A StrainResult whose curves follow the analysis' volume curve (a test input, not a computation):
    every segment shortens in proportion to the volume change, `weak_segment` to a third of it and
    with failed tracking quality."""
    from app.analysis.strain import StrainResult, segment_names

    rec, m = analysis.recording, analysis.measurements
    vol = np.asarray(m.volume_curve_ml, float)
    shape = (vol - vol.max()) / max(vol.max() - vol.min(), 1e-9)  # 0 at ED, -1 at ES
    seg_scale = np.linspace(0.8, 1.2, 6)
    ok = [True] * 6
    if weak_segment is not None:
        seg_scale[weak_segment] = 0.3
        ok[weak_segment] = False
    segments = shape[:, None] * seg_scale[None, :] * -gls_peak_pct
    curve = shape * -gls_peak_pct
    return StrainResult(
        gls_pct=float(curve.min()), strain_curve_pct=curve, segmental_strain_pct=segments,
        segment_peak_pct=tuple(float(v) for v in segments.min(axis=0)), segment_names=segment_names(rec.view),
        strain_quality=tuple(0.9 if k else 0.2 for k in ok), segment_ok=tuple(ok),
        tracking_error_mm=tuple(0.3 if k else 2.0 for k in ok), centerline_px=np.zeros((len(vol), 120, 2)),
        ed_frames=tuple(m.ed_frames), motion="classical", view=rec.view)


def synthetic_stack_analysis(n_slices: int = 4, n_frames: int = 20, shape=(96, 96)):
    """A short-axis MR stack (S, T, H, W): concentric blood pool and myocardium rings shrinking in
    systole and towards the apex, analyzed through the pipeline with these labels injected."""
    from app.tasks import run_task
    from app.workflow.analyze import analyze_recording

    h, w = shape
    rows, cols = np.mgrid[0:h, 0:w].astype(np.float32)
    r = np.hypot(rows - h / 2, cols - w / 2)
    labels = np.zeros((n_slices, n_frames, h, w), np.uint8)
    for s in range(n_slices):
        for t in range(n_frames):
            p = 0.5 * (1 + np.cos(2 * np.pi * t / n_frames))
            r_blood = (14 + 6 * p) * (1 - 0.15 * s)
            labels[s, t][r <= r_blood + 7 - 2 * p] = 2
            labels[s, t][r <= r_blood] = 1
    rng = np.random.default_rng(0)
    frames = (np.array([60, 240, 110, 0], np.float32)[labels] + rng.normal(0, 10, labels.shape)).clip(0, 255)
    rec = Recording(frames=frames.astype(np.uint16), spacing_mm=(1.4, 1.4),
                    frame_times_s=uniform_frame_times(n_frames, 20.0), modality="mri", view="sax",
                    slice_spacing_mm=10.0, patient=PatientInfo(name="Mr^Stack", sex="M"),
                    source_path=Path("/mri/SCD_test"))
    return run_task(analyze_recording(rec, segmenter=lambda recording: labels,
                                               segmenter_name="injected labels"))
