"""Short-axis MRI segmentation inference of the four-class whole-slice network (LV pool, myocardium, RV pool):
every phase of every slice, back on the recording's grid.

Every slice is prepared whole (app/ml/mri_preprocess.py) and one member finds the heart on two phases of every
slice, wherever it lies in the image; the ensemble then segments the heart's box with 40 mm around it
(app/ml/mri_heart_box.py), or the whole slices when that box would be most of them. Class probabilities are
averaged over test-time flips and quarter turns (`tta_views`; an ensemble shares the views among its members),
resampled to the recording's grid, and cleaned over the stack (app/ml/mri_stack_cleanup.py). The earlier
three-class crop model runs in the lab only (lab/training/mri_crop_inference.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generator, Iterator

import numpy as np

from app.data.recording import Recording
from app.ml.mri_basal_rv import borderline_rv, without_atrial_rv
from app.ml.mri_heart_box import locate, located_phases, predict_in_box
from app.ml.mri_preprocess import neighbour_channels, prepare_slice, probabilities_to_recording, reference_channels
from app.ml.mri_stack_cleanup import clean_stack
from app.tasks import Cancel, Progress, is_cancelled

MODEL_NAME = "mri_seg"
INFERENCE = "heartbox1"  # names what segment_stack does (the lab's prediction caches are kept per inference)


@dataclass(frozen=True)
class MriSegmentation:
    """labels (S, T, H, W) uint8 on the recording grid: 0 background, 1 LV blood pool, 2 myocardium, and
    3 RV blood pool from a four-class model; confidence (S, T) mean max-probability inside the predicted LV;
    atrial_rv: the basal regions the network drew as RV and the clean-up left out as right atrium, and
    borderline_rv: the basal calls (left out or kept) within that rule's uncertainty (app/ml/mri_basal_rv.py),
    both reported per phase as the segmenter's flags (flagged_frames, flag_reasons)."""

    labels: np.ndarray
    confidence: np.ndarray
    center_rc: tuple[float, float]
    atrial_rv: tuple = ()
    borderline_rv: tuple = ()
    inference: str = ""  # how the networks ran (mri_engine_words), "" when not said

    @property
    def flagged_frames(self) -> tuple[int, ...]:
        return tuple(sorted({r.phase for r in self.atrial_rv + self.borderline_rv}))

    @property
    def flag_reasons(self) -> tuple[str, ...]:
        return tuple("; ".join(r.reason() for r in self.atrial_rv + self.borderline_rv if r.phase == t)
                     for t in self.flagged_frames)


# Test-time augmentation: the input is also segmented flipped and turned (the net was trained with flips and
# rotations) and the class probabilities averaged back on the original orientation. 0 = off.
TTA_VIEWS = 8
_DIHEDRAL = tuple((k, flip) for flip in (False, True) for k in range(4))  # (quarter turns, mirror)


def predict_cycle_probs(net, cine_crop: np.ndarray, tta_views: int | None = None) -> np.ndarray:
    """(T, S, S) or (T, C, S, S) (a slice with its neighbours) float 0..1 crop -> (T, K, S, S) float32 class
    probabilities, averaged over the first
    tta_views (default TTA_VIEWS, at most 8) flips/quarter turns of the crop (0 or 1: the crop as it is).
    An ensemble (app/ml/nets/mri_ensemble.py) shares the views among its members in turn (member i % M
    segments view i), so it costs max(views, members) forward passes, as many as one network's TTA."""
    from app.ml.nets.mri_ensemble import members_of

    views = _DIHEDRAL[:max(1, min(len(_DIHEDRAL), TTA_VIEWS if tta_views is None else int(tta_views)))]
    members = members_of(net)
    passes = max(len(views), len(members))
    total = None
    for i in range(passes):
        turns, mirror = views[i % len(views)]
        view = np.rot90(cine_crop[..., ::-1] if mirror else cine_crop, turns, axes=(-2, -1))
        probs = np.rot90(_net_probs(members[i % len(members)], view), -turns, axes=(2, 3))
        probs = probs[:, :, :, ::-1] if mirror else probs
        total = probs if total is None else total + probs
    assert total is not None  # passes >= 1
    return np.ascontiguousarray(total / passes, dtype=np.float32)


def _net_probs(net, cine_crop: np.ndarray) -> np.ndarray:
    """(T, S, S) or (T, C, S, S) -> (T, K, S, S) softmax of one forward pass: in ONNX Runtime where the backend is
    ONNX Runtime and the network runs image by image (app/ml/onnx_mri.py: a CPU without native bf16, faster than
    torch's float32), else torch, in bf16 autocast where the CPU computes bf16 natively (faster, probabilities close
    to float32's), else float32 (app/ml/device.py decides both; figures in benchmarks/NOTES.md)."""
    import torch

    from app.ml.device import cpu_autocast, use_bf16
    from app.ml.onnx_mri import onnx_member

    images = np.ascontiguousarray(cine_crop, np.float32)
    images = images[:, None] if images.ndim == 3 else images  # (T, C, S, S)
    session = onnx_member(net)
    if session is not None:
        return session.probabilities(images)
    was_training = net.training
    net.eval()
    device = next(net.parameters()).device
    with torch.inference_mode(), cpu_autocast(use_bf16(device)):
        x = torch.from_numpy(images)[None].to(device)
        probs = torch.softmax(net(x)[0].float(), dim=1).cpu().numpy()
    net.train(was_training)
    return probs


CYCLE_WORDS = {"none": "phase by phase", "single": "over the cardiac cycle (ConvLSTM)",
               "multi": "over the cardiac cycle (multi-level ConvLSTM)"}  # a member's `temporal`, in words


def mri_engine_words(net) -> str:
    """How _net_probs runs the network or ensemble, in words (app/ml/device.engine_words): ONNX Runtime float32
    where its members run there, else torch (bf16 where the CPU computes it natively), then whether each phase was
    segmented on its own or the network followed the cycle (CYCLE_WORDS). The RV EF of one ACDC patient moved by
    12 points between the two engines (lab/notes/mri_seg.md, session 31)."""
    from app.ml.device import engine_words, use_bf16
    from app.ml.nets.mri_ensemble import members_of
    from app.ml.onnx_mri import onnx_member

    first = members_of(net)[0]
    device = next(first.parameters()).device
    engine = engine_words(device, "float32" if onnx_member(first) is not None else None, use_bf16(device))
    return f"{engine}, {CYCLE_WORDS[getattr(first, 'temporal', 'none')]}"


def shipped_card():
    """The ModelCard of models/mri_seg, None when there is none (or it is off the schema)."""
    from app.ml.weights import WeightsError, read_card

    try:
        return read_card(MODEL_NAME)
    except WeightsError:
        return None


def shipped_tta_views() -> int | None:
    """The shipped model's test-time views (card preprocessing.tta_views), None when it does not say."""
    card = shipped_card()
    return None if card is None else card.preprocessing.tta_views


def shipped_is_whole_slice() -> bool:
    """True when the shipped model's card names the whole-slice preprocessing (app/ml/mri_preprocess.py)."""
    card = shipped_card()
    return card is not None and card.preprocessing.kind == "whole_slice"


def load_mri_model(device=None):
    """The shipped MRI network from models/mri_seg (sha256 checked; one network or an ensemble, as its metadata
    says); channels-last on the CPU (faster there)."""
    import torch

    from app.ml.device import choose_device
    from app.ml.weights import load_model

    net = load_model(MODEL_NAME, device or choose_device())
    on_cpu = next(net.parameters()).device.type == "cpu"
    return net.to(memory_format=torch.channels_last) if on_cpu else net


def segment_stack(recording: Recording, net=None, cancel: Cancel = None,
                  tta_views: int | None = None) -> Iterator[Progress | MriSegmentation]:
    """Cancellable generator (cancel: a threading.Event or a callable, app.tasks): Progress per slice, then
    the MriSegmentation of the whole (S, T) stack, by the four-class whole-slice network
    (tta_views default: the model card's preprocessing.tta_views). A model folder whose card names another
    preprocessing (the earlier crop model, now in lab/) is refused."""
    from app.ml.weights import WeightsError

    if net is None:
        if not shipped_is_whole_slice():
            raise WeightsError(f"model '{MODEL_NAME}' is not a whole-slice model; the app runs only those")
        net = load_mri_model()
    views = tta_views if tta_views is not None else (shipped_tta_views() or DEFAULT_TTA_VIEWS)
    yield from segment_whole_slices(recording, net, cancel, views)


def labels_and_confidence(probs: np.ndarray, lv_labels: tuple[int, ...] = (1,)) -> tuple[np.ndarray, np.ndarray]:
    """(T, C, H, W) class probabilities on the recording grid -> (T, H, W) uint8 argmax labels and (T,) confidence:
    the mean max-probability inside the predicted LV (labels lv_labels), 0 where there is none."""
    labels = probs.argmax(axis=1).astype(np.uint8)
    peak = probs.max(axis=1)
    lv = np.isin(labels, lv_labels)
    confidence = np.array([float(peak[t][lv[t]].mean()) if lv[t].any() else 0.0 for t in range(len(labels))],
                          np.float32)
    return labels, confidence


DEFAULT_TTA_VIEWS = 4
REFERENCE_CHANNELS = 2  # each phase with the same slice's reference (end-diastolic) phase


def input_channels(net) -> int:
    """Input channels of a short-axis network or ensemble: 1, 3 with the neighbouring slices, or 2 with the
    slice's end-diastolic phase (REFERENCE_CHANNELS)."""
    from app.ml.nets.mri_ensemble import members_of

    return int(getattr(members_of(net)[0], "in_channels", 1))


def stack_probabilities(net, frames: np.ndarray, spacing_mm: tuple[float, float], out_hw: tuple[int, int],
                        tta_views: int = DEFAULT_TTA_VIEWS, reference_phase: int = 0) -> Iterator[np.ndarray]:
    """(S, T, H, W) raw stack -> per slice, in order, its (T, C, H, W) class probabilities on the recording grid
    (each slice prepared once per pass, with its neighbours or its `reference_phase` when the network takes them;
    at most three kept). The ensemble and its views segment the heart's box (app/ml/mri_heart_box.py), found
    first by one member on two phases of every slice."""
    from app.ml.nets.mri_ensemble import members_of

    inputs = _SliceInputs(net, frames, spacing_mm, reference_phase)
    phases = located_phases(frames.shape[1])
    first = members_of(net)[0]
    box = locate(lambda x: _net_probs(first, x), [inputs.stacked(s)[phases] for s in range(len(frames))],
                 inputs.grid_hw)
    inputs.forget()
    for s in range(len(frames)):
        probs = predict_in_box(lambda x: predict_cycle_probs(net, x, tta_views), inputs.stacked(s), box)
        yield probabilities_to_recording(probs, inputs.grid_hw, out_hw)


class _SliceInputs:
    """Each slice of a stack as its network input (T, [C,] H', W'), prepared (app/ml/mri_preprocess.py) as the
    slices are asked for in order: a slice's grid is kept while its neighbours may still need it."""

    def __init__(self, net, frames: np.ndarray, spacing_mm: tuple[float, float], reference_phase: int):
        self.frames, self.spacing_mm, self.reference_phase = frames, spacing_mm, reference_phase
        self.channels = input_channels(net)
        self.prepared: dict[int, tuple[np.ndarray, tuple[int, int]]] = {}
        self.grid_hw = prepare_slice(frames[0][:1], spacing_mm)[1]

    def grid(self, s: int) -> np.ndarray | None:
        if not 0 <= s < len(self.frames):
            return None
        if s not in self.prepared:
            self.prepared[s] = prepare_slice(self.frames[s], self.spacing_mm)
        return self.prepared[s][0]

    def stacked(self, s: int) -> np.ndarray:
        this = self.grid(s)
        assert this is not None  # s is one of the stack's slices
        if self.channels == REFERENCE_CHANNELS:
            out = reference_channels(this, self.reference_phase)
        else:
            wide = self.channels > 1
            context = (self.grid(s - 1) if wide else None, this, self.grid(s + 1) if wide else None)
            out = neighbour_channels(*context, self.channels)
        self.prepared.pop(s - 1, None)
        return out

    def forget(self) -> None:
        self.prepared.clear()


def segment_whole_slices(recording: Recording, net, cancel: Cancel = None, tta_views: int = DEFAULT_TTA_VIEWS,
                         clean: bool = True) -> Iterator:
    """Cancellable generator: Progress per slice, then the MriSegmentation of the (S, T) stack
    (labels 0 background, 1 LV pool, 2 myocardium, 3 RV pool), finished by finish_stack when `clean`."""
    frames = recording.frames if recording.is_stack else recording.frames[None]
    height, width = frames.shape[-2:]
    result = yield from stack_labels(net, frames, recording.spacing_mm, tta_views, cancel)
    if result is None:
        return
    labels, confidence = result
    atrial_rv, borderline = (), ()
    if clean:
        labels, atrial_rv, borderline = finish_stack(labels)
    yield Progress(1.0, "segmentation done")
    yield MriSegmentation(labels, confidence, lv_centre_rc(labels, (height, width)), atrial_rv, borderline,
                          mri_engine_words(net))


def finish_stack(labels: np.ndarray) -> tuple[np.ndarray, tuple, tuple]:
    """(S, T, H, W) argmax labels -> the stack clean-up (app/ml/mri_stack_cleanup.py), then the basal RV that is
    right atrium left out (app/ml/mri_basal_rv.py): (labels, the atrial regions left out, the basal calls
    within the rule's uncertainty)."""
    cleaned = clean_stack(labels)
    finished, atrial_rv = without_atrial_rv(cleaned)
    return finished, atrial_rv, borderline_rv(cleaned)


def stack_labels(net, frames: np.ndarray, spacing_mm: tuple[float, float], tta_views: int = DEFAULT_TTA_VIEWS,
                 cancel: Cancel = None) -> Generator[Progress, None, tuple[np.ndarray, np.ndarray] | None]:
    """(S, T, H, W) raw stack -> Progress per slice; returns (generator return value) the argmax labels
    (S, T, H, W) uint8 and the confidence (S, T), or None when cancelled.

    A network that sees each phase beside the slice's end-diastolic phase (REFERENCE_CHANNELS) is given phase 0
    as that reference first (a gated cine starts at the R wave; a 2-phase stack holds ED first). When the
    largest LV pool of that pass is at another phase, not next to phase 0 in the cycle (a 2-phase stack stored
    ES first, a cine cut to start later in the cycle), the stack is segmented again with that phase as ED."""
    first = yield from _labels_with_reference(net, frames, spacing_mm, tta_views, 0, cancel)
    if first is None or input_channels(net) != REFERENCE_CHANNELS:
        return first
    ed = end_diastolic_phase(first[0])
    n_phases = frames.shape[1]
    if ed == 0 or (n_phases > 2 and min(ed, n_phases - ed) <= 1):
        return first
    return (yield from _labels_with_reference(net, frames, spacing_mm, tta_views, ed, cancel))


def end_diastolic_phase(labels: np.ndarray) -> int:
    """The phase of (S, T, H, W) labels with the most LV pool voxels (label 1) over the stack."""
    return int(np.argmax((labels == 1).sum(axis=(0, 2, 3))))


def _labels_with_reference(net, frames, spacing_mm, tta_views, reference_phase: int, cancel):
    n_slices, n_phases, height, width = frames.shape
    labels = np.zeros(frames.shape, np.uint8)
    confidence = np.zeros((n_slices, n_phases), np.float32)
    slices = stack_probabilities(net, frames, spacing_mm, (height, width), tta_views, reference_phase)
    again = f", again with phase {reference_phase + 1} as end-diastole" if reference_phase else ""
    for s in range(n_slices):
        if is_cancelled(cancel):
            return None
        yield Progress(s / n_slices, f"segmenting slice {s + 1} of {n_slices}{again}")
        labels[s], confidence[s] = labels_and_confidence(next(slices))
    return labels, confidence


def lv_centre_rc(labels: np.ndarray, hw: tuple[int, int]) -> tuple[float, float]:
    """Mean (row, col) of the LV pool over the stack; the image centre when there is none."""
    rows, cols = np.nonzero((labels == 1).any(axis=(0, 1)))
    return (float(rows.mean()), float(cols.mean())) if len(rows) else (hw[0] / 2.0, hw[1] / 2.0)
