"""`evaluate echo-seg` scoring helpers: the monoplane EF check against expert masks."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

from app.data.recording import Recording, uniform_frame_times  # noqa: E402
from lab.evaluation.echo_seg import LabelledClip, disks_volume_ml, ef_check, truth_flicker  # noqa: E402


def _lv(shape, centre, axes) -> np.ndarray:
    """A half-ellipse LV (apex at the top) with a myocardial rim and an LA below the base."""
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    cy, cx = centre
    ry, rx = axes
    inside = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1
    wall = ((yy - cy) / (ry + 5)) ** 2 + ((xx - cx) / (rx + 5)) ** 2 <= 1
    labels = np.zeros(shape, np.uint8)
    labels[wall & (yy <= cy)] = 2
    labels[inside & (yy <= cy)] = 1
    labels[(yy > cy) & (yy < cy + 25) & (np.abs(xx - cx) < rx)] = 3
    return labels


def _clip(ed, es) -> LabelledClip:
    frames = np.zeros((2, *ed.shape), np.uint8)
    rec = Recording(frames=frames, spacing_mm=(0.5, 0.5), frame_times_s=uniform_frame_times(2, 30.0),
                    modality="echo", view="a4c")
    return LabelledClip("x", rec, np.stack([ed, es]), (0, 1), (0, 1), (0, 1))


def test_disks_volume_grows_with_the_cavity():
    small = disks_volume_ml(_lv((200, 160), (120, 80), (60, 25)), (0.5, 0.5))
    large = disks_volume_ml(_lv((200, 160), (120, 80), (80, 35)), (0.5, 0.5))
    assert small is not None and large is not None and large > 1.8 * small


def test_ef_check_is_zero_for_the_reference_and_negative_for_a_stiff_prediction():
    ed, es = _lv((200, 160), (120, 80), (80, 35)), _lv((200, 160), (120, 80), (65, 27))
    clip = _clip(ed, es)
    err, edv_err, esv_err = ef_check(np.stack([ed, es]), clip)
    assert abs(err) < 1e-6 and abs(edv_err) < 1e-6 and abs(esv_err) < 1e-6
    stiff = _lv((200, 160), (120, 80), (72, 31))  # ES drawn too large: EF under-estimated
    err, _, esv_err = ef_check(np.stack([ed, stiff]), clip)
    assert err < -5 and esv_err > 10


def test_truth_flicker_is_zero_for_a_still_clip():
    ed = _lv((200, 160), (120, 80), (80, 35))
    clip = _clip(ed, ed)
    assert truth_flicker([clip])["mfip"] == 0.0 and truth_flicker([clip])["reversals"] == 0.0


def test_store_in_metadata_merges_rows_per_approach(tmp_path, monkeypatch):
    import json

    from lab.evaluation.echo_seg import store_in_metadata

    monkeypatch.setenv("CARDIOTRACE_MODELS_DIR", str(tmp_path / "models"))
    folder = tmp_path / "lab" / "notes"  # the lab record beside the models folder, never the shipped card
    folder.mkdir(parents=True)
    old = {"validation_metrics": {"camus_valid_cycles": {"temporal": {"mfip": 0.01}}}, "validation_command": "old run"}
    (folder / "echo_seg_temporal.json").write_text(json.dumps(old))
    store_in_metadata({"camus_valid_cycles": {"temporal+h2": {"mfip": 0.009}}}, "new run")
    meta = json.loads((folder / "echo_seg_temporal.json").read_text())
    assert not (tmp_path / "models").exists()
    assert meta["validation_metrics"]["camus_valid_cycles"] == {
        "temporal": {"mfip": 0.01},
        "temporal+h2": {"mfip": 0.009},
    }
    assert meta["validation_commands"] == {"temporal": "old run", "temporal+h2": "new run"}


def test_a_run_of_one_model_leaves_the_others_record_alone(tmp_path, monkeypatch):
    """The phantom truth rows belong to both models' tables: a run of U-Net approaches only must not touch the
    ConvLSTM's record (it wrote empty degraded datasets and its last command there)."""
    import json

    from lab.evaluation.echo_seg import store_in_metadata

    monkeypatch.setenv("CARDIOTRACE_MODELS_DIR", str(tmp_path / "models"))
    folder = tmp_path / "lab" / "notes"
    folder.mkdir(parents=True)
    old = {"validation_metrics": {"phantom_cycles": {"temporal": {"mfip": 0.01}}}, "validation_command": "old run"}
    for name in ("echo_seg_temporal", "echo_seg_base"):
        (folder / f"{name}.json").write_text(json.dumps(old))
    store_in_metadata({"phantom_cycles": {"base": {"mfip": 0.02}, "truth": {"mfip": 0.008}},
                       "camus_valid_cycles_112px": {"base": {"mfip": 0.03}}}, "base run")
    assert json.loads((folder / "echo_seg_temporal.json").read_text()) == old
    base = json.loads((folder / "echo_seg_base.json").read_text())
    assert base["validation_metrics"]["phantom_cycles"]["truth"] == {"mfip": 0.008}
    assert base["validation_metrics"]["camus_valid_cycles_112px"] == {"base": {"mfip": 0.03}}


def test_phase_figures_find_an_end_systolic_cavity_drawn_too_large():
    from lab.evaluation.echo_phase import phase_figures, phase_row

    ed, es = _lv((200, 160), (120, 80), (80, 35)), _lv((200, 160), (120, 80), (65, 27))
    clip = _clip(ed, es)
    exact = phase_figures([phase_row(np.stack([ed, es]), clip)] * 2)
    assert exact["area_ratio_ed"] == exact["area_ratio_es"] == exact["es_ed_area_vs_expert"] == 1.0
    assert exact["ef_pts_bias"] == 0.0 and exact["esv_ml_mae"] == 0.0 and exact["phase_n"] == 2
    stiff = phase_figures([phase_row(np.stack([ed, _lv((200, 160), (120, 80), (69, 29))]), clip)])
    assert stiff["area_ratio_ed"] == 1.0 and stiff["area_ratio_es"] > 1.1 and stiff["es_ed_area_vs_expert"] > 1.1
    assert stiff["vol_ratio_es"] > 1.15 and stiff["esv_ml_bias"] > 0 and -20 < stiff["ef_pts_bias"] < -5
    assert stiff["ef_pts_mae"] == -stiff["ef_pts_bias"]


def test_degraded_clip_carries_the_expert_labels_onto_the_small_grid():
    from lab.evaluation.echo_phase import degraded_clip, phase_figures, phase_row

    ed, es = _lv((200, 160), (120, 80), (80, 35)), _lv((200, 160), (120, 80), (65, 27))
    small = degraded_clip(_clip(ed, es), 112)
    assert small.recording.image_shape == (112, 112) and small.annotations.shape == (2, 112, 112)
    assert small.recording.spacing_mm[0] > 0.5
    # the original labels, degraded the same way, score as the expert: ratios 1, no EF error
    figures = phase_figures([phase_row(small.annotations, small)])
    assert figures["area_ratio_es"] == 1.0 and figures["ef_pts_bias"] == 0.0


def test_a_gross_failure_is_counted_apart_from_the_phase_figures():
    from lab.evaluation.echo_phase import PhaseRow, phase_figures

    good = PhaseRow(1000.0, 600.0, 1000.0, 600.0, 100.0, 40.0, 100.0, 40.0)
    broken = PhaseRow(1000.0, 600.0, 1000.0, 600.0, 0.5, 13.7, 100.0, 40.0)  # EDV 0.5 ml: EF -2640 %
    figures = phase_figures([good, good, broken])
    assert figures["phase_n"] == 2 and figures["phase_gross_n"] == 1 and figures["ef_pts_bias"] == 0.0


def test_a_reduced_ef_read_high_and_a_normal_one_read_low_show_by_band_though_the_overall_bias_is_zero():
    """CAMUS valid: overall EF bias -0.2, but +4.1 where the expert's EF is below 40 % (session 46)."""
    from lab.evaluation.echo_phase import PhaseRow, format_phase_table, phase_figures

    def row(ref_ef: float, ours_ef: float) -> PhaseRow:
        return PhaseRow(1000.0, 600.0, 1000.0, 600.0, 100.0, 100.0 - ours_ef, 100.0, 100.0 - ref_ef)

    rows = [row(30.0, 35.0), row(35.0, 40.0), row(45.0, 45.0), row(60.0, 55.0), row(65.0, 60.0)]
    figures = phase_figures(rows)
    assert abs(figures["ef_pts_bias"]) < 1e-9
    assert (figures["ef_lt40_n"], figures["ef_lt40_bias"], figures["ef_lt40_mae"]) == (2, 5.0, 5.0)
    assert (figures["ef_40_49_n"], figures["ef_40_49_bias"]) == (1, 0.0)
    assert (figures["ef_ge50_n"], figures["ef_ge50_bias"]) == (2, -5.0)
    assert figures["ef_slope"] < 0.8  # pulled towards the middle
    table = format_phase_table({"camus": {"base": figures}})
    assert "EF error by the expert's EF" in table and "ef_lt40_bias" in table
    exact = phase_figures([row(e, e) for e in (30.0, 45.0, 60.0)])
    assert exact["ef_slope"] == 1.0 and exact["ef_lt40_bias"] == 0.0


def test_banded_by_our_ef_an_expert_s_own_scatter_shows_no_bias_where_banded_by_theirs_it_does():
    """Our EF exact, the expert's scattered +-6 points about it: by the expert's bands the low band reads high and the
    high band low (regression to the mean, session 50); by our bands, as a report's reader sees them, no bias."""
    from lab.evaluation.echo_phase import PhaseRow, format_phase_table, phase_figures

    def row(ref_ef: float, ours_ef: float) -> PhaseRow:
        return PhaseRow(1000.0, 600.0, 1000.0, 600.0, 100.0, 100.0 - ours_ef, 100.0, 100.0 - ref_ef)

    truth = (30.0, 30.0, 45.0, 45.0, 60.0, 60.0)
    rows = [row(t + d, t) for t, d in zip(truth, (-6.0, 6.0, -6.0, 6.0, -6.0, 6.0), strict=True)]
    figures = phase_figures(rows)
    assert (figures["ef_lt40_n"], figures["ef_lt40_bias"]) == (3, 2.0)  # expert 24, 36, 39: ours 30, 30, 45
    assert (figures["ef_ge50_n"], figures["ef_ge50_bias"]) == (3, -2.0)
    assert (figures["ours_lt40_n"], figures["ours_lt40_bias"], figures["ours_lt40_mae"]) == (2, 0.0, 6.0)
    assert (figures["ours_40_49_n"], figures["ours_40_49_bias"]) == (2, 0.0)
    assert (figures["ours_ge50_n"], figures["ours_ge50_bias"]) == (2, 0.0)
    assert figures["ef_slope"] < 0.9 and figures["ef_slope_expert_on_ours"] == 1.0
    table = format_phase_table({"camus": {"base": figures}})
    assert "EF error by our EF" in table and "ours_lt40_bias" in table


def test_our_volume_of_a_split_frame_is_its_neighbours_as_the_app_measures_it():
    """A frame whose cavity a band of atrium cut in two (CAMUS patient 297 at 112 px: 0.03 ml where its
    neighbours hold 2-3 ml) is measured as the app measures it: the mean of the nearest unsplit frames."""
    from lab.evaluation.echo_phase import disks_volume_ml, our_volume_ml
    from tests.analysis_synth import half_ellipse_lv
    from tests.test_cavity_split import cut

    sizes = (70, 74, 78, 80, 78)
    labels = np.stack([half_ellipse_lv((140, 120), a, 26, base_row=110, cx=60, wall_px=6) for a in sizes])
    labels[3] = cut(labels[3], 60)
    sp = (0.4, 0.4)
    assert disks_volume_ml(labels[3], sp) < 0.5 * disks_volume_ml(labels[2], sp)
    assert our_volume_ml(labels, 3, sp) == pytest.approx(
        (disks_volume_ml(labels[2], sp) + disks_volume_ml(labels[4], sp)) / 2
    )
    assert our_volume_ml(labels, 1, sp) == disks_volume_ml(labels[1], sp)


def _run(errors: dict[str, float]) -> dict:
    """A results file of one dataset and approach whose patients have these EF errors (points)."""
    rows = [{"patient": p, "edv_ml": 100.0, "ref_edv_ml": 100.0, "esv_ml": 40.0, "ref_esv_ml": 40.0,
             "ef_pct": 60.0 + e, "ref_ef_pct": 60.0} for p, e in errors.items()]
    return {"camus_valid_cycles": {"base": {"ef_mae_pts": 1.0, "patients": rows}}}


def test_agreement_tells_errors_that_belong_to_the_patients_from_a_changed_network():
    from lab.evaluation.patient_agreement import agreement, format_agreement

    before = _run({"p1": -8.0, "p2": 3.0, "p3": 10.0, "p4": -1.0})
    same_patients = agreement(_run({"p1": -7.0, "p2": 2.5, "p3": 9.0, "p4": -1.5, "p5": 30.0}), before)
    assert len(same_patients) == 1
    row = same_patients[0]
    assert row.n_patients == 4 and row.error_correlation > 0.95  # p5 is in one run only: left out
    assert row.previous_mae == 5.5 and row.mae == 5.0 and (row.n_better, row.n_worse) == (3, 1)
    assert row.mae_change_ci[0] < -0.5 < row.mae_change_ci[1]  # the mean change lies in its interval
    assert row.most_changed[0][0] in {"p1", "p3"} and row.quantity == "ef_pct"
    changed = agreement(_run({"p1": 8.0, "p2": -3.0, "p3": -10.0, "p4": 1.0}), before)[0]
    assert changed.error_correlation < -0.95 and changed.mae == changed.previous_mae  # same sizes, other signs
    assert "-0.00 [" in format_agreement([changed]) or "+0.00 [" in format_agreement([changed])
    assert agreement({"camus_valid_cycles": {"base": {"ef_mae_pts": 1.0}}}, before) == []  # no patient rows


def test_mri_agreement_compares_each_approach_and_quantity_per_patient():
    from lab.evaluation.patient_agreement import format_agreement, mri_agreement

    def summary(lv_ef_errors: list[float], degrade: str = "") -> dict:
        rows = [{"patient": f"patient{i:03d}", "approach": approach, "ours": {"lv_ef_pct": 55.0 + e, "rv_ef_pct": 50.0},
                 "reference": {"lv_ef_pct": 55.0, "rv_ef_pct": 50.0 + e / 2}}
                for approach in ("clean", "raw") for i, e in enumerate(lv_ef_errors)]
        return {"degrade": degrade, "patients": rows}

    found = mri_agreement(summary([1.0, -6.0, 3.0, 9.0, -2.0], "all"), summary([2.0, -5.0, 2.0, 1.0, -2.5]))
    assert [(a.dataset, a.approach, a.quantity) for a in found] == [
        ("acdc (all)", "clean", "lv_ef_pct"), ("acdc (all)", "clean", "rv_ef_pct"),
        ("acdc (all)", "raw", "lv_ef_pct"), ("acdc (all)", "raw", "rv_ef_pct")]
    lv = found[0]
    assert lv.n_patients == 5 and lv.mae == 4.2 and lv.previous_mae == 2.5
    assert lv.most_changed[0] == ("patient003", 9.0, 1.0) and (lv.n_better, lv.n_worse) == (2, 3)
    assert "patient003 +9.0 / +1.0" in format_agreement(found)


def test_the_lab_record_keeps_the_aggregate_figures_without_the_patients(tmp_path, monkeypatch):
    import json

    from lab.evaluation.echo_seg import store_in_metadata

    monkeypatch.setenv("CARDIOTRACE_MODELS_DIR", str(tmp_path / "models"))
    folder = tmp_path / "lab" / "notes"
    folder.mkdir(parents=True)
    (folder / "echo_seg_base.json").write_text(json.dumps({"validation_metrics": {}}))
    store_in_metadata(_run({"p1": 1.0, "p2": -1.0, "p3": 2.0}), "base run")
    meta = json.loads((folder / "echo_seg_base.json").read_text())
    assert meta["validation_metrics"]["camus_valid_cycles"]["base"] == {"ef_mae_pts": 1.0}


def test_compare_with_a_missing_file_is_one_clear_line(tmp_path):
    from lab.evaluation.echo_seg import main

    with pytest.raises(SystemExit, match="cannot read the results to compare with"):
        main(["--compare-with", str(tmp_path / "nope.json"), "--limit", "1"])


def test_a_limited_run_does_not_overwrite_the_lab_record():
    from lab.evaluation.echo_seg import main

    with pytest.raises(SystemExit, match="drop --limit"):
        main(["--limit", "3", "--update-metadata"])
