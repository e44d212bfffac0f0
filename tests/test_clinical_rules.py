"""Documented clinical rules that had no test of their own (issue 36), each against an independent truth.

Every test here was checked by planting the bug it guards against (see the issue-36 report): non-square
pixels in volumes and strain, the biplane length rule, strain segment borders against the phantom's own
segment truth, autosave atomicity under a crash, and exit code 1 with one line for a bug in the CLI.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from app.analysis import edes_curve
from app.analysis.contours import extract_contours
from app.analysis.edes_curve import detect_ed_es
from app.analysis.polylines import to_mm
from app.analysis.strain import segment_bounds, strain_from_tracks
from app.analysis.volumes import (
    biplane_volume_ml,
    contour_disks,
    ejection_fraction_pct,
    method_of_disks,
    myocardial_mass_g,
    polygon_area_mm2,
    slice_summation_ml,
)
from app.cli import main
from app.data.recording import Recording, uniform_frame_times
from app.tasks import run_task
from app.workflow import autosave
from app.workflow.analyze import analyze_recording, measure
from tests.analysis_synth import (
    cardiac_curve,
    half_ellipse_lv,
    half_ellipse_outline,
    phantom_echo,
)

ROW_MM, COL_MM = 0.3, 0.45  # CAMUS-like non-square pixels: (row, col) spacing
PROJECT_ROOT = Path(__file__).resolve().parents[1]


def prolate_half_ml(a_mm: float, b_mm: float, c_mm: float | None = None) -> float:
    return 2.0 / 3.0 * np.pi * a_mm * b_mm * (b_mm if c_mm is None else c_mm) / 1000.0


# -- volumes --------------------------------------------------------------------------------------
def test_points_to_mm_scale_x_by_the_column_and_y_by_the_row_spacing():
    np.testing.assert_allclose(to_mm(np.array([[10.0, 20.0]]), (ROW_MM, COL_MM)), [[10 * COL_MM, 20 * ROW_MM]])


def test_disk_volumes_and_ef_with_non_square_pixels():
    """Pixel masks of half ellipses read with 0.3 x 0.45 mm pixels: semi-axes a*row and b*col in mm.
    Measured error -0.67 % (ED) and -0.96 % (ES) of the closed form (the 0.5-level outline of the pixel mask),
    0.16 EF points; with row and column spacing swapped both volumes are -34 % (the EF does not see it)."""
    ed_px, es_px = (110, 30), (96, 24)
    volumes = []
    for a_px, b_px in (ed_px, es_px):
        disks = contour_disks(extract_contours(half_ellipse_lv(a_px=a_px, b_px=b_px)), (ROW_MM, COL_MM))
        truth = prolate_half_ml(a_px * ROW_MM, b_px * COL_MM)
        assert disks.length_mm == pytest.approx(a_px * ROW_MM, abs=0.5 * ROW_MM)
        assert disks.volume_ml == pytest.approx(truth, rel=0.012)
        volumes.append(disks.volume_ml)
    true_ef = ejection_fraction_pct(prolate_half_ml(ed_px[0] * ROW_MM, ed_px[1] * COL_MM),
                                    prolate_half_ml(es_px[0] * ROW_MM, es_px[1] * COL_MM))
    assert ejection_fraction_pct(*volumes) == pytest.approx(true_ef, abs=0.4)


def test_biplane_volume_uses_the_longer_long_axis():
    """ASE/EACVI 2015: L = the longer of the two views' lengths (a foreshortened view is too short).

    An ellipsoid with semi-axes 85 (long), 28 and 22 mm seen in A4C and in an A2C foreshortened to 90 %: the
    shorter view's disks are spread over the longer axis. Measured error 0.03 %; the shorter axis gives -10 %.
    """
    a, b, c = 85.0, 28.0, 22.0
    origin = np.zeros(2)
    a4c = method_of_disks(half_ellipse_outline(a, b), origin, np.array([0.0, -a]))
    a2c = method_of_disks(half_ellipse_outline(0.9 * a, c), origin, np.array([0.0, -0.9 * a]))
    truth = prolate_half_ml(a, b, c)
    for first, second in ((a4c, a2c), (a2c, a4c)):  # which view comes first does not matter
        v = biplane_volume_ml(first.diameters_mm, second.diameters_mm, first.length_mm, second.length_mm)
        assert v == pytest.approx(truth, rel=0.003)


def test_disk_chords_are_drawn_at_the_disk_centres_across_the_axis():
    """The drawn chords (viewer, report) of a tilted half ellipse: chord k crosses the axis at
    base + (k + 1/2) L/20, perpendicular to it, its ends on the outline (1e-6 mm)."""
    a, b, angle = 80.0, 25.0, np.deg2rad(30.0)
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    base = np.array([10.0, 50.0])
    d = method_of_disks(half_ellipse_outline(a, b, 4000) @ rot.T + base, base, np.array([0.0, -a]) @ rot.T + base)
    axis = (d.apex_mm - d.base_mm) / d.length_mm
    centres = base + ((np.arange(20) + 0.5) * d.length_mm / 20)[:, None] * axis
    np.testing.assert_allclose(d.chords_mm.mean(axis=1), centres, atol=1e-6)
    across = d.chords_mm[:, 1] - d.chords_mm[:, 0]
    np.testing.assert_allclose(across @ axis, 0.0, atol=1e-6)
    u = (np.arange(20) + 0.5) / 20  # position along the axis as a fraction of a
    np.testing.assert_allclose(np.linalg.norm(across, axis=1), 2 * b * np.sqrt(1 - u**2), rtol=2e-5)


def test_disks_of_small_and_degenerate_outlines():
    """A triangle is a cone (the 20 midpoint disks of pi R^2 H / 3 give exactly 1/1600 less); a 0.8 mm long shape
    is still measured; base = apex and fewer than three points give empty disks of length 0."""
    cone = method_of_disks(np.array([[-20.0, 0.0], [0.0, -60.0], [20.0, 0.0]]), np.zeros(2), np.array([0.0, -60.0]))
    assert cone.volume_ml == pytest.approx(np.pi * 20.0**2 * 60.0 / 3.0 / 1000.0 * (1 - 1 / 1600), rel=1e-9)
    small = method_of_disks(half_ellipse_outline(0.8, 0.3, 2000), np.zeros(2), np.array([0.0, -0.8]))
    assert small.volume_ml == pytest.approx(2.0 / 3.0 * np.pi * 0.8 * 0.3**2 / 1000.0, rel=1e-3)
    for outline, apex in ((half_ellipse_outline(80.0, 25.0), np.zeros(2)), (np.zeros((2, 2)), np.array([0.0, -5.0]))):
        empty = method_of_disks(outline, np.zeros(2), apex)
        assert empty.volume_ml == 0.0 and not empty.diameters_mm.any()
        assert empty.length_mm == 0.0
    assert polygon_area_mm2(np.array([[0.0, 0.0], [3.0, 4.0]])) == 0.0


def test_slice_summation_and_mass_arithmetic():
    """Missing slices (NaN) count as 0; a slice whose epicardium lies inside its endocardium adds no mass."""
    assert slice_summation_ml([100.0, np.nan, 50.0], 10.0) == pytest.approx(1.5, abs=1e-12)
    assert myocardial_mass_g([100.0, 200.0, np.nan], [150.0, 150.0, 30.0], 10.0) == pytest.approx(
        1.05 * (50.0 + 0.0 + 30.0) * 10.0 / 1000.0, abs=1e-12)


# -- ED/ES rules (app/analysis/edes_curve.py, the stack path of app/workflow/measure.py) ----------------------
def _beat_ml(n_frames: int, n_systole: int, n_hold: int, edv: float = 120.0, esv: float = 50.0) -> np.ndarray:
    """One beat of an LV volume curve, (n_frames,) from ED: a half-cosine ejection to ESV at frame n_systole (ES),
    isovolumic relaxation (n_hold frames within 0.5 ml of ESV), then filling towards the next beat's EDV."""
    eject = esv + (edv - esv) * 0.5 * (1 + np.cos(np.pi * np.arange(n_systole + 1) / n_systole))
    hold = esv + np.linspace(0.2, 0.5, n_hold)
    n_fill = n_frames - n_systole - 1 - n_hold
    x = np.arange(1, n_fill + 1) / (n_fill + 1)
    fill = np.interp(x, [0, 0.4, 0.8, 1], [esv + 0.5, esv + 0.7 * (edv - esv), esv + 0.8 * (edv - esv), edv])
    return np.concatenate([eject, hold, fill])


def test_ed_is_the_first_frame_of_the_end_diastolic_plateau():
    """ED = mitral closure = the first frame of the isovolumic-contraction plateau (values within
    PLATEAU_FRACTION of the span of the maximum), not its last: 50 Hz, 40-frame beats with a 3-frame flat top
    rising 0.2 ml (0.3 % of the 70 ml span). Found: exactly the plateau starts; the plateau end would be 2 frames
    (40 ms) late."""
    beat = np.concatenate([np.linspace(50.0, 118.0, 25), [120.0, 120.1, 120.2], np.linspace(110.0, 52.0, 12)])
    ed, es = detect_ed_es(np.tile(beat, 3), 50.0)
    assert ed == (25, 65, 105)
    assert es == (40, 80)


def test_es_is_the_smallest_raw_volume_not_the_smoothed_minimum():
    """After ES the volume stays near ESV through isovolumic relaxation (4 frames within 0.5 ml at 50 Hz), which
    drags the smoothed minimum one frame late (18, 68, 118); ES is refined on the raw curve: exactly the true
    ES frames."""
    beat = _beat_ml(50, 17, 4)  # ES at frame 17
    assert len(beat) == 50 and int(np.argmin(beat)) == 17
    ed, es = detect_ed_es(np.tile(beat, 3), 50.0)
    assert es == (17, 67, 117)
    assert ed == (0, 50, 100)  # the clip starts at ED, on a flat top


@pytest.mark.parametrize("dip_fraction", [0.15, 0.25])
def test_a_diastolic_dip_under_the_prominence_threshold_is_no_beat(dip_fraction):
    """A 1.4-beat clip (under the 1.5 periods the beat-period rule needs) at 50 bpm and 50 Hz whose diastasis holds a
    segmentation dip of 15 or 25 % of the stroke volume (with 0.3 ml noise): still one ES, no extra ED/ES pair.
    The prominence threshold (MIN_PROMINENCE_FRACTION = 0.3 of the range) is what rejects it; at 0.1 both
    dips become a beat (an extra ED at frame 39 and ES at 45)."""
    fps, hr = 50, 50
    curve, ed_true, es_true = cardiac_curve(84, fps, hr, 120.0, 50.0)  # ED 0, 60; ES 21, 81
    t = np.arange(len(curve))
    dipped = curve - dip_fraction * 70.0 * np.exp(-0.5 * ((t - 45) / 2.0) ** 2)
    dipped = dipped + np.random.default_rng(0).normal(0.0, 0.3, len(curve))
    assert (ed_true, es_true) == ([0, 60], [21, 81])
    ed, es = detect_ed_es(dipped, fps)
    assert len(ed) == 2 and len(es) == 2, (ed, es)
    np.testing.assert_allclose(ed + es, ed_true + es_true, atol=1)  # the noise may move a flat extremum a frame


def test_a_recurring_diastolic_dip_over_the_prominence_threshold_is_no_beat_on_a_periodic_clip():
    """Issue 30: a segmentation dip in every diastole (here 45 % of the stroke volume, over the prominence
    threshold) is no extra ED/ES pair once the clip shows its beat period (autocorrelation, 60 frames at 50 bpm
    and 50 Hz): two events of a kind stay 0.6 periods apart. Without the period rule: EDs at 38 and 98 and ESs
    at 45 and 105 are added."""
    curve, ed_true, es_true = cardiac_curve(150, 50, 50, 120.0, 50.0)  # ED 0, 60, 120; ES 21, 81, 141
    t = np.arange(len(curve))
    for ed in ed_true:
        curve = curve - 0.45 * 70.0 * np.exp(-0.5 * ((t - ed - 45) / 2.0) ** 2)
    assert edes_curve.cycle_period_frames(curve, 15, 100) == 60
    assert detect_ed_es(curve, 50) == (tuple(ed_true), tuple(es_true)) == ((0, 60, 120), (21, 81, 141))

def _gated_ring_stack(volume_ml: np.ndarray, n_slices: int = 3, spacing_mm: float = 1.5, step_mm: float = 8.0):
    """A short-axis cine stack of concentric LV rings whose slice-summation volume follows volume_ml."""
    r, c = np.mgrid[0:96, 0:96]
    d = np.hypot(r - 48, c - 48)
    radius_px = np.sqrt(volume_ml * 1000.0 / (n_slices * step_mm * np.pi)) / spacing_mm
    labels = np.zeros((n_slices, len(volume_ml), 96, 96), np.uint8)
    for t, rad in enumerate(radius_px):
        labels[:, t] = np.where(d <= rad, 1, np.where(d <= rad + 5, 2, 0))
    rec = Recording((labels * 80).astype(np.uint16), (spacing_mm, spacing_mm),
                    uniform_frame_times(len(volume_ml), 19.6), "mri", "sax", slice_spacing_mm=step_mm)
    return rec, labels


def test_a_gated_stack_finds_ed_across_the_wrap_of_its_cycle():
    """Cine MR is one ECG-gated cycle: ED sits at the trigger, where the last phase runs on into the first, so
    both clip ends rise steeply and neither passes for an event on its own. A ring stack whose volume curve is
    SCD0000401's (tests/test_edes_fusion.py): the analysis, and its measuring step (analyze.measure) on its
    own, find ED at phase 19 and ES at 6 (as detect_ed_es on the curve itself), and the EF of those phases
    (measured 32.1 vs 32.4 % on the exact curve: the rings' pixel steps). Without the wrap no ED is found and
    there is no EF."""
    from tests.test_edes_fusion import GATED_401

    rec, labels = _gated_ring_stack(GATED_401)
    analysis = run_task(analyze_recording(rec, segmenter=lambda r: labels))
    remeasured = measure(rec, analysis.contours)  # no given events: measure detects them itself
    for m in (analysis.measurements, remeasured):
        assert m.method == "slice-summation"
        assert m.ed_frames == (19,) and m.es_frames == (6,)
        assert m.ef_pct == pytest.approx(100.0 * (1 - GATED_401[6] / GATED_401[19]), abs=0.5)


# -- strain ---------------------------------------------------------------------------------------
def _shortening_tracks_mm(n_frames: int = 25, n_points: int = 120) -> np.ndarray:
    """(T, N, 2) mm centerlines of a wall that shortens along the long axis only (18 % at mid cycle) and
    widens 4 %: anisotropic motion, so reading x with the row spacing changes the strain."""
    outline = half_ellipse_outline(80.0, 22.0, n_points)
    phase = np.sin(np.linspace(0, np.pi, n_frames))
    scale = np.stack([1.0 + 0.04 * phase, 1.0 - 0.18 * phase], axis=1)  # (T, 2): x, y
    return outline[None] * scale[:, None, :]


def _length_mm(points: np.ndarray) -> np.ndarray:
    return np.linalg.norm(np.diff(points, axis=-2), axis=-1).sum(axis=-1)


def test_strain_with_non_square_pixels_equals_the_strain_in_millimetres():
    """GLS and segmental strain of a centerline drawn on 0.3 x 0.45 mm pixels equal those of the same
    material line in mm (exact, 1e-9 points); swapped row/column spacing: GLS -17.1 instead of -15.1 %."""
    tracks_mm = _shortening_tracks_mm()
    tracks_px = tracks_mm / np.array([COL_MM, ROW_MM])  # (x, y): x runs along columns
    res = strain_from_tracks(tracks_px, (ROW_MM, COL_MM), [0], np.zeros(tracks_px.shape[:2]), view="a4c")
    total = _length_mm(tracks_mm)
    np.testing.assert_allclose(res.strain_curve_pct, 100.0 * (total / total[0] - 1.0), atol=1e-9)
    b = segment_bounds(tracks_mm.shape[1])
    seg = np.stack([_length_mm(tracks_mm[:, b[k] : b[k + 1] + 1]) for k in range(6)], axis=1)
    np.testing.assert_allclose(res.segmental_strain_pct, 100.0 * (seg / seg[0] - 1.0), atol=1e-9)
    assert res.gls_pct == pytest.approx(100.0 * (total.min() / total[0] - 1.0), abs=1e-9)


def test_strain_segments_match_the_phantom_segment_truth():
    """The phantom's material midline fed through strain_from_tracks gives the phantom's own segmental
    strain (app.data.phantom.truth: six equal index ranges of the midline): measured difference 1e-13
    points; inner borders shifted by 2 points move the segment curves by up to 1.0 point."""
    truth = phantom_echo("a4c").truth  # the session's cached 2-beat phantom (also used by the pipeline tests)
    midline_xy = truth.midline_px[..., ::-1]  # (row, col) -> (x, y)
    res = strain_from_tracks(midline_xy, truth.spacing_mm, [truth.reference_frame],
                             np.zeros(midline_xy.shape[:2]), view=truth.view)
    assert res.segment_names == truth.segment_names
    np.testing.assert_allclose(res.strain_curve_pct, truth.gls_pct, atol=1e-6)
    np.testing.assert_allclose(res.segmental_strain_pct, truth.segmental_strain_pct, atol=1e-6)


# -- autosave -------------------------------------------------------------------------------------
CRASH = {
    # the process dies after the new state is written and synced, before the rename
    "before-replace": "autosave.os.replace = lambda *a, **k: os._exit(9)",
    # the process dies half-way through writing the new state
    # (half the text in one piece, over the file's buffer: it reaches the file before the process dies)
    "mid-write": ("real_pieces = autosave.json_pieces\n"
                  "def pieces(data):\n"
                  "    text = ''.join(real_pieces(data))\n"
                  "    yield text[: len(text) // 2]\n"
                  "    os._exit(9)\n"
                  "autosave.json_pieces = pieces"),
}


@pytest.mark.parametrize("crash", sorted(CRASH))
def test_autosave_crash_between_write_and_replace_keeps_the_old_file_whole(tmp_path, crash):
    path = tmp_path / "a4c.dcm.cardiotrace.json"
    old = {"format": "cardiotrace-study", "edits": list(range(50))}
    autosave.write_atomic(path, old)
    before = path.read_bytes()
    script = "\n".join([
        "import json, os, sys",
        "from app.workflow import autosave",
        CRASH[crash],
        "autosave.write_atomic(sys.argv[1], {'format': 'cardiotrace-study', 'edits': list(range(5000))})",
    ])
    done = subprocess.run([sys.executable, "-c", script, str(path)], cwd=PROJECT_ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 9, done.stderr  # the crash happened where it was planted
    assert path.read_bytes() == before
    assert autosave.read(path) == old
    autosave.write_atomic(path, {"format": "cardiotrace-study", "edits": [1]})  # the next save still works
    assert json.loads(path.read_text())["edits"] == [1]


# -- command line ---------------------------------------------------------------------------------
def test_a_bug_in_a_command_is_exit_1_with_one_line(monkeypatch, capsys, tmp_path):
    import app.commands.info as info

    def broken(args):
        raise ZeroDivisionError("float division by zero\nin the volume curve")

    monkeypatch.setattr(info, "run", broken)
    assert main(["info", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "ZeroDivisionError: float division by zero in the volume curve" in err
    monkeypatch.setenv("CARDIOTRACE_DEBUG", "1")
    assert main(["info", str(tmp_path)]) == 1
    assert "Traceback" in capsys.readouterr().err


def test_bad_input_stays_exit_2(capsys, tmp_path):
    assert main(["info", str(tmp_path / "missing.dcm")]) == 2
    assert capsys.readouterr().err.count("\n") == 1
