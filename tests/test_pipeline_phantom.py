"""The pipeline on the phantom with its truth labels injected as the segmenter (no model needed).

Tolerances are the measured error on these exact labels plus a stated margin (issue 36), so a 1-point EF or a
2 % volume regression fails: volume by disks within 2.5 % of truth.volume_ml every frame (measured max 2.0 %),
EDV / ESV within 1 / 1.5 %, EF within 1 point (measured 0.61), ED/ES within one frame (measured: one ES of
the A2C clip), annulus and apex within 2.5 px of the truth, biplane EF/EDV from A4C + A2C, MRI slice
summation (volumes 0.5 %, EF 0.3 points, mass 0.5 %).
"""

from __future__ import annotations

import numpy as np
import pytest

from app.data import phantom
from app.tasks import run_task
from app.workflow.analyze import analyze_recording
from app.workflow.study_result import compose_study
from lab.evaluation.seg_metrics import dice
from tests.analysis_synth import PHANTOM_HR_BPM, PHANTOM_VIEWS, phantom_echo

VOLUME_TOLERANCE = 0.025  # relative, every frame; measured max 0.020 (A4C), 0.015 (A2C)


@pytest.fixture(scope="module")
def echo_cases():
    return {v: phantom_echo(v) for v in PHANTOM_VIEWS}


@pytest.fixture(scope="module")
def analyses(echo_cases):
    return {v: run_task(analyze_recording(c.recording, segmenter=lambda r, _t=c.truth: _t))
            for v, c in echo_cases.items()}


def _frames_close(found, truth):
    return len(found) == len(truth) and all(abs(a - b) <= 1 for a, b in zip(found, truth, strict=False))


@pytest.mark.parametrize("view", ["a4c", "a2c"])
def test_echo_phantom_ed_es_ef_volumes(view, echo_cases, analyses):
    truth = echo_cases[view].truth
    m = analyses[view].measurements
    assert _frames_close(m.ed_frames, truth.ed_frames), (m.ed_frames, truth.ed_frames)
    assert _frames_close(m.es_frames, truth.es_frames), (m.es_frames, truth.es_frames)
    true_edv = float(np.mean([truth.volume_ml[f] for f in truth.ed_frames]))
    true_esv = float(np.mean([truth.volume_ml[f] for f in truth.es_frames]))
    true_ef = 100 * (true_edv - true_esv) / true_edv
    assert m.ef_pct == pytest.approx(true_ef, abs=1.0)  # measured +0.61 (A4C), +0.03 (A2C)
    assert m.edv_ml == pytest.approx(true_edv, rel=0.01)  # measured +0.48 % (A4C), +0.25 % (A2C)
    assert m.esv_ml == pytest.approx(true_esv, rel=0.015)  # measured -0.96 % (A4C), +0.18 % (A2C)
    np.testing.assert_allclose(m.volume_curve_ml, truth.volume_ml, rtol=VOLUME_TOLERANCE)
    assert m.heart_rate_bpm == pytest.approx(PHANTOM_HR_BPM, abs=0.5)  # measured 72.0 exactly; one frame off is 2.8
    assert m.flagged_frames == ()


def test_echo_phantom_annulus_and_apex_match_truth(echo_cases, analyses):
    truth = echo_cases["a4c"].truth
    contours = analyses["a4c"].contours
    for t in (truth.ed_frames[0], truth.es_frames[0]):
        c = contours[t]
        np.testing.assert_allclose(c.annulus_px, truth.annulus_px[t][:, ::-1], atol=2.5)
        np.testing.assert_allclose(c.apex_px, truth.apex_px[t][::-1], atol=2.5)


def test_echo_phantom_biplane(echo_cases, analyses):
    study = compose_study([analyses["a4c"], analyses["a2c"]]).measurements
    bi = study.biplane
    assert bi is not None
    assert bi.ef_pct == pytest.approx(100 * (130 - 55) / 130, abs=0.8)  # measured +0.37
    assert bi.edv_ml == pytest.approx(130, rel=0.01)  # measured +0.48 %
    assert bi.esv_ml == pytest.approx(55, rel=0.01)  # measured -0.40 %


def test_mri_phantom_slice_summation():
    params = phantom.MriPhantomParams(heart=phantom.HeartParams(edv_ml=150, esv_ml=70), n_phases=14, n_slices=6,
                                      slice_spacing_mm=14.0, pixel_mm=2.0, image_px=96)
    case = phantom.make_mri(params, seed=3)
    result = run_task(analyze_recording(case.recording, segmenter=lambda r: case.truth))
    m = result.measurements
    truth = case.truth
    assert m.method == "slice-summation"
    np.testing.assert_allclose(m.volume_curve_ml, truth.volume_ml, rtol=0.005)  # measured max 0.18 %
    assert m.ed_frames == truth.ed_frames and m.es_frames == truth.es_frames  # measured: exact
    true_ef = 100 * (1 - truth.volume_ml[truth.es_frames[0]] / truth.volume_ml[truth.ed_frames[0]])
    assert m.ef_pct == pytest.approx(true_ef, abs=0.3)  # measured +0.04
    # mass = 1.05 g/ml x the myocardium of the ED labels, counted voxel by voxel (measured: equal to 1e-4)
    voxel_ml = np.prod(truth.spacing_mm) * truth.slice_spacing_mm / 1000
    myo_ml = (truth.labels[:, truth.ed_frames[0]] == 2).sum() * voxel_ml
    assert m.lv_mass_g == pytest.approx(1.05 * myo_ml, rel=0.005)


def _shipped_on_phantom(seed: int):
    from app.ml.mri_inference import segment_stack

    params = phantom.MriPhantomParams(heart=phantom.HeartParams(edv_ml=120, esv_ml=50), n_phases=12)
    case = phantom.make_mri(params, seed=seed)
    return list(segment_stack(case.recording))[-1].labels, case.truth.labels


def test_mri_phantom_segmented_by_the_shipped_model_where_the_lv_is():
    """The shipped network (trained on ACDC only) end to end on a phantom stack: where the phantom has an LV the
    pool is found (measured: mean 2D Dice 0.895, the worst slice-phase 0.62, seeds 0 and 3)."""
    labels, truth = _shipped_on_phantom(seed=0)
    has_lv = (truth == 1).any(axis=(2, 3))
    scores = [dice(labels[s, t], truth[s, t], 1) for s, t in zip(*np.nonzero(has_lv), strict=False)]
    assert np.mean(scores) > 0.86 and np.min(scores) > 0.5


@pytest.mark.xfail(strict=True, reason="known limitation of the ACDC-trained model on the phantom: the phantom's "
                   "atrium above the base is a bright pool inside a full ring of myocardial intensity and is called LV "
                   "(24 % of the pool outside the true LV, phantom EF 25 vs 59 %); on real basal slices (ACDC 5-fold "
                   "cross-validation) the LV end-systolic volume bias is -1.1 ml. The basal-slice rule that hid it "
                   "for the crop model costs real data EF accuracy (ACDC LV EF error 3.75 -> 4.29 points)")
def test_mri_phantom_segmented_by_the_shipped_model_finds_no_lv_above_the_base_or_below_the_apex():
    """The shipped network end to end on a full short-axis stack, which reaches past the base (the atrium at
    end-systole) and the apex: those slices hold no LV, so slice summation gives the true EF."""
    labels, truth = _shipped_on_phantom(seed=0)
    no_lv = ~(truth == 1).any(axis=(2, 3))  # (slice, phase) without LV
    assert no_lv.sum() >= 10
    assert (labels[no_lv] == 1).sum() < 0.08 * (labels == 1).sum()
    area = (labels == 1).sum(axis=(0, 2, 3)).astype(float)
    true_area = (truth == 1).sum(axis=(0, 2, 3)).astype(float)
    ef, true_ef = 100 * (1 - area.min() / area.max()), 100 * (1 - true_area.min() / true_area.max())
    assert ef == pytest.approx(true_ef, abs=4.0)
