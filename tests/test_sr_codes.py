"""The SR's concept and method codes say what was measured: a cine MR stack's volumes by slice summation carry
CID 7474's MR/CT volume method, not the echo "Modified Simpson"; a GLS is a view's, the study's multiview mean, or,
for one clip whose view nobody set, a peak longitudinal strain (not a "multiview mean" of one clip)."""

from __future__ import annotations

import numpy as np
import pytest

from app.report.build import measurement_rows
from app.report.dicom_sr import _method, concept
from app.report.model import MeasurementRow
from app.workflow.results import Measurements


def _mri_rows() -> dict[str, MeasurementRow]:
    m = Measurements(view="sax", n_frames=2, ed_frames=[0], es_frames=[1], beats=[], heart_rate_bpm=None,
                     volume_curve_ml=np.array([150.0, 60.0]), area_curve_px2=np.array([900.0, 500.0]),
                     edv_ml=150.0, esv_ml=60.0, sv_ml=90.0, ef_pct=60.0, method="slice-summation", calibrated=True,
                     rv_edv_ml=160.0, rv_esv_ml=70.0, rv_sv_ml=90.0, rv_ef_pct=56.3)
    return {r.key: r for r in measurement_rows(m, "mri", None)}


@pytest.mark.parametrize("key", ["edv_ml", "esv_ml", "ef_pct", "rv_edv_ml", "rv_ef_pct"])
def test_a_stacks_slice_summation_volumes_carry_the_mr_volume_method(key):
    row = _mri_rows()[key]
    assert row.method.startswith("slice summation")  # what the report prints
    code = _method(row)
    assert (code.value, code.scheme_designator) == ("122503", "DCM")
    assert "contiguous slices" in code.meaning


def test_an_echo_disks_volume_keeps_its_echo_method():
    row = MeasurementRow("edv_ml", "EDV", 120.0, "ml", method="disks, monoplane")
    assert _method(row).value == "125208"


@pytest.mark.parametrize(("view", "code"), [("a4c", "130691"), ("a2c", "130692"), ("a3c", "130693"),
                                            ("study", "130690"), ("unknown", "130671"), ("", "130671")])
def test_a_gls_is_coded_as_what_it_is(view, code):
    name = concept("gls_pct", "echo", view)
    assert (name.value, name.scheme_designator) == (code, "DCM")
    if view in ("unknown", ""):
        assert "Multiview" not in name.meaning
