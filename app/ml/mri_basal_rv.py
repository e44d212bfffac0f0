"""The right atrium at the base of a short-axis stack: a basal RV region left out of the RV at systole.

In systole the tricuspid plane moves toward the apex (through-plane motion), so the most basal slice that
holds right ventricle at end-diastole cuts the right atrium at end-systole. The network sees one slice at a
time and keeps calling that region RV; ACDC's experts leave it out, as the tricuspid valve bounds the RV at the
base in the SCMR post-processing recommendations (Schulz-Menger et al., JCMR 2020;22:19). On the shipped model's
ACDC cross-validation predictions (80 patients), the expert had no RV on our most basal end-systolic RV slice in
48 patients; we drew +5.6 ml there on average, which made the RV ESV +6.2 ml and the RV EF -5.5 points.

The rule, per phase of a stack: the most basal slice with RV is atrium when its RV has shrunk below
SHRINK_FRACTION of the same slice's RV at end-diastole (the phase with the largest LV pool) and is smaller than
TAPER_FRACTION of the RV on the next slice toward the apex. A basal slice of ventricle shrinks with the rest
of the ventricle (mid slices keep 0.6-0.8 of their diastolic area) and is about as large as the slice below; a
slice the valve plane has passed through keeps only a tapering piece. End-diastole itself never changes.

The two fractions were chosen by nested cross-validation over the ACDC folds (fitted on four folds' patients,
scored on the fifth; every fold chose 0.6-0.65 and 0.75-0.95), which estimates the rule on unseen patients: RV EF
-5.5 +- 9.8 points (mean absolute error 8.80) became -2.5 +- 10.8 (7.92) on clean stacks, and -3.1 +- 12.6
(10.17) became -0.1 +- 13.0 (9.68) on the same stacks degraded like other scanners and exports. With the
fractions fixed as here (`python -m app evaluate mri-seg --tag scan [--degrade all]`, the shipped members'
cross-validation): RV EF -2.4 +- 10.3 (7.59), RV ESV +6.2 -> +1.9 ml, RV Dice at ES 0.818 -> 0.831; degraded
-0.2 +- 12.9 (9.51), RV Dice at ES 0.779 -> 0.787; nothing else moves. Of the slices it leaves out, 85 % have no
RV in the expert's labels (87 % degraded); it finds 73 % (82 %) of those the experts left out. On the experts'
own labels it fires in 5 of 80 stacks. The spread of the RV EF error grows a little: where the network also drew
the RV too small lower down, the basal excess had hidden it.

Which end is the base: the readers put a stack base first when the file's geometry says where the base is
(DICOM slice positions and orientation, a NIfTI's real orientation: app/data/readers). A file without that (an
identity orientation, as many research NIfTI exports have) keeps its own order, which may be apex first; the
rule would then take the shrinking apical RV for atrium. The anatomy decides then (base_first): the LV pool
is larger toward the base. Over the shipped members' cross-validation labels of the 80 ACDC stacks (stored base
first), the LV pool at end-diastole in the last third of its slices is 0.08-1.21 times the first third's
(median 0.39): a ratio of 1.5 or more (app.analysis.volumes.APEX_END_RATIO) turns none of them and recognises
73 of the 80 read apex first (the others keep their order, as before; the experts' labels: 80 and 76,
tests/test_mri_basal_rv.py). The viewer's slice strip names the base and the apex by the same rule.
`python -m app evaluate mri-seg --tag scan`, approach apex-first: RV EF -4.4 +- 10.2 (8.65) without the check,
-2.5 +- 10.0 (7.46) with it; base first, nothing moves.

Borderline calls. The nested cross-validation's folds chose 0.6-0.65 and 0.75-0.95: a basal slice that the most
permissive of those rules leaves out and the strictest keeps (SHRINK_BAND, TAPER_BAND) is within the rule's own
uncertainty, whichever way the fixed fractions decide. There a change of a few pixels flips a region that
holds a fifth to a third of the phase's RV volume: on the shipped members' cross-validation patient078's basal
slice tapers to 0.8475 of the slice below in bf16 and 0.8508 in float32, and its RV EF error is -8.3 or -20.1
points on a CPU with or without native bf16. Such a call at end-systole, whose RV volume is the RV ESV, is
reported (`borderline_rv`, a flag of that phase with the region's share of its RV) so that the reader checks
the tricuspid valve there, on whatever CPU.
Over the 80 cross-validated stacks, 10 basal end-systolic slices are borderline (float32: 9) and the rule
agrees with the expert there in 7 (5); elsewhere in 57 of 70 (58 of 71).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from app.analysis.rv import rv_outline
from app.analysis.volumes import stack_base_first

LV, RV = 1, 3
SHRINK_FRACTION = 0.6  # of the slice's end-diastolic RV area
TAPER_FRACTION = 0.85  # of the RV area on the next slice toward the apex, same phase
SHRINK_BAND = (0.6, 0.65)  # the shrink fractions the nested cross-validation's folds chose (borderline calls)
TAPER_BAND = (0.75, 0.95)  # and their taper fractions
BORDERLINE_WORDS = "is a borderline call"  # in the flag of a borderline call (app/workflow/rv_measure.py finds it)


@dataclass(frozen=True)
class AtrialRegion:
    """A basal RV region left out: slice (index in the stack) and phase indices, its area as a fraction of the
    same slice's end-diastolic RV and of the next slice's RV (toward the apex) at that phase; outline_px: its closed
    border (x, y pixels) as the network drew it (app.analysis.rv.rv_outline), for the viewer to show what was left
    out (set by without_atrial_rv)."""

    slice_index: int
    phase: int
    of_diastole: float
    of_next_slice: float
    outline_px: np.ndarray | None = field(default=None, compare=False, repr=False)

    def reason(self) -> str:
        """The flag of its phase, alike for every phase of one slice (the report lists a flag with its frames)."""
        return (f"RV of basal slice {self.slice_index + 1} left out as right atrium (it shrank below "
                f"{100 * SHRINK_FRACTION:.0f} % of its end-diastolic area and tapers toward the base)")


@dataclass(frozen=True)
class BasalRvCall:
    """The rule's call on one phase's most basal RV slice: slice (index in the stack) and phase, whether the
    region was left out as atrium or kept as ventricle, its area as fractions as in AtrialRegion, and its share
    of that phase's RV (the region's pixels over the phase's RV pixels with it)."""

    slice_index: int
    phase: int
    left_out: bool
    of_diastole: float
    of_next_slice: float
    share_of_phase_rv: float

    @property
    def borderline(self) -> bool:
        """Within the rule's uncertainty: left out by the most permissive fractions of the bands, kept by the
        strictest (see the module doc)."""
        permissive = self.of_diastole < SHRINK_BAND[1] and self.of_next_slice < TAPER_BAND[1]
        strict = self.of_diastole < SHRINK_BAND[0] and self.of_next_slice < TAPER_BAND[0]
        return permissive and not strict

    def reason(self) -> str:
        """The flag of its phase when borderline: what was decided, how much of the RV it holds, what to check."""
        call = "left out as right atrium" if self.left_out else "kept as ventricle"
        return (f"RV of basal slice {self.slice_index + 1} {call} {BORDERLINE_WORDS} (it holds "
                f"{100 * self.share_of_phase_rv:.0f} % of this phase's RV): check the tricuspid valve")


def base_first(labels: np.ndarray) -> bool:
    """Whether slice 0 of (S, T, H, W) labels is the base: app.analysis.volumes.stack_base_first of the LV pool
    areas at the phase where the pool is largest (see the module doc)."""
    lv_px = (labels == LV).sum(axis=(2, 3)).astype(np.float64)  # (S, T)
    return stack_base_first(lv_px[:, int(np.argmax(lv_px.sum(axis=0)))])


def atrial_regions(labels: np.ndarray) -> tuple[AtrialRegion, ...]:
    """(S, T, H, W) labels (0-3) -> the basal RV regions that are atrium (see the module doc), their slices
    indexed as in `labels` whichever end the base is (base_first)."""
    return tuple(AtrialRegion(c.slice_index, c.phase, c.of_diastole, c.of_next_slice)
                 for c in basal_calls(labels) if c.left_out)


def borderline_rv(labels: np.ndarray) -> tuple[BasalRvCall, ...]:
    """(S, T, H, W) labels (0-3, before the atrial regions are left out) -> the basal RV calls within the rule's
    uncertainty (SHRINK_BAND, TAPER_BAND) at end-systole, slices indexed as in `labels`. End-systole is the
    phase of the smallest LV pool, whose RV volume is the reported RV ESV (app/workflow/rv_measure.py: the
    LV's phases): a cine's other phases pass through the band on their way to systole and only shape the curve."""
    lv_px = (labels == LV).sum(axis=(0, 2, 3)) if labels.ndim == 4 else np.zeros(0)
    if not lv_px.any():
        return ()
    es = int(np.argmin(np.where(lv_px > 0, lv_px, np.iinfo(np.int64).max)))
    return tuple(c for c in basal_calls(labels) if c.borderline and c.phase == es)


def basal_calls(labels: np.ndarray) -> tuple[BasalRvCall, ...]:
    """Every phase's call on its most basal RV slice (left out or kept), slices indexed as in `labels`."""
    if labels.ndim != 4 or labels.shape[1] < 2:
        return ()
    if not base_first(labels):
        last = labels.shape[0] - 1
        return tuple(replace(c, slice_index=last - c.slice_index) for c in _basal_first_calls(labels[::-1]))
    return _basal_first_calls(labels)


def _basal_first_calls(labels: np.ndarray) -> tuple[BasalRvCall, ...]:
    """basal_calls of a stack whose slice 0 is the base."""
    rv_px = (labels == RV).sum(axis=(2, 3)).astype(np.float64)  # (S, T)
    ed = int(np.argmax((labels == LV).sum(axis=(0, 2, 3))))
    calls = []
    for t in range(labels.shape[1]):  # end-diastole itself: its RV is all of its end-diastolic RV, never less
        slices = np.flatnonzero(rv_px[:, t] > 0)
        if len(slices) < 2:
            continue
        s, below = int(slices[0]), int(slices[1])
        if rv_px[s, ed] <= 0:
            continue
        of_diastole, of_next = rv_px[s, t] / rv_px[s, ed], rv_px[s, t] / rv_px[below, t]
        left_out = bool(of_diastole < SHRINK_FRACTION and of_next < TAPER_FRACTION)
        calls.append(BasalRvCall(s, t, left_out, float(of_diastole), float(of_next),
                                  float(rv_px[s, t] / rv_px[:, t].sum())))
    return tuple(calls)


def without_atrial_rv(labels: np.ndarray) -> tuple[np.ndarray, tuple[AtrialRegion, ...]]:
    """(S, T, H, W) labels with the atrial RV regions set to background (a copy when any), and those regions."""
    regions = atrial_regions(labels)
    if not regions:
        return labels, ()
    out = labels.copy()
    outlined = []
    for region in regions:
        plane = out[region.slice_index, region.phase]
        outlined.append(replace(region, outline_px=rv_outline(plane)))
        plane[plane == RV] = 0
    return out, tuple(outlined)
