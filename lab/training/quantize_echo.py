"""An int8 ONNX graph of the shipped per-frame echo U-Net, calibrated on CAMUS (issue 56, item 1).

    python -m lab.training.quantize_echo                        # models/echo_seg_base/model_int8.onnx
    python -m lab.training.quantize_echo --out /tmp/q.onnx      # somewhere else (nothing in models/ changes)

The float32 graph is the one inference exports from the checked weights (app.ml.onnx_step.export_bytes, batch 1,
128 px). ONNX Runtime pre-processes it (shapes, graph optimisations) and quantises it statically (QDQ, int8 weights
per output channel, uint8 activations), with activation ranges from CAMUS *train* frames: ED and ES of the first
--patients patients, resized as inference resizes, every other one passed through a random clinical export
(lab.training.augment.clinical) so that the ranges cover the clips users open. CAMUS valid is never seen here: it
is what `evaluate echo-seg` scores the int8 path on. The last convolution and the softmax stay in float32 (the
probabilities feed the full-resolution label grid).

Without --out the graph goes beside the weights and the model card records it (file, sha256, the weights' sha256
it was made from, the calibration, the command); the app runs it only for those weights
(app.ml.onnx_step.int8_graph), and by default only where the card says so (--default: set once its accuracy was
measured to hold, lab/notes/echo_seg_base.md).
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from datetime import date
from pathlib import Path

import numpy as np

from app.commands.usage import OneLineParser

MODEL = "echo_seg_base"
INT8_FILE = "model_int8.onnx"


class _Frames:
    """ONNX Runtime's CalibrationDataReader over (N, S, S) float32 frames: one {"x": (1, 2, S, S)} at a time."""

    def __init__(self, frames: np.ndarray):
        self._frames = iter(frames)

    def get_next(self):
        frame = next(self._frames, None)
        if frame is None:
            return None
        return {"x": np.stack([frame, np.zeros_like(frame)])[None].astype(np.float32)}


def calibration_frames(patients: int, size: int, seed: int = 0) -> np.ndarray:
    """(2 x patients, S, S) float32: CAMUS train ED and ES frames, every other one through a clinical export."""
    from lab.training.augment import clinical
    from lab.training.camus_data import load_split

    data = load_split("train", size, limit=patients)
    frames = data.images.reshape(-1, size, size)
    labels = data.labels.reshape(-1, size, size)
    rng = np.random.default_rng(seed)
    out = frames.copy()
    for i in range(1, len(frames), 2):
        out[i] = clinical(frames[i:i + 1], labels[i:i + 1], rng)[0][0]
    return out.astype(np.float32)


def quantize(float_graph: bytes, frames: np.ndarray) -> bytes:
    """The int8 QDQ graph of `float_graph` (after ONNX Runtime's pre-processing: shapes inferred, graph
    optimised), activation ranges from `frames` (min-max); the last convolution (the logits) and the softmax stay
    in float32."""
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    with tempfile.TemporaryDirectory() as work:
        here = os.getcwd()
        os.chdir(work)  # the calibrator writes its augmented graph into the working folder
        try:
            raw, src, dst = (str(Path(work) / n) for n in ("float.onnx", "pre.onnx", "int8.onnx"))
            Path(raw).write_bytes(float_graph)
            quant_pre_process(raw, src)
            nodes = onnx.load(src).graph.node
            head = [n.name for n in nodes if n.op_type == "Softmax"]
            head += [n.name for n in nodes if n.op_type == "Conv"][-1:]
            quantize_static(src, dst, _Frames(frames), quant_format=QuantFormat.QDQ, per_channel=True,
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                            calibrate_method=CalibrationMethod.MinMax, nodes_to_exclude=head)
            return Path(dst).read_bytes()
        finally:
            os.chdir(here)


def install(graph: bytes, patients: int, seed: int, default: bool, command: str) -> Path:
    """The graph beside the weights and its entry in the model card."""
    from app.ml.model_card import load_card, write_card
    from app.ml.weights import model_dir

    folder = model_dir(MODEL)
    (folder / INT8_FILE).write_bytes(graph)
    card = load_card(folder / "metadata.json")
    entry = {"file": INT8_FILE, "sha256": hashlib.sha256(graph).hexdigest(),
             "from_weights_sha256": card.provenance.sha256,
             "calibration": f"CAMUS A4C train, ED and ES of the first {patients} patients (every other one through "
                            f"a random clinical export, seed {seed}); min-max ranges, QDQ, int8 weights per channel",
             "command": command, "date": date.today().isoformat(), "default": bool(default)}
    data = card.to_dict() | {"int8": entry}
    write_card(type(card).from_dict(data), folder / "metadata.json")
    return folder / INT8_FILE


def main(argv: list[str] | None = None) -> int:
    import torch

    from app.ml.onnx_step import export_bytes
    from app.ml.weights import load_model, read_card

    p = OneLineParser(prog="python -m lab.training.quantize_echo", description=__doc__.splitlines()[0])
    p.add_argument("--patients", type=int, default=100, help="CAMUS train patients to calibrate on (2 frames each)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=None, help="write the graph here instead of installing it")
    p.add_argument("--default", action="store_true", help="the card marks the int8 graph as the AVX2 default")
    args = p.parse_args(argv)
    torch.set_num_threads(2)
    card = read_card(MODEL)
    size = int(card.preprocessing.input_size_px)
    net = load_model(MODEL, torch.device("cpu"))
    graph = quantize(export_bytes(net, size), calibration_frames(args.patients, size, args.seed))
    if args.out is not None:
        args.out.write_bytes(graph)
        print(f"{args.out}: {len(graph) / 1e6:.2f} MB")
        return 0
    command = " ".join(["python -m lab.training.quantize_echo", *(sys.argv[1:] if argv is None else argv)])
    path = install(graph, args.patients, args.seed, args.default, command)
    print(f"{path}: {len(graph) / 1e6:.2f} MB, recorded in {path.parent / 'metadata.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
