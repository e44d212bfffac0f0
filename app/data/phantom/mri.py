"""`make_mri`: a cine short-axis MR stack of the phantom heart with its exact ground truth.

Slices are fixed in space and perpendicular to the long axis, from above the base (slice 0) to below
the apex; the base moves toward the apex in systole, so basal slices lose the ventricle (through-plane
shortening). Image content (SSFP-like): bright blood, grey myocardium with papillary muscles, RV
crescent, pericardial fat, lungs, liver, chest wall; partial volume over the slice thickness, a coil
bias field and Rician noise. Infarcts are thinned, akinetic and darker.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from app.data.phantom.cycle import CardiacCycle
from app.data.phantom.heart import HeartModel
from app.data.phantom.mri_scene import N_PSI, MriScene, Rings
from app.data.phantom.params import MriPhantomParams, params_dict
from app.data.phantom.section import make_section
from app.data.phantom.segments import VIEW_WALL_AZIMUTH_DEG, view_segment_names
from app.data.phantom.truth import PhantomTruth, strain_curves
from app.data.recording import PatientInfo, Recording
from app.tasks import Progress, run_task

PHANTOM_STUDY_DATE = "20250101"  # fixed, so the same seed writes identical files


def slice_heights_mm(params: MriPhantomParams, model: HeartModel) -> np.ndarray:
    """(S,) slice centre heights above the endocardial apex, base (slice 0) to apex."""
    k = np.arange(params.n_slices)
    return model.length_ed_mm / 2.0 + ((params.n_slices - 1) / 2.0 - k) * params.slice_spacing_mm


def make_mri(params: MriPhantomParams, seed: int = 0, progress: Callable[[Progress], None] | None = None):
    """Render the stack and its ground truth. Same params and seed -> identical output."""
    return run_task(iter_make_mri(params, seed), progress)


def iter_make_mri(params: MriPhantomParams, seed: int = 0):
    """Generator form of make_mri: yields app.tasks.Progress per phase; returns the PhantomCase."""
    from app.data.phantom.case import PhantomCase

    rng = np.random.default_rng(seed)
    model = HeartModel(params.heart)
    rate = params.n_phases / params.heart.cycle_s
    cycle = CardiacCycle(params.heart, model, 1, rate, n_frames=params.n_phases)
    psi = np.arange(N_PSI) * (360.0 / N_PSI)
    heights = slice_heights_mm(params, model)
    n, s_count, t_count = params.image_px, params.n_slices, params.n_phases
    scene = MriScene(params, model, rng)
    frames = np.zeros((s_count, t_count, n, n), np.uint16)
    labels = np.zeros((s_count, t_count, n, n), np.uint8)
    rings_all = []
    for t in range(t_count):
        rings = Rings(model.wall_state(psi, cycle.progress[t], cycle.radial_scale[t]))
        rings_all.append(rings)
        for s, z in enumerate(heights):
            labels[s, t] = scene.labels(*rings.at(z), z_mm=float(z), length_mm=rings.state.length_mm)
            frames[s, t] = scene.image(rings, z, float(cycle.progress[t]), s)
        yield Progress((t + 1) / t_count, "rendering phases")
    ref = cycle.ed_frames[0]
    displacement = _displacement(rings_all, heights, labels, ref, scene)
    area_mm2 = params.pixel_mm**2
    volume = (labels == 1).sum(axis=(0, 2, 3)) * area_mm2 * params.slice_spacing_mm / 1000.0
    psi_a4c = VIEW_WALL_AZIMUTH_DEG["a4c"]
    sections = [make_section(model, psi_a4c, s, c) for s, c in zip(cycle.progress, cycle.radial_scale, strict=True)]
    from app.data.phantom.echo import midline_material_points

    mid_p = midline_material_points(sections[ref])
    mid = np.stack([np.stack([np.interp(mid_p, sc.p, sc.wall(0.5)[:, i]) for i in range(2)], 1) for sc in sections])
    gls, seg = strain_curves(mid, ref)
    times = cycle.frame_times_s.copy()
    truth = PhantomTruth(
        labels=labels, ed_frames=cycle.ed_frames, es_frames=cycle.es_frames, volume_ml=volume.astype(np.float64),
        model_volume_ml=cycle.volume_ml.copy(), reference_frame=ref, displacement_px=displacement, gls_pct=gls,
        segmental_strain_pct=seg, segment_names=view_segment_names("a4c"),
        spacing_mm=(params.pixel_mm, params.pixel_mm), frame_times_s=times, modality="mri", view="sax",
        slice_spacing_mm=params.slice_spacing_mm, parameters={"seed": int(seed), **params_dict(params)},
    )
    recording = Recording(
        frames=frames, spacing_mm=(params.pixel_mm, params.pixel_mm), frame_times_s=times, modality="mri",
        view="sax", calibrated=True, patient=PatientInfo(name="Phantom^MRI", patient_id=f"PHANTOM-{seed}",
                                                         study_date=PHANTOM_STUDY_DATE,
                                                         manufacturer="CardioTrace phantom"),
        slice_spacing_mm=params.slice_spacing_mm, heart_rate_bpm=float(params.heart.heart_rate_bpm),
        series_description=f"Phantom SAX cine EDV {params.heart.edv_ml:g} ESV {params.heart.esv_ml:g}",
    )
    return PhantomCase(recording, truth)


def _displacement(rings_all: list[Rings], heights: np.ndarray, labels: np.ndarray, ref: int,
                  scene: MriScene) -> np.ndarray:
    """(S, T, H, W, 2) float32 apparent in-plane wall motion of each fixed slice from the reference
    phase: a myocardial pixel keeps its wall fraction between endo- and epicardium at its azimuth."""
    s_count, t_count, n, _ = labels.shape
    out = np.zeros((s_count, t_count, n, n, 2), np.float32)
    psi = scene.psi
    for s, z in enumerate(heights):
        endo0, epi0 = rings_all[ref].at(z)
        if endo0 is None or epi0 is None:
            continue
        pix = np.argwhere(labels[s, ref] == 2)
        dy = -(pix[:, 0] - scene.centre_px[0]) * scene.px
        dx = (pix[:, 1] - scene.centre_px[1]) * scene.px
        rho, ang = np.hypot(dx, dy), np.mod(np.arctan2(dy, dx), 2 * np.pi)
        grid = np.append(psi, 2 * np.pi)

        def at(radius: np.ndarray, ang: np.ndarray = ang, grid: np.ndarray = grid) -> np.ndarray:
            return np.interp(ang, grid, np.append(radius, radius[0]))

        e0, p0 = at(endo0), at(epi0)
        w = np.clip((rho - e0) / np.maximum(p0 - e0, 1e-6), 0.0, 1.0)
        for t in range(t_count):
            endo, epi = rings_all[t].at(z)
            if endo is None or epi is None:
                continue
            d_rho = at(endo) + w * (at(epi) - at(endo)) - (e0 + w * (p0 - e0))
            out[s, t, pix[:, 0], pix[:, 1], 0] = -d_rho * np.sin(ang) / scene.px
            out[s, t, pix[:, 0], pix[:, 1], 1] = d_rho * np.cos(ang) / scene.px
    return out
