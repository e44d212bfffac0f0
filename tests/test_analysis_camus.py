"""Contours and volumes on real expert CAMUS A4C masks (skipped without ../shared/data)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage
from scipy.ndimage import map_coordinates

from app.analysis.contours import extract_contours, polygon_area_px2, to_mm
from app.analysis.volumes import method_of_disks

N_PATIENTS = 25


def _sampled_disks_ml(cavity, base_xy, apex_xy, spacing):
    """Independent disks: sample the mask along each disk line (bilinear > 0.5), geometry in mm."""
    scale = np.array([spacing[1], spacing[0]])  # (x, y) mm per pixel
    base, apex = base_xy * scale, apex_xy * scale
    axis = apex - base
    length = float(np.linalg.norm(axis))
    e = axis / length
    n = np.array([-e[1], e[0]])
    step = 0.02
    s = np.arange(-100.0, 100.0, step)
    total = 0.0
    for k in range(20):
        centre = base + e * length * (k + 0.5) / 20
        pts = (centre[None, :] + s[:, None] * n[None, :]) / scale
        inside = map_coordinates(cavity.astype(np.float32), [pts[:, 1], pts[:, 0]], order=1) > 0.5
        total += (inside.sum() * step) ** 2
    return np.pi / 4 * total * length / 20 / 1000


@pytest.fixture(scope="module")
def camus(shared_data):
    files = sorted((shared_data / "camus_a4c" / "valid").glob("*.npz"))[:N_PATIENTS]
    if not files:
        pytest.skip("no CAMUS files in the shared data")
    return [dict(np.load(f)) for f in files]


def test_expert_masks_give_plausible_borders_and_volumes(camus):
    edv, esv = [], []
    for case in camus:
        sp = tuple(float(s) for s in case["spacing_mm"])
        for key, out in (("ed_gt", edv), ("es_gt", esv)):
            labels = case[key]
            c = extract_contours(labels)
            assert c is not None and c.epi_px is not None and c.la_px is not None
            cavity = labels == 1
            assert polygon_area_px2(c.endo_px) == pytest.approx(cavity.sum(), rel=0.03)
            # each annulus point lies where cavity, myocardium and atrium meet
            for value in (2, 3):
                dist = ndimage.distance_transform_edt(labels != value)
                for x, y in c.annulus_px:
                    assert dist[int(round(y)), int(round(x))] <= 2.5, (key, value, (x, y))
            # the apex is the top of the cavity (probe at the top), far from the base
            assert c.apex_px[1] < c.annulus_px[:, 1].min()
            d = method_of_disks(to_mm(c.endo_px, sp), to_mm(c.base_mid_px, sp), to_mm(c.apex_px, sp))
            ref = _sampled_disks_ml(cavity, c.base_mid_px, c.apex_px, sp)
            assert d.volume_ml == pytest.approx(ref, rel=0.03)
            out.append(d.volume_ml)
    edv, esv = np.array(edv), np.array(esv)
    assert np.all((edv > 20) & (edv < 350))
    assert np.mean(edv > esv) >= 0.9
    ef = 100 * (edv - esv) / edv
    assert 30 < np.median(ef) < 70
