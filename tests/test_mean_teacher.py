"""The mean teacher of the clip EF fine-tune's pseudo-labels (lab/training/mean_teacher.py)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from lab.training.augment import augment_each  # noqa: E402
from lab.training.mean_teacher import EmaTeacher  # noqa: E402


def _net():
    from app.ml.nets.registry import build, echo_network

    torch.manual_seed(0)
    return build(*echo_network("base", [4, 8, 8], []))


def test_the_teacher_moves_a_decay_step_towards_the_student_and_copies_its_statistics():
    student = _net()
    teacher = EmaTeacher(student, 0.9)
    before = [p.detach().clone() for p in teacher.model.parameters()]
    with torch.no_grad():
        for p in student.parameters():
            p.add_(1.0)
        for b in student.buffers():
            if b.dtype.is_floating_point:
                b.add_(2.0)
    teacher.update(student)
    for old, new, theirs in zip(before, teacher.model.parameters(), student.parameters(), strict=True):
        assert torch.allclose(new, 0.9 * old + 0.1 * theirs, atol=1e-6)
        assert not new.requires_grad
    for mine, theirs in zip(teacher.model.buffers(), student.buffers(), strict=True):
        assert torch.equal(mine, theirs)
    assert not teacher.model.training
    with pytest.raises(SystemExit, match="ema-decay"):
        EmaTeacher(student, 1.0)


def test_the_teachers_labels_are_its_argmax_on_the_frames_as_given():
    from app.ml.inference import make_input

    teacher = EmaTeacher(_net(), 0.99)
    frames = np.random.default_rng(1).random((3, 32, 32)).astype(np.float32)
    labels = teacher.labels(frames, "cpu")
    with torch.no_grad():
        expected = teacher.model(make_input(torch.from_numpy(frames))).argmax(1).numpy()
    assert labels.dtype == np.uint8 and labels.shape == (3, 32, 32) and np.array_equal(labels, expected)


def test_each_frame_and_its_label_go_through_one_draw_of_the_geometry():
    frames = np.zeros((2, 32, 32), np.float32)
    labels = np.zeros((2, 32, 32), np.uint8)
    frames[:, 8:24, 12:20], labels[:, 8:24, 12:20] = 1.0, 1

    def shift(f, lb, rng):
        k = int(rng.integers(1, 5))
        return np.roll(f, k, axis=-1), np.roll(lb, k, axis=-1)

    out, out_labels = augment_each(frames, labels, np.random.default_rng(0), shift)
    assert out.dtype == np.float32 and out_labels.dtype == np.int64
    for f, lb in zip(out, out_labels, strict=True):
        assert np.array_equal(f > 0.5, lb == 1)
