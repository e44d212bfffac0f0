"""The biplane EF of two clips whose pixel sizes differ or are unknown (a calibrated A4C beside an uncalibrated A2C,
or two uncalibrated clips of different zooms) is free of either clip's scale: the long axis is the A4C's at both
phases, since lengths in mm and in pixels cannot be compared (max(La, Lb) took one view's at ED and the other's
at ES when they were close)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from app.tasks import run_task
from app.workflow.analyze import analyze_recording
from app.workflow.study_result import compose_study
from tests.analysis_synth import phantom_echo


def _analysed(recording, labels):
    return run_task(analyze_recording(recording, segmenter=lambda rec: labels, strain=False))


def test_the_biplane_ef_of_clips_in_different_units_does_not_depend_on_their_scales():
    a4c, a2c = phantom_echo("a4c"), phantom_echo("a2c")
    uncalibrated_a2c = _analysed(replace(a2c.recording, spacing_mm=(1.0, 1.0), calibrated=False), a2c.truth.labels)
    efs = []
    for spacing_mm in (0.3, 0.9, 1.0, 1.1, 1.2, 1.5):  # the A4C's lengths in mm below, near and above the A2C's px
        a4c_at = _analysed(replace(a4c.recording, spacing_mm=(spacing_mm, spacing_mm)), a4c.truth.labels)
        biplane = compose_study([a4c_at, uncalibrated_a2c]).biplane
        assert biplane is not None and biplane.edv_ml is None  # no volumes without both calibrations
        efs.append(biplane.ef_pct)
    assert max(efs) - min(efs) < 1e-9
    both = compose_study([_analysed(a4c.recording, a4c.truth.labels), _analysed(a2c.recording, a2c.truth.labels)])
    assert efs[0] == pytest.approx(both.biplane.ef_pct, abs=0.5)  # the calibrated pair's, with its own lengths
