"""`train` and `evaluate` refuse bad input with one line and exit 2 before any work: a --data folder that is not
CAMUS, no cached training clips, a step count under 1 (which had trained nothing and exited 0, or ended in an
internal error)."""

import pytest

from app.cli import main


def _error(capsys) -> str:
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert lines, "nothing said"
    return lines[-1]


@pytest.mark.parametrize("command", [["train", "echo-seg"], ["train", "motion"], ["train", "view"],
                                     ["evaluate", "echo-seg"]])
def test_a_data_folder_without_camus_is_one_line(command, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("CARDIOTRACE_CHECKPOINTS_DIR", str(tmp_path / "checkpoints"))
    assert main([*command, "--data", str(tmp_path / "nowhere")]) == 2
    line = _error(capsys)
    assert line.startswith("error: CAMUS split folder") and "--data is the camus_a4c folder" in line
    assert not (tmp_path / "checkpoints").exists()


@pytest.mark.parametrize("target", ["echo-seg", "motion", "mri-seg", "mri-seg-acdc", "mri-seg-cycles", "ed-es",
                                    "view"])
@pytest.mark.parametrize("steps", ["0", "-1", "many"])
def test_a_step_count_under_one_is_refused(target, steps, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("CARDIOTRACE_CHECKPOINTS_DIR", str(tmp_path / "checkpoints"))
    assert main(["train", target, "--steps", steps]) == 2
    assert "--steps: must be a whole number of 1 or more" in _error(capsys)
    assert not (tmp_path / "checkpoints").exists()


def test_ed_es_training_without_its_clips_says_how_to_build_them(tmp_path):
    """In a process of its own, as a user runs it: the clip folder is read from the environment on import."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    env = {**os.environ, "CARDIOTRACE_CHECKPOINTS_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-m", "app", "train", "ed-es", "--steps", "1"], env=env, text=True,
                          capture_output=True, timeout=120, cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == f"error: no training clips in {tmp_path / 'ed_es_data'}; build them with " \
                                  "`python -m lab.training.tempreg_cache`"


def _every_target() -> list[list[str]]:
    from app.commands.evaluate import TARGETS as EVALUATE
    from app.commands.train import TARGETS as TRAIN

    return [["train", t] for t in sorted(TRAIN)] + [["evaluate", t] for t in sorted(EVALUATE)]


@pytest.mark.parametrize("command", _every_target(), ids=" ".join)
def test_an_unknown_option_of_any_target_is_one_line(command, capsys):
    """argparse had printed the target's whole usage text (up to 40 lines) before the error."""
    assert main([*command, "--no-such-option"]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and err[0].startswith(f"error: cardiotrace {' '.join(command)}: "), err
    assert "--no-such-option" in err[0] or "the following arguments are required" in err[0]


def test_the_crop_model_evaluation_with_a_tag_nothing_was_trained_with_is_refused(tmp_path, capsys, monkeypatch):
    """It listed every fold as 'not trained' and exited 0, as if the evaluation had run."""
    from lab.evaluation.mri_crop_loo import SUNNYBROOK

    if not SUNNYBROOK.is_dir():
        pytest.skip(f"needs the Sunnybrook cines ({SUNNYBROOK})")
    monkeypatch.setenv("CARDIOTRACE_CHECKPOINTS_DIR", str(tmp_path / "checkpoints"))
    assert main(["evaluate", "mri-seg-crop-loo", "--tag", "never-trained"]) == 2
    assert _error(capsys) == ("error: no finished fold with --tag never-trained to evaluate (train the folds listed "
                              "above first)")
