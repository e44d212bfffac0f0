"""A reopened study reports the strain that was signed: the segment peaks (they had become each curve's lowest
value over the whole clip, diastole included: -17.0 -> -19.7 % on a demo segment), the segments whose tracking
failed, and that the strain was re-tracked on the edited contours (both notes had gone)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from app.analysis.strain import StrainResult
from app.report.strain_view import strain_section
from app.workflow.edits import EdEsEdit
from app.workflow.reopen import restore_into
from app.workflow.saved_strain import strain_from_json, strain_to_json
from app.workflow.study import StudyState
from tests.ui_fixtures import area_measure, fake_analysis, synthetic_echo  # noqa: F401

NAMES = ("basal_inferoseptal", "mid_inferoseptal", "apical_septal", "apical_lateral", "mid_anterolateral",
         "basal_anterolateral")


def _strain(n_frames: int) -> StrainResult:
    t = np.arange(n_frames)
    systole = -18.0 * np.sin(np.pi * np.clip(t / 6.0, 0, 1))  # peak at frame 3 of the beat 0..6
    segments = np.repeat(systole[:, None], 6, axis=1)
    segments[-1, 5] = -25.0  # a dip after the beat (diastole, or noise): not the systolic peak
    return StrainResult(
        gls_pct=-18.0, strain_curve_pct=systole, segmental_strain_pct=segments,
        segment_peak_pct=(-18.0,) * 6, segment_names=NAMES, strain_quality=(0.9, 0.9, 0.9, 0.9, 0.9, 0.2),
        segment_ok=(True,) * 5 + (False,), tracking_error_mm=(0.5,) * 6, centerline_px=np.zeros((n_frames, 120, 2)),
        ed_frames=(0,), motion="classical-dis", view="a4c")


def test_the_saved_strain_keeps_the_peaks_the_quality_and_the_method():
    strain = _strain(12)
    saved = strain_from_json(json.loads(json.dumps(strain_to_json(strain, retracked=True))))
    assert saved.segment_peak_pct == pytest.approx(strain.segment_peak_pct)
    assert strain_section(saved).segment_peak_pct == strain_section(strain).segment_peak_pct
    assert strain_section(saved).segment_peak_pct[5] == pytest.approx(-18.0)  # not the -25 dip
    assert saved.low_quality_segments == ("basal_anterolateral",) and saved.strain_quality[5] == pytest.approx(0.2)
    assert saved.motion == "classical-dis" and saved.retracked


def test_a_reopened_study_knows_its_strain_was_re_tracked_on_the_edits():
    rec, labels = synthetic_echo(n_frames=12)
    study = StudyState(measure_fn=area_measure, biplane_fn=None)
    study.add_recording(rec)
    study.set_analysis(0, fake_analysis(labels, ed_frames=(0,), es_frames=(6,)))
    st = study[0]
    assert not st.strain_retracked
    EdEsEdit(0, (0,), (5,)).apply(study)
    study.set_strain(0, _strain(12))  # what the viewer's re-tracking brings
    assert st.strain_retracked
    data = json.loads(json.dumps(study.to_json(0)))
    again = StudyState(measure_fn=area_measure, biplane_fn=None)
    again.add_recording(rec)
    restore_into(again[0], data, area_measure)
    assert again[0].strain is again[0].analysis.strain  # one strain after a reopen ...
    assert again[0].strain_retracked  # ... which the file says was re-tracked
    assert again[0].strain.low_quality_segments == ("basal_anterolateral",)
