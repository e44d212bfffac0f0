"""`make_echo`: an apical echo clip of the phantom heart with its exact ground truth."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from scipy.interpolate import RegularGridInterpolator
from scipy.spatial import cKDTree

from app.data.phantom.cycle import CardiacCycle
from app.data.phantom.echo_image import EchoRenderer
from app.data.phantom.heart import HeartModel
from app.data.phantom.params import EchoPhantomParams, params_dict
from app.data.phantom.probe import Probe
from app.data.phantom.raster import fill_polygon
from app.data.phantom.section import LA_LENGTH_FRACTION, LA_SYSTOLIC_GROWTH, Section, disk_volume_ml, make_section
from app.data.phantom.segments import VIEW_WALL_AZIMUTH_DEG, view_segment_names
from app.data.phantom.truth import N_MIDLINE, PhantomTruth, strain_curves
from app.data.recording import PatientInfo, Recording
from app.tasks import Progress, run_task

if TYPE_CHECKING:  # for the annotation; make_echo imports it where it runs
    from app.data.phantom.case import PhantomCase

PHANTOM_STUDY_DATE = "20250101"  # fixed, so the same seed writes identical files

APEX_DEPTH_MM = 28.0
APEX_LATERAL_MM = {"a4c": 5.0, "a2c": 0.0, "a3c": -3.0}
WALL_SAMPLES_W = 21


def echo_probe(params: EchoPhantomParams, model: HeartModel) -> Probe:
    """The fan for this heart: deep enough for the LV and LA unless a depth is given."""
    depth = params.depth_mm
    if depth is None:
        la_mm = model.length_ed_mm * LA_LENGTH_FRACTION * (1.0 + LA_SYSTOLIC_GROWTH)
        need = APEX_DEPTH_MM + model.length_ed_mm + 0.95 * la_mm + 8.0  # the LA floor may leave the image
        depth = float(np.ceil(need / 10.0) * 10.0)
    rows, cols = params.image_shape_px
    return Probe(depth, params.sector_deg, (rows, cols),
                 (APEX_LATERAL_MM[params.view], APEX_DEPTH_MM), params.tilt_deg)


def rasterise_labels(sec: Section, probe: Probe) -> np.ndarray:
    """(H, W) uint8 labels of a section: 0 bg, 1 LV cavity, 2 myocardium, 3 LA (inside the fan)."""
    out = np.zeros(probe.shape_px, np.uint8)
    for poly, value in ((sec.la, 3), (sec.myocardium_outline(), 2), (sec.cavity_outline(), 1)):
        fill_polygon(out, probe.heart_to_px(poly), value)
    out[~probe.sector_mask()] = 0
    return out


def midline_material_points(sec: Section, n: int = N_MIDLINE) -> np.ndarray:
    """(n,) material coordinates p of points equally spaced along the midline of `sec`."""
    mid = sec.wall(0.5)
    arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(mid, axis=0), axis=1))])
    return np.interp(np.linspace(0.0, arc[-1], n), arc, sec.p)


def _wall_mesh(sec: Section, probe: Probe) -> np.ndarray:
    """(N_p, WALL_SAMPLES_W, 2) pixel (row, col) positions of the wall material grid (p, w)."""
    w = np.linspace(0.0, 1.0, WALL_SAMPLES_W)
    pts = sec.endo[:, None, :] + w[None, :, None] * (sec.epi - sec.endo)[:, None, :]
    return probe.heart_to_px(pts)


def _invert_mesh(mesh: np.ndarray, p: np.ndarray, w: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(N, 2) material (p, w) of pixel points (N, 2): nearest mesh node, then one Newton step with the
    local Jacobian of the (p, w) -> pixel mapping. mesh: (len(p), len(w), 2)."""
    jac_p = np.gradient(mesh, p, axis=0)
    jac_w = np.gradient(mesh, w, axis=1)
    _, flat = cKDTree(mesh.reshape(-1, 2)).query(points)
    i, j = np.unravel_index(flat, mesh.shape[:2])
    resid = points - mesh[i, j]
    a, b = jac_p[i, j], jac_w[i, j]  # columns of the 2x2 Jacobian
    det = a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]
    det = np.where(np.abs(det) < 1e-12, 1e-12, det)
    d_p = (resid[:, 0] * b[:, 1] - resid[:, 1] * b[:, 0]) / det
    d_w = (a[:, 0] * resid[:, 1] - a[:, 1] * resid[:, 0]) / det
    return np.stack([p[i] + d_p, w[j] + d_w], axis=1)


class _DisplacementField:
    """Dense myocardial displacement from the reference frame, sampled on the pixel grid."""

    def __init__(self, ref_sec: Section, ref_labels: np.ndarray, probe: Probe):
        self.probe = probe
        self.p = ref_sec.p
        self.w = np.linspace(0.0, 1.0, WALL_SAMPLES_W)
        mesh = _wall_mesh(ref_sec, probe)
        self.pixels = np.argwhere(ref_labels == 2)
        self.coords = _invert_mesh(mesh, self.p, self.w, self.pixels.astype(np.float64))
        self.coords[:, 0] = np.clip(self.coords[:, 0], self.p[0], self.p[-1])
        self.coords[:, 1] = np.clip(self.coords[:, 1], 0.0, 1.0)
        self.ref_pos = self._positions(mesh)

    def _positions(self, mesh: np.ndarray) -> np.ndarray:
        interp = RegularGridInterpolator((self.p, self.w), mesh)
        return interp(self.coords)

    def frame(self, sec: Section) -> np.ndarray:
        """(H, W, 2) float32 displacement (row, col) in pixels at this frame."""
        field = np.zeros((*self.probe.shape_px, 2), np.float32)
        disp = self._positions(_wall_mesh(sec, self.probe)) - self.ref_pos
        field[self.pixels[:, 0], self.pixels[:, 1]] = disp
        return field


def make_echo(params: EchoPhantomParams, seed: int = 0,
              progress: Callable[[Progress], None] | None = None) -> "PhantomCase":
    """Render the clip and its ground truth. Same params and seed -> identical output.

    progress: optional callback receiving app.tasks.Progress as frames are rendered.
    """
    case = run_task(iter_make_echo(params, seed), progress)
    assert case is not None  # not cancellable
    return case


def iter_make_echo(params: EchoPhantomParams, seed: int = 0):
    """Generator form of make_echo: yields app.tasks.Progress per frame, then returns the PhantomCase
    (as StopIteration.value; `make_echo` wraps this). Stop iterating to cancel."""
    from app.data.phantom.case import PhantomCase

    rng = np.random.default_rng(seed)
    model = HeartModel(params.heart)
    cycle = CardiacCycle(params.heart, model, params.beats, params.frame_rate_hz)
    probe = echo_probe(params, model)
    psi_pair = VIEW_WALL_AZIMUTH_DEG[params.view]
    sections = [make_section(model, psi_pair, s, c) for s, c in zip(cycle.progress, cycle.radial_scale, strict=True)]
    _check_fit(sections, probe)
    ref = cycle.ed_frames[0]
    labels = np.stack([rasterise_labels(s, probe) for s in sections])
    field = _DisplacementField(sections[ref], labels[ref], probe)
    mid_p = midline_material_points(sections[ref])
    midline_xz = np.stack([np.stack([np.interp(mid_p, s.p, s.wall(0.5)[:, i]) for i in range(2)], 1) for s in sections])
    midline_px = probe.heart_to_px(midline_xz)
    spacing = probe.spacing_mm
    gls, seg = strain_curves(midline_xz, ref)
    scar = model.infarct_weight(np.array(psi_pair))
    scar_p = np.concatenate([scar[0][::-1], scar[1][1:]])  # on the section's p grid
    renderer = EchoRenderer(probe, params.view, params.quality, rng, sections[ref], scar_p)
    frames = np.zeros((cycle.n_frames, *probe.shape_px), np.uint8)
    displacement = np.zeros((cycle.n_frames, *probe.shape_px, 2), np.float32)
    for i, sec in enumerate(sections):
        frames[i] = renderer.render(sec, float(cycle.filling[i]))
        displacement[i] = field.frame(sec)
        yield Progress((i + 1) / cycle.n_frames, "rendering frames")
    truth = PhantomTruth(
        labels=labels, ed_frames=cycle.ed_frames, es_frames=cycle.es_frames,
        volume_ml=np.array([disk_volume_ml(s) for s in sections]), model_volume_ml=cycle.volume_ml.copy(),
        reference_frame=ref, displacement_px=displacement, gls_pct=gls, segmental_strain_pct=seg,
        segment_names=view_segment_names(params.view), spacing_mm=(spacing, spacing),
        frame_times_s=cycle.frame_times_s.copy(), modality="echo", view=params.view, midline_px=midline_px,
        annulus_px=np.stack([probe.heart_to_px(s.annulus) for s in sections]),
        apex_px=np.stack([probe.heart_to_px(s.endo[len(s.endo) // 2]) for s in sections]),
        parameters={"seed": int(seed), **params_dict(params)},
    )
    recording = Recording(
        frames=frames, spacing_mm=(spacing, spacing), frame_times_s=cycle.frame_times_s.copy(), modality="echo",
        view=params.view, calibrated=True, patient=PatientInfo(name="Phantom^Echo", patient_id=f"PHANTOM-{seed}",
                                                               study_date=PHANTOM_STUDY_DATE,
                                                               manufacturer="CardioTrace phantom"),
        heart_rate_bpm=float(params.heart.heart_rate_bpm), sector_mask=probe.sector_mask(),
        series_description=f"Phantom {params.view.upper()} EDV {params.heart.edv_ml:g} ESV {params.heart.esv_ml:g}",
    )
    return PhantomCase(recording, truth)


def _check_fit(sections: list[Section], probe: Probe) -> None:
    for sec in sections[:: max(1, len(sections) // 8)]:
        pts = probe.heart_to_image_mm(np.concatenate([sec.endo, sec.la[:: len(sec.la) - 1]]))  # LV + annulus
        if not probe.contains(pts):
            raise ValueError(
                f"the heart does not fit the {probe.sector_deg:g} deg x {probe.depth_mm:g} mm sector; "
                "use a wider sector or a deeper image")
