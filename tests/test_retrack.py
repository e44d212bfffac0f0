"""Strain re-tracked on edited contours (Qt-free) and the study's GLS per view and mean."""

from __future__ import annotations

import types

import numpy as np
import pytest

from app.workflow.edits import ContourEdit
from app.workflow.retrack import can_retrack, retrack_input, retrack_strain
from app.workflow.study import StudyState
from tests.ui_fixtures import area_measure, fake_analysis, synthetic_echo


@pytest.fixture
def study():
    rec, labels = synthetic_echo(n_frames=16)
    s = StudyState(measure_fn=area_measure, biplane_fn=None)
    s.add_recording(rec)
    analysis = fake_analysis(labels, ed_frames=(0,), es_frames=(8,))
    analysis.labels = labels
    s.set_analysis(0, analysis)
    return s, labels


def _strain(job):
    return [x for x in retrack_strain(job) if hasattr(x, "gls_pct")][0]


def test_without_edits_the_labels_are_the_analysis_own_and_an_ed_edit_changes_gls(study):
    s, labels = study
    st = s[0]
    assert can_retrack(st)
    plain = retrack_input(st)
    assert plain.edited_frames == () and plain.labels() is labels
    gls0 = _strain(plain).gls_pct
    old = st.contour((0, 0), "endo")
    inward = old.with_points(old.points_px + 0.12 * (old.points_px.mean(axis=0) - old.points_px))
    ContourEdit(0, (0, 0), "endo", inward, old).apply(s)
    job = retrack_input(st)
    drawn = job.labels()
    assert job.edited_frames == (0,) and np.array_equal(drawn[1:], labels[1:])
    assert (drawn[0] == 1).sum() < (labels[0] == 1).sum()  # the cavity drawn from the edited contour
    assert labels[0].max() == 3  # the analysis' own labels are not touched
    assert abs(_strain(job).gls_pct - gls0) > 0.3


def test_study_gls_names_the_views_it_averages():
    """One GLS per apical echo view (the first clip of a view with one; the view pair's A4C / A2C first when the
    study has measured them: app.workflow.study_result), and their mean."""
    from app.workflow.study_result import compose_study

    def item(view, gls, modality="echo"):
        recording = types.SimpleNamespace(view=view, modality=modality, is_stack=False, calibrated=True,
                                          n_frames=0, source_path=None, series_description="")
        return recording, [], None, types.SimpleNamespace(gls_pct=gls)

    g = compose_study([item("a2c", -16.0), item("a4c", -20.0), item("a4c", -10.0), item("plax", -30.0),
                       item("a3c", None), item("a3c", -18.0, modality="mri")]).gls
    assert g.by_view == (("a4c", -20.0), ("a2c", -16.0))
    assert g.label == "GLS (mean of A4C, A2C)" and g.mean_pct == pytest.approx(-18.0)
    assert compose_study([]).gls.mean_pct is None


def test_a_strain_retracked_over_an_ed_es_shorter_than_any_systole_reports_no_gls():
    """An edit of the ED/ES that leaves only a beat whose ED -> ES is under 0.1 s (30 Hz: 2 frames, 0.067 s): the
    strain re-tracked over it keeps its curves and says why it has no GLS, as the analysis's strain step does
    (beat_trust.no_systole); the ED/ES set back, the GLS is reported again."""
    rec, labels = synthetic_echo(n_frames=16)
    s = StudyState()  # the app's own measurement: beats judged as the analysis judges them
    s.add_recording(rec)
    analysis = fake_analysis(labels, ed_frames=(0,), es_frames=(8,))
    analysis.labels = labels
    s.set_analysis(0, analysis)
    s.set_edes(0, (0,), (2,))
    assert [b.trusted for b in s[0].measurements.beats] == [False] and can_retrack(s[0])
    s.set_strain(0, _strain(retrack_input(s[0])))
    assert s[0].strain.gls_pct is None and s[0].strain.withheld == (
        "GLS not reported after the hand edit: no beat with a systole a heart can have (ED to ES 0.07 s, under 0.1 s)")
    s.set_edes(0, (0,), (8,))
    s.set_strain(0, _strain(retrack_input(s[0])))
    assert s[0].strain.gls_pct is not None and not s[0].strain.withheld
