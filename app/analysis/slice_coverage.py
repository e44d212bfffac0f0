"""Whether a short-axis stack covers the LV to its apex, from each slice's LV cavity area at end-diastole.

A CMR report says whether the stack runs from base to apex: slice summation counts no volume beyond the stack.
The rule looks at the two end slices of the stack at ED (which end is the apex: app.analysis.volumes.
stack_base_first, as the basal RV rule and the viewer's slice strip decide it), each as a fraction of the largest
slice's cavity area.

Apex. Toward the apex the cavity narrows to nothing: a stack that reaches it ends on a slice with a small cavity or
none (a myocardium-only cap, or beyond the heart). Modelled as a half prolate ellipsoid (an adult ED cavity about
80 mm from base to apex), a slice holding a fraction f of the largest area lies L(1 - sqrt(1 - f)) above the apex:
at f = APEX_OPEN_FRACTION (one half) about 23 mm, so with 10 mm slices some 18 mm of apex lies beyond the slab of
the last slice: a cap of (3/2)(h/L)^2 - (1/2)(h/L)^3, about 7 % of the EDV, left out, more than the inter-observer
variation of a CMR EDV (about 4 %). A stack whose apical slice holds that much cavity stops short of the apex; one
ending on a slice with less (the SCMR's most apical slice is the last with blood pool) loses a few ml at most.

Base. A stack planned from the mitral valve plane starts on a slice that holds the LV (76 of ACDC's 80 expert-
labelled stacks do), and the basal LV is nearly a cylinder: its areas cannot tell a stack that reaches the valve
plane from one that stops below it. The basal fraction is measured and shown, not judged; the SCMR
post-processing recommendations (Schulz-Menger et al., JCMR 2020;22:19) check the basal slice on long-axis views.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from app.analysis.volumes import stack_base_first

APEX_OPEN_FRACTION = 0.5  # apical slice cavity / largest slice's at ED from which the apex lies beyond the stack
MIN_SLICES = 3  # fewer slices are no stack to judge (and stack_base_first needs three with an LV)


@dataclass(frozen=True)
class SliceCoverage:
    """The stack's two end slices at ED: base_first (slice 0 is the base), the apical and basal end slices'
    cavity areas as fractions of the largest slice's (0.0: no cavity there), and the slices holding a cavity."""

    base_first: bool
    apical_fraction: float
    basal_fraction: float
    slices_with_lv: int
    n_slices: int

    @property
    def apex_cut(self) -> bool:
        """The apical end slice still holds APEX_OPEN_FRACTION of the largest cavity: the apex lies beyond it."""
        return self.apical_fraction >= APEX_OPEN_FRACTION

    def to_json_dict(self) -> dict[str, object]:
        return {"slice_order": "base first" if self.base_first else "apex first",
                "apical_slice_cavity_fraction": round(self.apical_fraction, 3),
                "basal_slice_cavity_fraction": round(self.basal_fraction, 3),
                "slices_with_lv": self.slices_with_lv, "slices": self.n_slices,
                "apex_covered": not self.apex_cut}


def slice_coverage(ed_areas: npt.ArrayLike) -> SliceCoverage | None:
    """The coverage of a stack from its (S,) LV cavity areas at ED in stack order (any unit; NaN or 0 where a slice
    holds no cavity); None for fewer than MIN_SLICES slices holding a cavity."""
    areas = np.nan_to_num(np.asarray(ed_areas, dtype=np.float64), nan=0.0)
    held = int((areas > 0).sum())
    if held < MIN_SLICES:
        return None
    fractions = areas / areas.max()
    base_first = stack_base_first(areas)
    basal, apical = (fractions[0], fractions[-1]) if base_first else (fractions[-1], fractions[0])
    return SliceCoverage(base_first, float(apical), float(basal), held, len(areas))
