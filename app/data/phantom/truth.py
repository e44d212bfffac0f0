"""Ground truth of a phantom recording, its strain arithmetic, and the sidecar files.

Sidecar of a recording `<dir>/<name>.<ext>` (or a series folder `<dir>/<name>/`):
`<dir>/<name>.truth.npz` (arrays) and `<dir>/<name>.truth.json` (scalars, ED/ES, curves; readable).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

N_MIDLINE = 120
N_SEGMENTS = 6


@dataclass(frozen=True, eq=False)
class PhantomTruth:
    """Exact ground truth per frame.

    labels: (T, H, W) uint8 (echo) or (S, T, H, W) (MRI): 0 background, 1 LV cavity, 2 myocardium,
        3 left atrium (echo only).
    ed_frames, es_frames: indices of every end-diastole / end-systole in the clip (volume max / min).
    volume_ml: (T,) LV volume an exact analysis would report: single-plane method of disks of the true
        section (echo) or slice summation of the true cavity masks (MRI).
    model_volume_ml: (T,) volume of the 3D model (hits the requested EDV and ESV).
    reference_frame: the frame displacements and strains are measured from (the first ED).
    displacement_px: (T, H, W, 2) float32 (row, col) displacement of myocardial material from the
        reference frame, defined where labels[reference_frame] == 2, zero elsewhere
        ((S, T, H, W, 2) in-plane for MRI).
    gls_pct: (T,) global longitudinal strain of the myocardial midline, percent (negative in systole).
    segmental_strain_pct: (T, 6) strain of six midline segments, named by segment_names.
    midline_px: (T, 120, 2) (row, col) material points of the midline (echo; None for MRI).
    annulus_px: (T, 2, 2) left and right mitral annulus points (row, col) (echo; None for MRI).
    apex_px: (T, 2) endocardial apex (row, col) (echo; None for MRI).
    """

    labels: np.ndarray
    ed_frames: tuple[int, ...]
    es_frames: tuple[int, ...]
    volume_ml: np.ndarray
    model_volume_ml: np.ndarray
    reference_frame: int
    displacement_px: np.ndarray
    gls_pct: np.ndarray
    segmental_strain_pct: np.ndarray
    segment_names: tuple[str, ...]
    spacing_mm: tuple[float, float]
    frame_times_s: np.ndarray
    modality: str
    view: str
    midline_px: np.ndarray | None = None
    annulus_px: np.ndarray | None = None
    apex_px: np.ndarray | None = None
    slice_spacing_mm: float | None = None
    parameters: dict = field(default_factory=dict)

    @property
    def edv_ml(self) -> float:
        return float(np.mean(self.volume_ml[list(self.ed_frames)]))

    @property
    def esv_ml(self) -> float:
        return float(np.mean(self.volume_ml[list(self.es_frames)]))

    @property
    def ef_pct(self) -> float:
        return 100.0 * (1.0 - self.esv_ml / self.edv_ml)

    @property
    def peak_gls_pct(self) -> float:
        return float(self.gls_pct.min())


def polyline_length(points: np.ndarray) -> np.ndarray:
    """Length of polylines: points (..., N, 2) -> (...)."""
    return np.sum(np.linalg.norm(np.diff(points, axis=-2), axis=-1), axis=-1)


def segment_bounds(n_points: int = N_MIDLINE, n_segments: int = N_SEGMENTS) -> list[tuple[int, int]]:
    """Index ranges [start, stop] (inclusive) of the midline points of each segment; neighbours share
    their boundary point so the segments cover the whole midline."""
    edges = np.linspace(0, n_points - 1, n_segments + 1).round().astype(int)
    return [(int(edges[i]), int(edges[i + 1])) for i in range(n_segments)]


def strain_curves(midline: np.ndarray, reference_frame: int) -> tuple[np.ndarray, np.ndarray]:
    """Lagrangian strain (%) of a tracked midline: midline (T, N, 2) of the same material points.

    Returns gls (T,) and segmental (T, 6), relative to the lengths at `reference_frame`.
    """
    total = polyline_length(midline)
    gls = 100.0 * (total / total[reference_frame] - 1.0)
    seg = np.stack([polyline_length(midline[:, a : b + 1]) for a, b in segment_bounds(midline.shape[1])], axis=1)
    return gls, 100.0 * (seg / seg[reference_frame][None, :] - 1.0)


# -- sidecar files --------------------------------------------------------------------------------
_ARRAYS = ("labels", "volume_ml", "model_volume_ml", "displacement_px", "gls_pct", "segmental_strain_pct",
           "frame_times_s", "midline_px", "annulus_px", "apex_px")


def truth_paths(path: str | Path) -> tuple[Path, Path]:
    """(npz, json) sidecar paths for a recording file or series folder (or a sidecar path itself)."""
    path = Path(path)
    name = path.name
    for suffix in (".truth.npz", ".truth.json", ".nii.gz", ".dcm", ".nii", ".avi", ".npz"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
            break
    return path.with_name(f"{name}.truth.npz"), path.with_name(f"{name}.truth.json")


def save_truth(truth: PhantomTruth, path: str | Path) -> tuple[Path, Path]:
    """Write the sidecar pair beside `path` (the recording); returns (npz, json)."""
    npz_path, json_path = truth_paths(path)
    arrays = {k: getattr(truth, k) for k in _ARRAYS if getattr(truth, k) is not None}
    np.savez_compressed(npz_path, **arrays)
    meta = {
        "format": "cardiotrace-phantom-truth/1",
        "modality": truth.modality,
        "view": truth.view,
        "spacing_mm": list(truth.spacing_mm),
        "slice_spacing_mm": truth.slice_spacing_mm,
        "reference_frame": truth.reference_frame,
        "ed_frames": list(truth.ed_frames),
        "es_frames": list(truth.es_frames),
        "segment_names": list(truth.segment_names),
        "edv_ml": round(truth.edv_ml, 3),
        "esv_ml": round(truth.esv_ml, 3),
        "ef_pct": round(truth.ef_pct, 3),
        "peak_gls_pct": round(truth.peak_gls_pct, 3),
        "frame_times_s": [round(float(t), 6) for t in truth.frame_times_s],
        "volume_ml": [round(float(v), 4) for v in truth.volume_ml],
        "gls_pct": [round(float(v), 4) for v in truth.gls_pct],
        "parameters": truth.parameters,
    }
    json_path.write_text(json.dumps(meta, indent=1), encoding="utf-8")
    return npz_path, json_path


def load_truth(path: str | Path) -> PhantomTruth:
    """Read a sidecar pair written by save_truth (pass the recording path or either sidecar path)."""
    npz_path, json_path = truth_paths(path)
    if not npz_path.is_file() or not json_path.is_file():
        raise FileNotFoundError(f"no phantom truth beside {path} (expected {npz_path.name} and {json_path.name})")
    meta = json.loads(json_path.read_text(encoding="utf-8"))
    with np.load(npz_path) as data:
        arrays = {k: data[k] for k in data.files}
    kwargs: dict[str, Any] = {f.name: arrays.get(f.name) for f in fields(PhantomTruth) if f.name in _ARRAYS}
    return PhantomTruth(
        **kwargs,
        ed_frames=tuple(meta["ed_frames"]),
        es_frames=tuple(meta["es_frames"]),
        reference_frame=int(meta["reference_frame"]),
        segment_names=tuple(meta["segment_names"]),
        spacing_mm=tuple(meta["spacing_mm"]),
        modality=meta["modality"],
        view=meta["view"],
        slice_spacing_mm=meta.get("slice_spacing_mm"),
        parameters=meta.get("parameters", {}),
    )
