"""Short-axis MRI networks in ONNX Runtime: a member without ConvLSTMs run image by image on the CPU.

Where inference runs on ONNX Runtime (app.ml.device.inference_backend: a CPU without native bf16, the common
laptop), a MultiLevelConvLSTMNet whose temporal mode is "none" (every member of the shipped ensemble) is a
per-image CNN; its graph, exported with any number of images and any height and width (multiples of 4), gives
torch's float32 probabilities, faster (figures: benchmarks/NOTES.md, measured by benchmarks/mri_segmentation.py).
A member with ConvLSTMs stays in torch: its cycle runs over the phases in a loop that a fixed graph would not
follow.

`OnnxImageNet(member, threads)` exports the member from its loaded weights (named by the sha256 of their
bytes, so a graph never outlives its weights) and keeps the graph in the cache of app/ml/onnx_step.py.
`probabilities(x)`: x (N, C, H, W) float32 in 0..1 -> (N, K, H, W) softmax. `onnx_member(net)` gives the
session of a member where it applies (one per member, thread count and weights' version, kept while the member
lives), None elsewhere.
"""

from __future__ import annotations

import hashlib
import io
import threading
import warnings
import weakref

import numpy as np

from app.ml.onnx_step import OPSET, cached_graph, class_session, softmax_classes

# Images per session run. Each session's memory arena grows to the largest run it has seen and keeps it: a
# 25-phase run of each of the five members made the analysis of a 10 x 25 stack (192 px box) peak at 2.7 GB
# against torch's 0.9 GB; one image a run peaks at 0.63 GB, as fast (15.5 s; 5 a run: 1.0 GB, 15.6 s).
IMAGES_PER_RUN = 1

_SESSIONS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def runs_per_image(net) -> bool:
    """A float32 MultiLevelConvLSTMNet without ConvLSTMs (each image segmented on its own)."""
    import torch

    from app.ml.nets.mri_multilevel import MultiLevelConvLSTMNet

    return (isinstance(net, MultiLevelConvLSTMNet) and net.lstm_half is None and net.lstm_quarter is None
            and all(p.dtype == torch.float32 for p in net.parameters()))


def _weights_version(net) -> int:
    """A number that changes whenever a parameter or buffer of `net` is written in place (torch's version
    counters): a session is rebuilt after training steps or a load_state_dict."""
    return sum(t._version for t in net.state_dict(keep_vars=True).values())


def weights_sha256(net) -> str:
    """sha256 over the member's parameters and buffers (names, shapes and float32 bytes), in state-dict order."""
    digest = hashlib.sha256()
    for name, tensor in net.state_dict().items():
        array = tensor.detach().cpu().float().numpy() if tensor.is_floating_point() else tensor.detach().cpu().numpy()
        digest.update(f"{name}{tuple(array.shape)}".encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def export_bytes(net) -> bytes:
    """The ONNX graph (float32) of a per-image member: x (N, C, H, W) -> softmax probabilities (N, K, H, W)."""
    import torch

    class Images(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, x):
            return torch.softmax(self.inner(x[:, None], cycle=False)[:, 0], 1)

    was_training = net.training
    example = torch.zeros(2, net.in_channels, 64, 64)
    buffer = io.BytesIO()
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
            # torch writes to a file object too (the ignore below): its annotation names only paths
            torch.onnx.export(Images(net).eval(), (example,), buffer,  # type: ignore[arg-type]
                              input_names=["x"], output_names=["probs"],
                              opset_version=OPSET, dynamo=False,
                              dynamic_axes={"x": {0: "n", 2: "h", 3: "w"}, "probs": {0: "n", 2: "h", 3: "w"}})
    finally:
        net.train(was_training)
    return buffer.getvalue()


class OnnxImageNet:
    """ONNX Runtime session of one per-image MRI member (see the module docstring)."""

    def __init__(self, net, threads: int = 2):
        import torch

        if not runs_per_image(net):
            raise ValueError("only a MultiLevelConvLSTMNet without ConvLSTMs runs image by image")
        name = (f"{type(net).__name__}-images-{weights_sha256(net)[:32]}-c{net.in_channels}"
                f"-opset{OPSET}-torch{torch.__version__}")
        self.session, self.softmax = class_session(cached_graph(name, lambda: export_bytes(net)), threads)

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """x (N, C, H, W) float32 -> (N, K, H, W) float32 class probabilities, IMAGES_PER_RUN images a run."""
        x = np.ascontiguousarray(x, dtype=np.float32)
        runs = [self.session.run(None, {"x": x[i:i + IMAGES_PER_RUN]})[0] for i in range(0, len(x), IMAGES_PER_RUN)]
        if self.softmax:
            runs = [softmax_classes(r) for r in runs]
        return runs[0] if len(runs) == 1 else np.concatenate(runs)


def onnx_member(net) -> OnnxImageNet | None:
    """The ONNX Runtime session that runs `net` where the backend is ONNX Runtime (app.ml.device) and `net`
    runs image by image, else None (torch runs it). Kept per member, torch thread count and weights' version."""
    import torch

    from app.ml.device import inference_backend

    if not runs_per_image(net) or inference_backend(next(net.parameters()).device) != "onnxruntime":
        return None
    key = (torch.get_num_threads(), _weights_version(net))
    with _LOCK:
        held = _SESSIONS.get(net)
        if held is None or held[0] != key:
            held = (key, OnnxImageNet(net, key[0]))
            _SESSIONS[net] = held
        return held[1]
