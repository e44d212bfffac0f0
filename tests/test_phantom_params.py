"""Phantom parameters are validated, generation is seeded, and the `phantom` command behaves."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.ndimage import map_coordinates

from app.cli import main
from app.data.phantom import (
    AHA_SEGMENTS,
    EchoPhantomParams,
    HeartParams,
    MriPhantomParams,
    load_truth,
    make_echo,
    make_mri,
    view_segment_names,
)
from app.data.phantom.timing import normalised_volume

TINY = dict(beats=1, frame_rate_hz=20.0, image_shape_px=(112, 112))


@pytest.mark.parametrize("kwargs, message", [
    (dict(edv_ml=100, esv_ml=120), "smaller than EDV"),
    (dict(edv_ml=10), "EDV"),
    (dict(heart_rate_bpm=250), "heart rate"),
    (dict(systole_diastole_ratio=3.0), "systole/diastole"),
    (dict(hypokinetic=("mid_nowhere",)), "unknown segment"),
    (dict(hypokinetic=("mid_anterior",), infarct=("mid_anterior",)), "both"),
])
def test_heart_params_reject_bad_values(kwargs, message):
    with pytest.raises(ValueError, match=message):
        HeartParams(**kwargs)


@pytest.mark.parametrize("kwargs, message", [
    (dict(beats=5), "beats"), (dict(frame_rate_hz=10), "frame rate"), (dict(quality="awful"), "quality"),
    (dict(view="plax"), "view"), (dict(sector_deg=20), "sector"), (dict(depth_mm=30), "depth"),
    (dict(heart=HeartParams(hypokinetic=("mid_anterior",))), "not seen in the a4c view"),
])
def test_echo_params_reject_bad_values(kwargs, message):
    with pytest.raises(ValueError, match=message):
        EchoPhantomParams(**kwargs)


def test_mri_params_reject_bad_values():
    with pytest.raises(ValueError, match="slices"):
        MriPhantomParams(n_slices=1)
    with pytest.raises(ValueError, match="field of view"):
        MriPhantomParams(image_px=100, pixel_mm=1.0)


def test_heart_that_does_not_fit_the_sector_is_refused():
    with pytest.raises(ValueError, match="does not fit"):
        make_echo(EchoPhantomParams(heart=HeartParams(edv_ml=300, esv_ml=200), sector_deg=42, **TINY))


def test_segment_names_follow_the_view():
    assert view_segment_names("a4c") == ("basal_inferoseptal", "mid_inferoseptal", "apical_septal",
                                         "apical_lateral", "mid_anterolateral", "basal_anterolateral")
    assert view_segment_names("a2c")[0] == "basal_inferior" and view_segment_names("a2c")[-1] == "basal_anterior"
    assert (
        view_segment_names("a3c")[0] == "basal_inferolateral" and view_segment_names("a3c")[-1] == "basal_anteroseptal"
    )
    assert all(n in AHA_SEGMENTS for v in ("a2c", "a3c", "a4c") for n in view_segment_names(v))


def test_volume_curve_shape():
    phase = np.linspace(0.0, 1.0, 1001)[:-1]
    v = normalised_volume(phase, 0.6)
    assert v[0] == 1.0 and v.min() == 0.0
    es = int(np.argmin(v))
    assert 0.3 < phase[es] < 0.45  # systole fraction 0.6 / 1.6
    dv = np.diff(v)
    assert np.all(dv[:es - 1] <= 1e-12)  # monotone ejection
    assert np.all(dv[es + 1:] >= -1e-12)  # monotone filling
    ejection = -dv[:es]
    assert np.argmax(ejection) < es / 2 + 60  # fast early ejection (peak in the first half of ejection)
    late = v[phase > 0.9]
    assert late.min() < 0.9 < late.max()  # the atrial kick refills the last part


def test_same_seed_same_output_and_other_seed_differs():
    params = EchoPhantomParams(**TINY)
    a, b, c = make_echo(params, seed=3), make_echo(params, seed=3), make_echo(params, seed=4)
    np.testing.assert_array_equal(a.recording.frames, b.recording.frames)
    np.testing.assert_array_equal(a.truth.displacement_px, b.truth.displacement_px)
    np.testing.assert_array_equal(a.truth.labels, c.truth.labels)  # the anatomy does not depend on the seed
    assert np.mean(a.recording.frames != c.recording.frames) > 0.3  # the speckle does


def test_mri_same_seed_same_output():
    params = MriPhantomParams(n_phases=10, n_slices=3, image_px=128, pixel_mm=1.5)
    a, b = make_mri(params, seed=1), make_mri(params, seed=1)
    np.testing.assert_array_equal(a.recording.frames, b.recording.frames)


def test_speckle_moves_with_the_tissue():
    """During ejection, consecutive frames correlate better along the true motion than in place: the
    speckle is attached to the myocardium (so a tracker can follow it) and decorrelates slowly."""
    case = make_echo(EchoPhantomParams(view="a4c", quality="excellent", beats=1, frame_rate_hz=40.0,
                                       image_shape_px=(160, 160)), seed=2)
    t, frames = case.truth, case.recording.frames.astype(np.float32)
    myo = np.argwhere(t.labels[t.reference_frame] == 2).astype(float)
    tracked, static = [], []
    for k in range(t.reference_frame + 2, t.es_frames[0] - 2):
        here = myo + t.displacement_px[k][myo[:, 0].astype(int), myo[:, 1].astype(int)]
        there = myo + t.displacement_px[k + 1][myo[:, 0].astype(int), myo[:, 1].astype(int)]
        a = map_coordinates(frames[k], here.T, order=1)
        tracked.append(np.corrcoef(a, map_coordinates(frames[k + 1], there.T, order=1))[0, 1])
        static.append(np.corrcoef(a, map_coordinates(frames[k + 1], here.T, order=1))[0, 1])
    assert np.mean(tracked) > 0.55 and np.mean(tracked) > np.mean(static) + 0.08
    # with no motion (isovolumic contraction) the speckle stays nearly identical
    assert np.corrcoef(frames[0].ravel(), frames[1].ravel())[0, 1] > 0.9


def test_image_contrast_blood_dark_myocardium_bright():
    case = make_echo(EchoPhantomParams(quality="good", **TINY), seed=1)
    frame, lab = case.recording.frames[0], case.truth.labels[0]
    assert np.median(frame[lab == 2]) > np.median(frame[lab == 1]) + 40
    poor = make_echo(EchoPhantomParams(quality="poor", **TINY), seed=1)
    assert np.median(poor.recording.frames[0][lab == 1]) > np.median(frame[lab == 1])  # haze and noise


def test_cli_writes_recording_and_truth(tmp_path, capsys):
    out = tmp_path / "case.dcm"
    code = main(["phantom", "--out", str(out), "--beats", "1", "--fps", "20", "--size", "112x112",
                 "--hypokinetic", "mid_anterolateral", "--seed", "9"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert out.is_file() and (tmp_path / "case.truth.npz").is_file() and (tmp_path / "case.truth.json").is_file()
    truth = load_truth(out)
    assert list(truth.ed_frames) == report["ed_frames"] and truth.labels.shape[1:] == (112, 112)
    assert truth.parameters["seed"] == 9


def test_cli_same_seed_writes_identical_files(tmp_path, capsys):
    argv = ["phantom", "--beats", "1", "--fps", "20", "--size", "112x112", "--seed", "5", "--compression", "rle"]
    for name in ("one", "two"):
        assert main([*argv, "--out", str(tmp_path / name / "clip.dcm")]) == 0
    for leaf in ("clip.dcm", "clip.truth.npz", "clip.truth.json"):
        assert (tmp_path / "one" / leaf).read_bytes() == (tmp_path / "two" / leaf).read_bytes(), leaf


@pytest.mark.parametrize("argv", [
    ["--edv", "40", "--esv", "60"], ["--beats", "9"], ["--fps", "500"], ["--hypokinetic", "mid_anterior"],
    ["--modality", "mri", "--format", "avi"], ["--size", "big"], ["--infarct", "apical_nowhere"],
])
def test_cli_bad_values_exit_2_with_one_line(tmp_path, capsys, argv):
    code = main(["phantom", "--out", str(tmp_path / "x.dcm"), *argv])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith("error:") and "\n" not in err
    assert not (tmp_path / "x.dcm").exists()


def test_cli_negative_seed_names_the_option(tmp_path, capsys):
    """numpy's 'expected non-negative integer' had named no option."""
    assert main(["phantom", "--out", str(tmp_path / "x.dcm"), "--seed", "-1"]) == 2
    assert "argument --seed: must be a whole number of 0 or more" in capsys.readouterr().err


@pytest.mark.parametrize("modality, leaf", [("echo", "x.dcm"), ("mri", "sax")])
def test_cli_output_that_cannot_be_written_is_refused_before_the_phantom_is_made(tmp_path, capsys, monkeypatch,
                                                                                 modality, leaf):
    import app.data.phantom as phantom

    def refuse(*args, **kwargs):
        raise AssertionError("the phantom was made before its output was checked")

    monkeypatch.setattr(phantom, "make_echo", refuse)
    monkeypatch.setattr(phantom, "make_mri", refuse)
    (tmp_path / "a-file").write_text("not a folder")
    assert main(["phantom", "--modality", modality, "--out", str(tmp_path / "a-file" / leaf)]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err


def test_cli_echo_output_naming_a_folder_is_refused(tmp_path, capsys):
    """An existing folder became '<folder>.dcm' beside it."""
    assert main(["phantom", "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip() == f"error: --out: {tmp_path} is a folder; give a file name"
    assert not tmp_path.with_name(tmp_path.name + ".dcm").exists()
