"""The MRI phantom's apical trabecular layer: a grey rim toward the apex, labelled myocardium."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from app.data.phantom import HeartParams, MriPhantomParams, make_mri

PARAMS = MriPhantomParams(heart=HeartParams(edv_ml=170.0, esv_ml=90.0), n_phases=10, n_slices=10,
                          image_px=144, pixel_mm=1.4)


@pytest.fixture(scope="module")
def pair():
    """(without, with a 5 mm layer): the same heart and seed."""
    return make_mri(PARAMS, seed=4), make_mri(replace(PARAMS, apical_trabeculae_mm=5.0), seed=4)


def pool_area(case) -> np.ndarray:
    return (case.truth.labels == 1).sum(axis=(2, 3))  # (S, T)


def test_the_layer_shrinks_the_cavity_label_toward_the_apex_only(pair):
    plain, trab = pair
    a0, a1 = pool_area(plain), pool_area(trab)
    assert (a1 <= a0).all()
    has_pool = a0[:, 0] > 0
    apical = np.flatnonzero(has_pool)[-2:]  # slice 0 is above the base, the last ones toward the apex
    basal = np.flatnonzero(has_pool)[:3]
    assert (a1[basal] == a0[basal]).all(), "basal and mid slices keep their cavity"
    assert (a1[apical] < 0.8 * a0[apical]).all(), "apical cavities lose the trabecular rim"
    heart0, heart1 = (plain.truth.labels > 0), (trab.truth.labels > 0)
    assert np.array_equal(heart0, heart1), "the epicardium does not move: the rim becomes myocardium"


def test_the_rim_is_grey_between_bright_blood_and_dark_wall(pair):
    _, trab = pair
    labels, frames = trab.truth.labels, trab.recording.frames.astype(np.float64)
    plain_labels = pair[0].truth.labels
    rim = (plain_labels == 1) & (labels == 2)
    s = int(np.argmax(rim.sum(axis=(1, 2, 3))))
    t = 0
    rim_st = rim[s, t]
    blood = np.median(frames[s, t][labels[s, t] == 1])
    wall = np.median(frames[s, t][(plain_labels[s, t] == 2)])
    grey = np.median(frames[s, t][rim_st])
    assert wall < grey < blood
    assert 0.2 < (grey - wall) / (blood - wall) < 0.8


def test_without_the_layer_the_phantom_is_unchanged(pair):
    plain, _ = pair
    again = make_mri(replace(PARAMS, apical_trabeculae_mm=0.0), seed=4)
    assert np.array_equal(plain.recording.frames, again.recording.frames)
    assert np.array_equal(plain.truth.labels, again.truth.labels)


def test_the_truth_volume_follows_the_labels(pair):
    _, trab = pair
    p = trab.truth
    volume = (p.labels == 1).sum(axis=(0, 2, 3)) * PARAMS.pixel_mm**2 * PARAMS.slice_spacing_mm / 1000.0
    np.testing.assert_allclose(p.volume_ml, volume)
    assert p.volume_ml.max() < pair[0].truth.volume_ml.max()


def test_the_layer_width_is_validated():
    with pytest.raises(ValueError, match="trabeculae"):
        replace(PARAMS, apical_trabeculae_mm=-1.0)
    with pytest.raises(ValueError, match="trabeculae"):
        replace(PARAMS, apical_trabeculae_mm=12.0)


def test_training_samples_with_trabeculae_are_cached_apart(tmp_path, monkeypatch):
    from lab.training import mri_phantom

    made = []
    real = mri_phantom.make_mri

    def small(params, seed=0):
        made.append(params.apical_trabeculae_mm)
        return real(replace(params, n_slices=4, n_phases=10, image_px=128, pixel_mm=1.5), seed=seed)

    monkeypatch.setattr(mri_phantom, "make_mri", small)
    plain = mri_phantom.phantom_samples(1, seed=3, cache=tmp_path)
    trab = mri_phantom.phantom_samples(1, seed=3, cache=tmp_path, trabeculae=True)
    assert made[0] == 0.0 and mri_phantom.TRABECULAE_MM[0] <= made[1] <= mri_phantom.TRABECULAE_MM[1]
    assert len(list(tmp_path.glob("phantom_sax_1_3*_v*.npz"))) == 2
    assert len(plain) == len(trab)
    assert sum(int((s.target == 1).sum()) for s in trab) < sum(int((s.target == 1).sum()) for s in plain)


def test_the_phantom_command_writes_a_stack_with_trabeculae_and_rejects_a_bad_width(tmp_path, capsys):
    from app.cli import main
    from app.data.phantom import load_truth

    common = ["phantom", "--modality", "mri", "--phases", "10", "--slices", "6", "--matrix", "128", "--pixel", "1.5"]
    assert main([*common, "--trabeculae", "5", "--out", str(tmp_path / "t.nii.gz")]) == 0
    assert main([*common, "--out", str(tmp_path / "p.nii.gz")]) == 0
    trab, plain = load_truth(tmp_path / "t.nii.gz"), load_truth(tmp_path / "p.nii.gz")
    assert trab.parameters["apical_trabeculae_mm"] == 5.0 and plain.parameters["apical_trabeculae_mm"] == 0.0
    assert (trab.labels == 1).sum() < (plain.labels == 1).sum()
    capsys.readouterr()
    assert main([*common, "--trabeculae", "20", "--out", str(tmp_path / "bad.nii.gz")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "trabeculae" in err[0]
