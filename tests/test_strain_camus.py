"""Centerlines on real CAMUS A4C expert masks (skips without ../shared/data)."""

from __future__ import annotations

import numpy as np

from app.analysis.centerline import centerline_from_labels
from app.analysis.strain import arc_lengths_mm


def test_centerline_on_camus_masks_gives_plausible_ed_to_es_shortening(shared_data):
    folder = shared_data / "camus_a4c" / "valid"
    strains = []
    for path in sorted(folder.glob("patient*_4CH.npz"))[:12]:
        with np.load(path) as d:
            ed, es = centerline_from_labels(d["ed_gt"]), centerline_from_labels(d["es_gt"])
            spacing = tuple(float(s) for s in d["spacing_mm"])
        assert ed.points_px.shape == (120, 2)
        assert ed.points_px[0, 0] < ed.points_px[-1, 0]  # left annulus first
        apex_row = ed.points_px[:, 1].min()
        assert apex_row < min(ed.points_px[0, 1], ed.points_px[-1, 1]) - 40  # apex above the base (depth)
        lengths = arc_lengths_mm(np.stack([ed.points_px, es.points_px]), spacing)
        assert 60.0 < lengths[0] < 260.0  # mm of midwall from annulus to annulus
        strains.append(100.0 * (lengths[1] / lengths[0] - 1.0))
    strains = np.array(strains)
    assert np.all(strains < 5.0) and np.all(strains > -35.0)
    assert -22.0 < np.median(strains) < -6.0  # longitudinal shortening from ED to ES
