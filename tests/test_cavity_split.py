"""A cavity cut in two by a band of atrium (a degraded clinical clip's gross segmentation failure, issue 30:
CAMUS patient 297 as a 112 px export had its ED frames cut this way, monoplane EDV 0.5 ml and EF -2720 %) is
flagged "cavity-split", left out of the curve ED/ES come from, and never gives the EDV or ESV of a beat."""

from __future__ import annotations

import numpy as np
import pytest

from app.analysis.contours import extract_all, extract_contours
from app.workflow.analyze import measure
from tests.analysis_synth import half_ellipse_lv
from tests.test_pipeline_synthetic import beating_labels, recording_for

ATRIUM = 3


def cut(labels: np.ndarray, row: int, thickness_px: int = 6) -> np.ndarray:
    """The label map with a band of atrium across the cavity at `row` (the LV cut into an apical and a basal
    piece) and no other atrium: the band is the atrium (a stray band beside a larger atrium is an island, which
    contour extraction gives back to the cavity)."""
    out = np.where(labels == ATRIUM, 0, labels).astype(labels.dtype)
    band = out[row:row + thickness_px]
    band[band == 1] = ATRIUM
    return out


def test_a_cavity_cut_in_two_is_flagged_and_a_small_blob_is_not():
    lv = half_ellipse_lv((140, 120), 80, 26, base_row=110, cx=60, wall_px=6)
    assert "cavity-split" in extract_contours(cut(lv, 70), "long-axis").issues  # two pieces of similar size
    nick = lv.copy()
    nick[104:110][nick[104:110] == 1] = ATRIUM  # a sliver of the base, no second piece
    assert "cavity-split" not in extract_contours(nick, "long-axis").issues
    assert "cavity-split" not in extract_contours(lv, "long-axis").issues


def _split_at_ed():
    labels, _, ed, es = beating_labels()
    broken = labels.copy()
    for f in ed:
        broken[f] = cut(labels[f], 60)
    return labels, broken, tuple(ed), tuple(es)


def test_a_given_ed_on_a_split_frame_takes_the_volume_of_its_neighbours():
    """ED/ES given on the split frames themselves (as TempReg-Net gives them): before, EDV 0.0 ml and EF
    -105156 %; now EF 42.9 vs 44.0 % and EDV 7.1 vs 7.2 ml on the clean clip (interpolation across the peak)."""
    labels, broken, ed, es = _split_at_ed()
    clean = measure(recording_for(labels), extract_all(labels), ed_frames=ed, es_frames=es)
    m = measure(recording_for(broken), extract_all(broken), ed_frames=ed, es_frames=es)
    assert all("cavity-split" in m.quality[f] for f in ed)
    assert m.ef_pct == pytest.approx(clean.ef_pct, abs=1.5)  # measured 1.1
    assert m.edv_ml == pytest.approx(clean.edv_ml, rel=0.025)  # measured 1.5 %
    assert m.esv_ml == pytest.approx(clean.esv_ml, rel=0.005)  # ES frames untouched


def test_the_curve_never_puts_ed_on_a_split_frame():
    _, broken, ed, _ = _split_at_ed()
    m = measure(recording_for(broken), extract_all(broken))
    assert m.ed_frames and not set(m.ed_frames) & set(ed)
    assert all(any(abs(f - g) == 1 for g in ed) for f in m.ed_frames)  # the neighbour, not 2 frames away
    assert m.ef_pct == pytest.approx(44.0, abs=1.5)  # 43.1 measured, 44.0 on the clean clip
    assert not any("area-jump" in m.quality[f] for f in m.ed_frames)  # the split piece judges no neighbour
