"""Weight averaging of fine-tunes (lab/training/soup.py) and the GPU pack of the EF fine-tune (issue 53)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from app.ml.weights import load_model, read_card  # noqa: E402
from lab.model_notes import read_metadata  # noqa: E402
from lab.training import echo_seg, soup  # noqa: E402
from lab.training.camus_data import load_split  # noqa: E402
from lab.training.echo_clip_ef_pack import pack_camus  # noqa: E402
from tests.test_echo_seg_training import _args, _fake_camus  # noqa: E402


def test_average_states_means_floats_in_their_dtype_and_keeps_counters():
    a = {"w": torch.tensor([1.0, 3.0], dtype=torch.float16), "n": torch.tensor(5)}
    b = {"w": torch.tensor([3.0, 5.0], dtype=torch.float16), "n": torch.tensor(9)}
    out = soup.average_states([a, b])
    assert out["w"].dtype == torch.float16 and out["w"].tolist() == [2.0, 4.0]
    assert int(out["n"]) == 5


@pytest.fixture(scope="module")
def two_fine_tunes(tmp_path_factory):
    """Two 2-step U-Nets of one shape, different seeds, each in its own models folder; the fake CAMUS."""
    tmp = tmp_path_factory.mktemp("soup")
    data = _fake_camus(tmp / "camus")
    roots = []
    for seed in (0, 1):
        run = tmp / f"run{seed}"
        assert echo_seg.main(_args(run, data, "base", 2) + ["--seed", str(seed), "--no-bf16"]) == 0
        roots.append(run / "models")
    return data, roots


def test_a_soup_publishes_the_mean_weights_with_its_own_holdout_dice(two_fine_tunes, tmp_path):
    data, roots = two_fine_tunes
    out = tmp_path / "soup" / "models"
    argv = ["--name", "echo_seg_base", "--out", str(out), "--data", str(data), "--holdout", "1", *map(str, roots)]
    assert soup.main(argv) == 0
    members = [load_model("echo_seg_base", device="cpu", root=r).state_dict() for r in roots]
    mixed = load_model("echo_seg_base", device="cpu", root=out).state_dict()  # passes the sha256 check
    key = next(k for k, v in mixed.items() if v.is_floating_point() and not torch.equal(members[0][k], members[1][k]))
    expected = (members[0][key] + members[1][key]) / 2
    assert torch.allclose(mixed[key], expected, atol=2e-3)  # stored as float16, like the members
    assert read_card("echo_seg_base", out).network == read_card("echo_seg_base", roots[0]).network
    record = read_metadata("echo_seg_base", out)
    assert record["soup_of"] == [str(r) for r in roots] and len(record["command_history"]) == 2
    assert record["command"].startswith("python -m lab.training.soup")
    assert record["training_data"].startswith("weights averaged over 2 fine-tunes")
    assert 0.0 <= record["selection_metrics_holdout"]["dice_lv"] <= 1.0


def test_a_soup_needs_two_members_of_one_network(two_fine_tunes, tmp_path):
    data, roots = two_fine_tunes
    with pytest.raises(SystemExit, match="at least two"):
        soup.soup("echo_seg_base", roots[:1], tmp_path / "m", data, 1, [])
    other = tmp_path / "other"
    assert echo_seg.main(_args(other, data, "base", 1) + ["--channels", "4,8,16", "--no-bf16"]) == 0
    with pytest.raises(SystemExit, match="differ"):
        soup.soup("echo_seg_base", [roots[0], other / "models"], tmp_path / "m", data, 1, [])


def test_packed_camus_reads_as_the_trainer_reads_the_original(tmp_path):
    """The 8-bit pack at the network size gives the trainer the same frames within half a grey level."""
    src = _fake_camus(tmp_path / "camus", shape=(70, 50))
    assert pack_camus(src, tmp_path / "packed" / "train", 32) == 4
    a, b = load_split("train", 32, src), load_split("train", 32, tmp_path / "packed")
    assert a.patients == b.patients
    assert np.abs(a.images - b.images).max() <= 0.5 / 255 + 1e-6
    assert np.array_equal(a.labels, b.labels)
