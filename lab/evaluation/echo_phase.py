"""Per-phase figures of `evaluate echo-seg` (issue 30): is the LV drawn too large at end-systole?

For each CAMUS valid patient (the scored ED and ES frames of its synthetic cycle, echo_seg_eval.camus_cycle):
LV area and monoplane disk volume of our labels and of the expert's, at ED and at ES separately. Aggregated:
mean ours/expert area and volume ratios at ED and ES, the ES/ED area ratio ours over the expert's (1.00 = the
systolic shrinkage drawn as the expert did), EDV/ESV (ml) and EF (points) errors as signed bias, SD and mean
absolute error. Patients with a gross failure (EF off by more than GROSS_EF_PTS, e.g. an atrium drawn across
the LV of a degraded clip: one EDV of 0.5 ml gave a mean EF error of -900 points) are counted apart
(phase_gross_n) and left out of these means, so they describe the typical patient.

`degraded_clip` gives the same clip as a clinical export (lab.data.degrade.clinical_export: fitted into
112 x 112 or 160 x 160 px, MJPEG, depth cut) with the expert's labels on the new grid, so the same figures
are measured on what real clinical video looks like.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from app.analysis.contours import extract_contours
from app.analysis.edes_curve import fill_gaps
from app.analysis.volumes import contour_disks
from lab.data.degrade import clinical_export, degrade_recording

GROSS_EF_PTS = 20.0  # as echo_seg_eval's ef_gross_n


@dataclass(frozen=True)
class PhaseRow:
    """One patient: LV area (mm^2) and disk volume (ml) at ED and ES, ours and the expert's."""

    area_ed_mm2: float
    area_es_mm2: float
    ref_area_ed_mm2: float
    ref_area_es_mm2: float
    edv_ml: float
    esv_ml: float
    ref_edv_ml: float
    ref_esv_ml: float

    @property
    def ef_pct(self) -> float:
        return 100.0 * (1.0 - self.esv_ml / self.edv_ml)

    @property
    def ref_ef_pct(self) -> float:
        return 100.0 * (1.0 - self.ref_esv_ml / self.ref_edv_ml)


def disks_volume_ml(labels: np.ndarray, spacing_mm) -> float | None:
    """Monoplane method-of-disks LV volume (ml) of one long-axis label map, None when no contour."""
    disks = contour_disks(extract_contours(labels, "long-axis"), spacing_mm, with_chords=False)
    return None if disks is None else disks.volume_ml


def our_volume_ml(labels: np.ndarray, t: int, spacing_mm) -> float | None:
    """Monoplane volume of our frame t as the app measures it: a frame whose cavity came in pieces (the
    "cavity-split" flag, app.workflow.frame_quality.split_frames) takes the volume interpolated linearly between the
    nearest unsplit frames (the nearest one alone at a clip end) by the app's own fill_gaps."""
    def volume(u: int) -> tuple[float | None, bool]:
        contours = extract_contours(labels[u], "long-axis")
        if contours is None:
            return None, False
        disks = contour_disks(contours, spacing_mm, with_chords=False)
        return (None if disks is None else disks.volume_ml), "cavity-split" in contours.issues

    own, split = volume(t)
    if not split:
        return own
    curve = np.array([np.nan if v is None or s else v for v, s in map(volume, range(len(labels)))])
    return float(fill_gaps(curve)[t]) if np.isfinite(curve).any() else own


def phase_row(labels: np.ndarray, clip) -> PhaseRow | None:
    """PhaseRow of our (T, H, W) labels on a LabelledClip's scored ED/ES pair (our volumes as the app measures
    them, our_volume_ml); None when a contour is missing."""
    ed, es = clip.ed_es_pair
    sp = clip.recording.spacing_mm
    refs = [clip.annotations[clip.annotated_frames.index(t)] for t in (ed, es)]
    ours = [labels[t] for t in (ed, es)]
    vols = [our_volume_ml(labels, t, sp) for t in (ed, es)] + [disks_volume_ml(m, sp) for m in refs]
    if any(not v for v in vols):
        return None
    areas = [float((m == 1).sum()) * sp[0] * sp[1] for m in ours + refs]
    return PhaseRow(*areas, *vols)


def phase_figures(rows: list[PhaseRow]) -> dict:
    """Mean ratios at ED and ES, ES/ED area ratio against the expert's, EDV/ESV/EF bias, SD and MAE over the
    patients without a gross failure; phase_gross_n counts the others."""
    gross = [r for r in rows if abs(r.ef_pct - r.ref_ef_pct) > GROSS_EF_PTS]
    rows = [r for r in rows if abs(r.ef_pct - r.ref_ef_pct) <= GROSS_EF_PTS]
    if not rows:
        return {"phase_gross_n": len(gross)} if gross else {}

    def mean(values) -> float:
        return float(np.mean(list(values)))

    out = {
        "area_ratio_ed": round(mean(r.area_ed_mm2 / r.ref_area_ed_mm2 for r in rows), 3),
        "area_ratio_es": round(mean(r.area_es_mm2 / r.ref_area_es_mm2 for r in rows), 3),
        "vol_ratio_ed": round(mean(r.edv_ml / r.ref_edv_ml for r in rows), 3),
        "vol_ratio_es": round(mean(r.esv_ml / r.ref_esv_ml for r in rows), 3),
        "es_ed_area_vs_expert": round(mean((r.area_es_mm2 / r.area_ed_mm2) / (r.ref_area_es_mm2 / r.ref_area_ed_mm2)
                                           for r in rows), 3),
    }
    for name, ours, ref in (("edv_ml", "edv_ml", "ref_edv_ml"), ("esv_ml", "esv_ml", "ref_esv_ml"),
                            ("ef_pts", "ef_pct", "ref_ef_pct")):
        err = np.array([getattr(r, ours) - getattr(r, ref) for r in rows])
        out[f"{name}_bias"] = round(float(err.mean()), 2)
        out[f"{name}_sd"] = round(float(err.std(ddof=1)) if len(err) > 1 else 0.0, 2)
        out[f"{name}_mae"] = round(float(np.abs(err).mean()), 2)
    out["phase_n"] = len(rows)
    out["phase_gross_n"] = len(gross)
    out.update(ef_by_band(rows))
    return out


# bands of EF (%), reduced / mildly reduced / normal: an overall bias near zero can hide a reduced EF read high and a
# normal EF read low (lab/notes/echo_clip_ef.md, session 46). Banded by the expert's EF, the expert's own tracing
# variability alone makes the low band read high and the high band low (regression to the mean); banded by our EF, as
# the reader of a report sees it, that part goes (session 50). Both are reported, with both regression slopes.
EF_BANDS_PCT = (("lt40", 0.0, 40.0), ("40_49", 40.0, 50.0), ("ge50", 50.0, 1000.0))
BANDED_BY = ("ef", "ours")  # column prefixes: banded by the expert's EF, by ours


def ef_by_band(rows: list[PhaseRow]) -> dict:
    """EF error (ours - expert) bias and MAE per band of the expert's EF (`ef_*`) and of our EF (`ours_*`), each
    band's patients, and the least-squares slopes of our EF on the expert's (`ef_slope`) and of the expert's on ours
    (`ef_slope_expert_on_ours`): 1 and 1 for readings without error; with independent errors in both readings each
    slope is below 1 by its regressor's share of error."""
    ours = np.array([r.ef_pct for r in rows])
    ref = np.array([r.ref_ef_pct for r in rows])
    out: dict = {}
    for prefix, by in zip(BANDED_BY, (ref, ours), strict=True):
        for key, lo, hi in EF_BANDS_PCT:
            err = (ours - ref)[(by >= lo) & (by < hi)]
            name = f"{prefix}_{key}"
            out[f"{name}_n"] = int(err.size)
            if err.size:
                out[f"{name}_bias"] = round(float(err.mean()), 2)
                out[f"{name}_mae"] = round(float(np.abs(err).mean()), 2)
    if len(rows) > 2 and np.ptp(ref) > 0 and np.ptp(ours) > 0:
        out["ef_slope"] = round(float(np.polyfit(ref, ours, 1)[0]), 3)
        out["ef_slope_expert_on_ours"] = round(float(np.polyfit(ours, ref, 1)[0]), 3)
    return out


def degraded_clip(clip, size_px: int):
    """The LabelledClip as a clinical export of size_px x size_px (lab.data.degrade.clinical_export), its
    expert labels carried onto the new grid by nearest neighbour."""
    recording, annotations = degrade_recording(clip.recording, clinical_export(size_px), clip.annotations)
    return replace(clip, recording=recording, annotations=annotations)


PHASE_COLUMNS = ("area_ratio_ed", "area_ratio_es", "es_ed_area_vs_expert", "vol_ratio_ed", "vol_ratio_es",
                 "edv_ml_bias", "edv_ml_sd", "esv_ml_bias", "esv_ml_sd", "ef_pts_bias", "ef_pts_sd", "ef_pts_mae",
                 "phase_n", "phase_gross_n")


def _band_columns(prefix: str, slope: str) -> tuple[str, ...]:
    return tuple(f"{prefix}_{key}_{part}" for key, _, _ in EF_BANDS_PCT for part in ("n", "bias", "mae")) + (slope,)


BAND_COLUMNS = _band_columns("ef", "ef_slope")
OUR_BAND_COLUMNS = _band_columns("ours", "ef_slope_expert_on_ours")


def format_phase_table(results: dict) -> str:
    """The per-phase columns of every dataset that has them, then its EF error by band of the expert's EF."""
    lines = []
    for dataset, by_approach in results.items():
        rows = {a: r for a, r in by_approach.items() if "area_ratio_ed" in r}
        if not rows:
            continue
        lines.append(f"== {dataset}: per phase (ours / expert; errors = ours - expert; without gross failures)")
        lines += _table(rows, PHASE_COLUMNS)
        lines.append(f"== {dataset}: EF error by the expert's EF (< 40 %, 40-49, >= 50; slope of ours on the "
                     "expert's)")
        lines += _table(rows, BAND_COLUMNS)
        lines.append(f"== {dataset}: EF error by our EF (as a report's reader sees it; slope of the expert's on ours)")
        lines += _table(rows, OUR_BAND_COLUMNS)
    return "\n".join(lines)


def _table(rows: dict, columns: tuple[str, ...]) -> list[str]:
    widths = [max(len(c) + 2, 9) for c in columns]
    lines = [f"{'approach':<12}" + "".join(f"{c:>{w}}" for c, w in zip(columns, widths, strict=True))]
    for approach, row in rows.items():
        lines.append(f"{approach:<12}" + "".join(f"{str(row.get(c, '-')):>{w}}" for c, w in zip(columns, widths,
                                                                                                 strict=True)))
    return lines
