"""Echo LV segmentation inference: streaming (`EchoSegmenter`) and whole recordings (`segment_recording`, one
pass in frame order; the lab's offline variants are lab/evaluation/offline_segmentation.py).

Models: "temporal" (models/echo_seg_temporal, ConvLSTM U-Net, stateful) and "base" (models/echo_seg_base,
U-Net, per frame; optional weighted-moving-average smoothing of the class probabilities, window 6).
Frames are scaled 0..1 (Recording.frames_unit), area-resized to the network's square input, and the class
probabilities resized back (bilinear) to the recording's grid; pixels outside the sector mask are background.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Generator, Iterator, Sequence, overload

import cv2
import numpy as np

from app.analysis.masks import label_box
from app.data.recording import Recording
from app.ml.device import cpu_autocast
from app.ml.frame_store import EchoSegmentation, FrameStore
from app.ml.nets.registry import MODEL_NAMES, is_recurrent
from app.ml.prob_grid import to_grid
from app.ml.temporal_smoothing import wma_weights
from app.tasks import Cancel, Progress, is_cancelled, run_task

MODEL_FOLDERS = MODEL_NAMES
LONG_AXIS_FLAG_VIEWS = ("a3c", "plax")  # the views the network's long-axis input flag stands for


def _load(model: str, device_str: str, models_root: Path):
    """(net, model card) of the model in models_root (the installed models, or the site's: app/ml/site_model.py),
    cached per models folder (tests and bundles switch it)."""
    return _load_cached(model, device_str, str(models_root))


@lru_cache(maxsize=4)
def _load_cached(model: str, device_str: str, models_root: str):
    import torch

    from app.ml.weights import load_model, read_card

    name = MODEL_FOLDERS.get(model, model)
    root = Path(models_root)
    net = load_model(name, torch.device(device_str), root=root)
    return net, read_card(name, root)


@lru_cache(maxsize=4)
def _onnx_cached(model: str, device_str: str, models_root: str, threads: int, int8: bool = False,
                 ahead: bool = False):
    """ONNX Runtime session of an installed model: with `int8`, its int8 graph where the card has one made from these
    weights (app/ml/onnx_step.int8_graph), else the float32 graph exported from its checked weights; `ahead`: for
    a network running beside the host work (its threads do not poll: app/ml/onnx_step.cpu_session)."""
    from app.ml.onnx_step import OnnxFrameNet, int8_graph
    from app.ml.weights import model_dir

    net, card = _load_cached(model, device_str, models_root)
    graph = int8_graph(card, model_dir(MODEL_FOLDERS.get(model, model), Path(models_root))) if int8 else None
    return OnnxFrameNet(net, int(card.preprocessing.input_size_px), threads, card.provenance.sha256, graph,
                        spinning=not ahead)


def runs_int8(card, model: str, models_root: Path) -> bool:
    """Whether the model's int8 graph runs: its card makes it the default (or CARDIOTRACE_INT8 says so,
    app/ml/device.use_int8) and the graph beside the weights was made from them (app/ml/onnx_step.int8_graph)."""
    from app.ml.device import use_int8
    from app.ml.onnx_step import int8_graph
    from app.ml.weights import model_dir

    if card.int8 is None or not use_int8(card.int8.default):
        return False
    return int8_graph(card, model_dir(MODEL_FOLDERS.get(model, model), Path(models_root))) is not None


def clear_model_cache() -> None:
    """Forget loaded networks and sessions (tests and bundles that switch the models folder)."""
    _load_cached.cache_clear()
    _onnx_cached.cache_clear()


def make_input(frames, flag: float = 0.0):
    """torch (…, S, S) frames -> (…, 2, S, S): the image and the constant long-axis flag plane, the echo networks'
    input (inference here, the site's fine-tune, the lab's training)."""
    import torch

    return torch.stack([frames, torch.full_like(frames, float(flag))], dim=-3)


class EchoSegmenter:
    """Stateful per-frame segmentation. `reset()` at a new clip, `step(frame)` -> (4, H, W) probabilities."""

    def __init__(self, model: str = "temporal", device=None, bf16: bool | None = None, wma_window: int = 0,
                 long_axis: bool = False, models_root: Path | None = None, ahead: bool = False):
        import torch

        from app.ml.device import choose_device, inference_backend, network_ahead, network_batch, use_bf16

        self.device = device if device is not None else choose_device()
        root = models_root
        if root is None:
            from app.ml.weights import models_dir

            root = models_dir()
        self.net, self.card = _load(model, str(self.device), root)
        self._fmt = torch.channels_last if self.device.type == "cpu" else torch.contiguous_format
        self.net = self.net.to(memory_format=self._fmt)  # faster on CPU (benchmarks/NOTES.md)
        self.model = model
        self.size = int(self.card.preprocessing.input_size_px)
        self.temporal = is_recurrent(self.card.network.class_name)
        # The engine and precision the device calls for (app/ml/device.py): ONNX Runtime (the model's int8 graph
        # where its card makes that the default, else float32), or torch with bf16 autocast where the CPU computes
        # it natively (emulated, it is far slower); an explicit `bf16` asks for torch at that precision (False
        # still lets ONNX Runtime run).
        int8 = runs_int8(self.card, model, root)
        backend = inference_backend(self.device, int8)
        if bf16 is None:
            self.bf16 = backend == "torch" and use_bf16(self.device)
        else:
            self.bf16 = bool(bf16) and self.device.type == "cpu"
        self.onnx = None
        threads = torch.get_num_threads()
        # `ahead`: whole clips, the network in its own thread (probabilities) where the device says it pays
        self.ahead = ahead and not self.bf16 and network_ahead(self.device, backend, threads)
        if not self.bf16 and backend == "onnxruntime":
            self.onnx = _onnx_cached(model, str(self.device), str(root), threads, int8, self.ahead)
        # The long-axis flag plane (Smistad et al.: set for 3-chamber views) only means something to a network
        # trained with it set; ours saw A4C (and phantom A4C) only, where a set flag is out of distribution and
        # wipes out the LV. the card's preprocessing flag "long_axis_flag_trained" turns it on for a model trained with
        # A3C.
        self.flag = 1.0 if long_axis and self.card.flag("long_axis_flag_trained") else 0.0
        self.wma_window = 0 if self.temporal else int(wma_window)
        self.batch = network_batch(self.device, self.temporal) if self.onnx is None else 1  # whole clips only
        self._torch = torch
        self.reset()

    def reset(self) -> None:
        self._state = None
        self._history: list[np.ndarray] = []

    def step_net(self, x_net: np.ndarray) -> np.ndarray:
        """(S, S) float32 0..1 frame at the network size -> (4, S, S) float32 probabilities."""
        if self.onnx is not None:
            x = np.stack([x_net.astype(np.float32), np.full_like(x_net, self.flag, np.float32)])[None]
            probs, self._state = self.onnx.step(x, self._state)
            return self._smooth(probs[0])
        if not self.temporal:
            return self._smooth(self.batch_net(x_net[None])[0])
        torch = self._torch
        frame = torch.from_numpy(np.ascontiguousarray(x_net, dtype=np.float32))
        x = make_input(frame, self.flag)[None].to(self.device)
        x = x.contiguous(memory_format=self._fmt)
        with torch.inference_mode(), cpu_autocast(self.bf16):
            logits, self._state = self.net.step(x, self._state)
        return self._smooth(torch.softmax(logits.float(), 1)[0].cpu().numpy())

    @property
    def inference(self) -> str:
        """How the network runs, in words for the results and the report ("int8 on ONNX Runtime", "bf16 on the
        CPU", "float32 on CUDA": app/ml/device.engine_words); the int8 graph's EF moved by up to 6.6 points against
        float32 on a clinical clip (lab/notes/echo_seg_base.md)."""
        from app.ml.device import engine_words

        return engine_words(self.device, self.onnx.precision if self.onnx is not None else None, self.bf16)

    def batch_net(self, frames_net: np.ndarray) -> np.ndarray:
        """(B, S, S) frames of a per-frame network -> (B, 4, S, S) probabilities in one call (torch), before the
        moving average (_smooth); step_net runs a per-frame network's single frames through it too."""
        torch = self._torch
        frames = torch.from_numpy(np.ascontiguousarray(frames_net, dtype=np.float32))
        x = make_input(frames, self.flag).to(self.device).contiguous(memory_format=self._fmt)
        with torch.inference_mode(), cpu_autocast(self.bf16):
            return torch.softmax(self.net(x).float(), 1).cpu().numpy()

    def probabilities(self, frames_net: Sequence[np.ndarray] | np.ndarray) -> Generator[np.ndarray, None, None]:
        """(N, S, S) network inputs (an array, or a NetworkInput that makes each when asked) -> each frame's
        step_net probabilities, in order: `batch` frames per call (app/ml/device.network_batch), computed in a
        thread of their own, ahead of the caller's work on the frames before, when the segmenter was made `ahead`
        and the device says so (app/ml/device.network_ahead); the inputs are then made in that thread too."""
        from app.ahead import run_ahead

        if self.batch <= 1:
            return run_ahead(self.step_net, frames_net) if self.ahead else (self.step_net(x) for x in frames_net)
        batch, n = self.batch, len(frames_net)

        def chunk(first: int) -> np.ndarray:
            return self.batch_net(np.stack([frames_net[t] for t in range(first, min(first + batch, n))]))

        starts = range(0, n, batch)
        return self._frames_of(run_ahead(chunk, starts) if self.ahead else map(chunk, starts))

    def _frames_of(self, batches: Iterator[np.ndarray]) -> Generator[np.ndarray, None, None]:
        """Each frame's probabilities, moving average applied in frame order, from batches; closes `batches`."""
        try:
            for probs in batches:
                for p in probs:
                    yield self._smooth(p)
        finally:
            getattr(batches, "close", lambda: None)()

    def _smooth(self, probs: np.ndarray) -> np.ndarray:
        """(4, S, S) -> the weighted moving average of the last `wma_window` frames' (when set)."""
        if self.wma_window > 1:
            self._history = [probs, *self._history][: self.wma_window]
            w = wma_weights(len(self._history))
            probs = np.tensordot(w, np.stack(self._history), axes=1)
        return probs

    def step(self, frame: np.ndarray) -> np.ndarray:
        """(H, W) float 0..1 frame -> (4, H, W) float32 class probabilities on the same grid."""
        h, w = frame.shape
        small = cv2.resize(frame.astype(np.float32), (self.size, self.size), interpolation=cv2.INTER_AREA)
        return to_grid(self.step_net(small), (h, w))


def sector_box(sector: np.ndarray) -> tuple[int, int, int, int]:
    """(H, W) bool sector mask -> (row0, row1, col0, col1) bounding box (whole image when empty)."""
    box = label_box(sector, 0)
    if box is None:
        return 0, sector.shape[0], 0, sector.shape[1]
    return box[0].start, box[0].stop, box[1].start, box[1].stop


def recording_sector(recording: Recording, slice_index: int = 0) -> np.ndarray | None:
    """The recording's (H, W) sector mask when it matches its frames, else None."""
    h, w = recording.slice_frames(slice_index).shape[-2:]
    sector = recording.sector_mask
    return sector if sector is not None and sector.shape == (h, w) else None


class NetworkInput(Sequence[np.ndarray]):
    """The network's input of a slice's frames, each made when asked for (in the network's thread when it runs
    ahead, app/ahead.py, so that the analysis' own thread does not prepare the whole clip first): frame t's
    sector bounding box (row0, row1, col0, col1) scaled 0..1 and area-resized to the (size, size) square."""

    def __init__(self, recording: Recording, size: int, slice_index: int = 0):
        self._recording, self._size, self._slice = recording, int(size), int(slice_index)
        n, h, w = recording.slice_frames(slice_index).shape
        self.sector = recording_sector(recording, slice_index)
        self.box = sector_box(self.sector) if self.sector is not None else (0, h, 0, w)
        self._n = n

    def __len__(self) -> int:
        return self._n

    @overload
    def __getitem__(self, t: int) -> np.ndarray: ...

    @overload
    def __getitem__(self, t: slice) -> Sequence[np.ndarray]: ...

    def __getitem__(self, t):
        if isinstance(t, slice):
            return [self[k] for k in range(*t.indices(self._n))]
        if not -self._n <= t < self._n:
            raise IndexError(f"frame {t} of {self._n}")
        r0, r1, c0, c1 = self.box
        frame = self._recording.frames_unit(self._slice, frames=(t % self._n, slice(r0, r1), slice(c0, c1)))
        small: np.ndarray = cv2.resize(frame, (self._size, self._size), interpolation=cv2.INTER_AREA)
        return small


def network_frames(recording: Recording, size: int, slice_index: int = 0, frames=None
                   ) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """The network's input of a slice's frames (all, or the given indices): (N, size, size) float32 0..1, the
    sector's bounding box area-resized to the square input, and that box (row0, row1, col0, col1)."""
    inputs = NetworkInput(recording, size, slice_index)
    indices = range(len(inputs)) if frames is None else [int(t) for t in frames]
    return np.stack([inputs[t] for t in indices]), inputs.box


def start_segmentation(recording: Recording, model: str, slice_index: int = 0, keep_probabilities: bool = False,
                       hysteresis_margin: float = 0.0, device=None, wma_window: int = 0,
                       models_root: Path | None = None, ahead: bool = False
                       ) -> tuple[EchoSegmenter, NetworkInput, FrameStore]:
    """The segmenter of `model` (from models_root, else the installed models) for the recording's view (`ahead`:
    its network may run ahead in a thread, EchoSegmenter.probabilities), the slice's network input (T frames of
    (S, S), made as the network asks for them) and an empty store of its frames' results."""
    shape = recording.slice_frames(slice_index).shape
    if len(shape) != 3 or shape[0] == 0:
        raise ValueError(f"expected (T, H, W) frames, got {shape}")
    seg = EchoSegmenter(model, device=device, wma_window=wma_window, long_axis=recording.view in LONG_AXIS_FLAG_VIEWS,
                        models_root=models_root, ahead=ahead)
    small = NetworkInput(recording, seg.size, slice_index)
    store = FrameStore(shape, small.box, small.sector, seg.size, keep_probabilities,
                       hysteresis_margin)
    return seg, small, store


def segment_recording(
    recording: Recording,
    model: str = "temporal",
    *,
    cancel: Cancel = None,
    slice_index: int = 0,
    keep_probabilities: bool = False,
    hysteresis_margin: float = 0.0,
    device=None,
    models_root: Path | None = None,
) -> Iterator[Progress | EchoSegmentation]:
    """Segment every frame, in order (a recurrent model carries its state forward); yields Progress after each
    frame, carrying its labels (app.analysis.partial.FrameLabels, a view into the result's array) so the viewer
    can draw them, and finally one EchoSegmentation.

    cancel: callable (or threading.Event) checked before each frame; when it fires the generator stops
    without a result. hysteresis_margin: a pixel keeps the previous frame's label unless another class is more
    probable by more than this (app/ml/hysteresis.py). models_root: where the model's folder is (the site's,
    app/ml/site_model.py); the installed models by default.
    """
    seg, small, store = start_segmentation(recording, model, slice_index, keep_probabilities, hysteresis_margin,
                                           device, models_root=models_root, ahead=True)
    n = len(small)
    seg.reset()
    probabilities = seg.probabilities(small)  # the network may run ahead while this loop's caller traces
    try:
        for t in range(n):
            if is_cancelled(cancel):
                return
            store.store(t, next(probabilities))  # frame t is final: the viewer may trace and draw it now
            yield Progress((t + 1) / n, "segmenting", store.frame_labels(t, slice_index))
    finally:
        probabilities.close()  # a network thread stops with the task
    yield store.result(model, seg.inference)


def run_to_result(generator: Iterator[Progress | EchoSegmentation]) -> EchoSegmentation | None:
    """The segmentation of a segment_recording task (app.tasks.run_task), None when it was cancelled."""
    return run_task(generator)
