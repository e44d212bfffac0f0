"""One-frame echo segmentation in ONNX Runtime: the loaded torch network exported in memory, run on the CPU.

`OnnxFrameNet(net, size, threads, weights_sha256)` wraps a `UNet` or a `ConvLSTMUNet` whose weights were loaded
(and their sha256 checked) by app/ml/weights.py; the graph is exported from those weights (0.1-0.2 s, with
torch.onnx's imports) and kept in a cache folder under a name made of the weights' sha256, the input size, the
opset and torch's version, with the graph's own sha256 beside it (`graph_bytes`): a later start reads it back
only when both match, so it cannot drift from the weights. The folder: $CARDIOTRACE_ONNX_CACHE_DIR ("off": no
cache), else $XDG_CACHE_HOME/cardiotrace/onnx, else ~/.cache/cardiotrace/onnx; a folder that cannot be written
costs only the export. `step(x, state)` has the contract of
`ConvLSTMUNet.step` with softmax applied: x (1, 2, S, S) float32 -> (probabilities (1, 4, S, S), state),
where state is None before the first frame and then a tuple of numpy arrays (h, c per ConvLSTM level).
The networks' first frame (state None) equals a zero state, which is what the graph receives.
"""

from __future__ import annotations

import hashlib
import io
import os
import sys
import threading
import warnings
from pathlib import Path

import numpy as np

OPSET = 17
CACHE_ENV = "CARDIOTRACE_ONNX_CACHE_DIR"


def _exportable(net):
    """A torch module: (x, *flat state) -> (softmax probabilities, *flat new state)."""
    import torch

    class FrameStep(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, x, *flat):
            if not flat:
                return torch.softmax(self.inner(x), 1)
            pairs = [(flat[i], flat[i + 1]) for i in range(0, len(flat), 2)]
            logits, state = self.inner.step(x, pairs)
            return (torch.softmax(logits, 1), *[t for pair in state for t in pair])

    return FrameStep(net).eval()


def state_shapes(net, size: int) -> list[tuple[int, ...]]:
    """(1, C, S/2^l, S/2^l) for h and c of every ConvLSTM level (empty for a per-frame U-Net)."""
    if hasattr(net, "state_shapes"):
        return net.state_shapes(size)
    levels = getattr(net, "lstm_levels", ())
    return [(1, net.channels[lv], size >> lv, size >> lv) for lv in levels for _ in ("h", "c")]


def export_bytes(net, size: int) -> bytes:
    """The ONNX graph (float32, batch 1) of one frame of `net` at input size `size`."""
    import torch

    shapes = state_shapes(net, size)
    args = (torch.zeros(1, 2, size, size), *[torch.zeros(s) for s in shapes])
    names = ["x", *[f"state{i}" for i in range(len(shapes))]]
    outputs = ["probs", *[f"new_state{i}" for i in range(len(shapes))]]
    buffer = io.BytesIO()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        # torch writes to a file object too (the ignore below): its annotation names only paths
        torch.onnx.export(_exportable(net), args, buffer,  # type: ignore[arg-type]
                          input_names=names, output_names=outputs, opset_version=OPSET, dynamo=False)
    return buffer.getvalue()


def cache_root(environ=None) -> Path | None:
    """Where exported graphs are kept (see the module docstring), None when the cache is off."""
    environ = os.environ if environ is None else environ
    chosen = environ.get(CACHE_ENV, "").strip()
    if chosen.lower() == "off":
        return None
    if chosen:
        return Path(chosen)
    base = environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "cardiotrace" / "onnx"


def graph_bytes(net, size: int, weights_sha256: str | None = None, root: Path | None = None) -> bytes:
    """The ONNX graph of `net` at `size`: read from the cache when it holds the graph of these weights (their
    sha256) whose own sha256 matches, else exported (and stored for the next start when possible)."""
    import torch

    if not weights_sha256:
        return export_bytes(net, size)
    name = f"{type(net).__name__}-{weights_sha256[:32]}-{size}px-opset{OPSET}-torch{torch.__version__}"
    return cached_graph(name, lambda: export_bytes(net, size), root)


def cached_graph(name: str, export, root: Path | None = None) -> bytes:
    """The graph stored as `name` in the cache (cache_root, or `root`) when its own sha256 matches, else
    `export()` (bytes), stored for the next start when the folder can be written. `name` must say what the
    graph was exported from (the weights' sha256, the export's shapes, the opset, torch's version)."""
    root = cache_root() if root is None else root
    if root is None:
        return export()
    path, digest_path = root / f"{name}.onnx", root / f"{name}.sha256"
    try:
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() == digest_path.read_text().strip():
            return data
    except (OSError, UnicodeDecodeError):
        pass
    data = export()
    try:
        root.mkdir(parents=True, exist_ok=True)
        for target, content in ((path, data), (digest_path, hashlib.sha256(data).hexdigest().encode())):
            partial = target.with_name(f".{target.name}.{os.getpid()}.part")
            partial.write_bytes(content)
            os.replace(partial, target)  # graph first, then its digest: a reader never trusts a half-written graph
    except OSError:
        pass
    return data


# ONNX Runtime's library parses /proc/self/cmdline as it loads, in a recursion about 250 bytes of stack deep per
# byte of it: past ~32 KB of arguments (a shell glob of a few hundred files) an 8 MB thread stack overflows (exit 139).
LONG_COMMAND_LINE_BYTES = 16 * 1024
LOADER_STACK_BYTES_PER_COMMAND_LINE_BYTE = 512


def load_runtime_for_long_command_line(command_line: list[str]) -> bool:
    """Load ONNX Runtime now, in a thread whose stack fits `command_line` (the process's whole argv,
    `sys.orig_argv`), when that is long and the runtime is installed; True when it did. Loaded once, it is not
    parsed again: an analysis' threads, with their fixed 8 MB stacks, then find it in `sys.modules`."""
    command_line_bytes = sum(len(os.fsencode(arg)) + 1 for arg in command_line)
    if command_line_bytes < LONG_COMMAND_LINE_BYTES or "onnxruntime" in sys.modules:
        return False
    from app.ml.device import onnxruntime_available

    if not onnxruntime_available():
        return False
    stack_bytes = (16 << 20) + command_line_bytes * LOADER_STACK_BYTES_PER_COMMAND_LINE_BYTE
    failure: list[BaseException] = []

    def load() -> None:
        try:
            import onnxruntime  # noqa: F401
        except BaseException as error:  # noqa: BLE001  # raised again in the caller's thread
            failure.append(error)

    previous = threading.stack_size(stack_bytes)
    try:
        loader = threading.Thread(target=load, name="onnxruntime-loader")
        loader.start()  # the stack size applies to threads started, not made
    finally:
        threading.stack_size(previous)
    loader.join()
    if failure:
        raise failure[0]
    return True


def cpu_session(graph: bytes, threads: int, spinning: bool = True):
    """An ONNX Runtime session of `graph` on the CPU with `threads` threads inside each operator, all
    optimisations on, warnings only from errors up. Without `spinning` its threads sleep between operators instead
    of polling for work: a session that shares the cores with Python work running beside it (app/ahead.py)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, int(threads))
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    if not spinning:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])


def logits_graph(graph: bytes, root: Path | None = None) -> bytes | None:
    """`graph` without the Softmax over the classes (axis 1) that makes its first output, which then carries the
    logits under the same name; None when the first output is not made that way. ONNX Runtime's Softmax over axis 1
    of (1, 4, 128, 128) costs 0.8 ms, numpy's (softmax_classes) 0.07 (benchmarks/NOTES.md). Kept in the graph cache
    (cached_graph) under the source graph's sha256, so that the onnx package is imported only the first time."""
    digest = hashlib.sha256(graph).hexdigest()
    stripped = cached_graph(f"logits-{digest[:40]}", lambda: _strip_softmax(graph) or b"", root)
    return stripped or None


def _strip_softmax(graph: bytes) -> bytes | None:
    import onnx

    model = onnx.load_from_string(graph)
    nodes = model.graph.node
    output = model.graph.output[0].name
    last = next((n for n in nodes if output in n.output), None)
    if last is None or last.op_type != "Softmax" or len(model.graph.output[0].type.tensor_type.shape.dim) < 2:
        return None
    axis = next((onnx.helper.get_attribute_value(a) for a in last.attribute if a.name == "axis"), -1)
    if axis not in (1, 1 - len(model.graph.output[0].type.tensor_type.shape.dim)):
        return None
    for node in nodes:  # the node before the softmax now writes the graph's output
        node.output[:] = [output if name == last.input[0] else name for name in node.output]
        if node is not last:
            node.input[:] = [output if name == last.input[0] else name for name in node.input]
    nodes.remove(last)
    return bytes(model.SerializeToString())


def class_session(graph: bytes, threads: int, spinning: bool = True):
    """(cpu_session of `graph` without its final softmax where logits_graph can take it off, whether the caller
    applies softmax_classes to the first output): the softmax in numpy, a tenth of ONNX Runtime's cost."""
    logits = logits_graph(graph)
    return cpu_session(logits if logits is not None else graph, threads, spinning), logits is not None


def softmax_classes(logits: np.ndarray) -> np.ndarray:
    """Softmax over axis 1 (the classes) of (N, K, ...) float32 logits, computed in their array."""
    logits -= logits.max(axis=1, keepdims=True)
    np.exp(logits, out=logits)
    logits /= logits.sum(axis=1, keepdims=True)
    return logits


def int8_graph(card, folder: Path) -> bytes | None:
    """The int8 graph a model card names (lab.training.quantize_echo), or None: when the card has none, when it
    was made from other weights than the card's (a retrained or site model), or when the file is missing or not
    the one recorded (its sha256). The caller then runs the float32 graph."""
    entry = getattr(card, "int8", None)
    if entry is None or entry.from_weights_sha256 != card.provenance.sha256:
        return None
    try:
        data = (Path(folder) / entry.file).read_bytes()
    except OSError:
        return None
    return data if hashlib.sha256(data).hexdigest() == entry.sha256 else None


class OnnxFrameNet:
    """ONNX Runtime session for one frame of an echo network (see the module docstring). `graph`: a graph to
    run instead of the float32 export (the model's int8 graph, int8_graph); `precision` says which runs; `spinning`:
    see cpu_session."""

    def __init__(self, net, size: int, threads: int = 2, weights_sha256: str | None = None,
                 graph: bytes | None = None, spinning: bool = True):
        self.shapes = state_shapes(net, size)
        self.temporal = bool(self.shapes)
        self.precision = "float32" if graph is None else "int8"
        self.session, self.softmax = class_session(
            graph if graph is not None else graph_bytes(net, size, weights_sha256), threads, spinning)
        self.state_names = [f"state{i}" for i in range(len(self.shapes))]

    def step(self, x: np.ndarray, state: tuple | None = None) -> tuple[np.ndarray, tuple | None]:
        """x (1, 2, S, S) float32; state None or the previous call's -> (probs (1, 4, S, S), new state)."""
        feeds = {"x": np.ascontiguousarray(x, dtype=np.float32)}
        if self.temporal:
            state = state if state is not None else tuple(np.zeros(s, np.float32) for s in self.shapes)
            feeds.update(zip(self.state_names, state, strict=True))
        out = self.session.run(None, feeds)
        probs = softmax_classes(out[0]) if self.softmax else out[0]
        return probs, (tuple(out[1:]) if self.temporal else None)
