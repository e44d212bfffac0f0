"""The phantom bank of the echo trainers: the varied acquisition geometry (issue 53's large-phantom check)."""

import numpy as np

from lab.training.phantom_sequences import PhantomBank, random_params


def test_varied_geometry_draws_the_acquisitions_a_scanner_varies():
    rng = np.random.default_rng(0)
    drawn = [random_params(rng, 128, ("a4c", "a2c"), geometry="varied") for _ in range(40)]
    shapes = {p.image_shape_px for p in drawn}
    assert any(rows != cols for rows, cols in shapes)  # real-resolution, non-square fans
    assert max(rows for rows, _ in shapes) > 300
    assert min(p.sector_deg for p in drawn) < 70 < max(p.sector_deg for p in drawn)
    depths = [p.depth_mm for p in drawn if p.depth_mm is not None]
    assert depths and all(130 <= d <= 190 for d in depths) and len(depths) < len(drawn)  # some fit the heart
    fixed = random_params(np.random.default_rng(0), 128, ("a4c",))
    assert fixed.image_shape_px == (128, 128) and fixed.depth_mm is None


def test_a_varied_bank_is_cached_apart_and_resized_to_the_network(tmp_path):
    bank = PhantomBank.build(2, 64, tmp_path, seed=3, views=("a4c",), geometry="varied")
    assert [p.name for p in tmp_path.iterdir()] == ["phantom_2_64_3_varied.npz"]
    assert "varied depth/sector/size" in bank.description
    for frames, labels in zip(bank.frames, bank.labels, strict=True):
        assert frames.shape[1:] == labels.shape[1:] == (64, 64)
        assert (labels == 1).any(axis=(1, 2)).all()  # the LV in every frame
    again = PhantomBank.build(2, 64, tmp_path, seed=3, views=("a4c",), geometry="varied")
    np.testing.assert_array_equal(again.frames[1], bank.frames[1])
