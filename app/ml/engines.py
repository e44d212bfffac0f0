"""Which engine and precision run each network here, in words for the status bar.

The echo U-Net runs its int8 graph on ONNX Runtime wherever its card makes that the default, while the MRI networks
(no int8 graph) run in torch's bf16 on CPUs that compute it natively and in ONNX Runtime's float32 on the others
(app/ml/device.inference_backend): one word for the whole CPU would be wrong for one of them.
"""

from __future__ import annotations

from app.ml import DEFAULT_ECHO_MODEL
from app.ml.device import choose_device, inference_backend, use_bf16
from app.ml.inference import MODEL_FOLDERS, runs_int8


def echo_engine(device, model: str = DEFAULT_ECHO_MODEL) -> str:
    """How the echo network `model` runs its frames on `device`, as EchoSegmenter chooses, read from the model card
    without loading the network: "int8, ONNX Runtime", "float32, ONNX Runtime", "bf16, torch" or "float32, torch";
    the site's own fine-tune where one is switched on (app/ml/site_model.py); "not installed" without a card."""
    from app.ml.site_model import active_site_model
    from app.ml.weights import WeightsError, models_dir, read_card

    name = MODEL_FOLDERS.get(model, model)
    site = active_site_model(name)
    root = site.folder.parent if site is not None else models_dir()
    try:
        card = read_card(name, root)
    except WeightsError:
        return "not installed"
    if runs_int8(card, model, root) and inference_backend(device, True) == "onnxruntime":
        return "int8, ONNX Runtime"
    return float_engine(device)


def float_engine(device) -> str:
    """How a network without an int8 graph running (the MRI members, the echo ConvLSTM) runs on the CPU `device`."""
    if inference_backend(device) == "onnxruntime":
        return "float32, ONNX Runtime"
    return f"{'bf16' if use_bf16(device) else 'float32'}, torch"


def device_label() -> str:
    """The status bar's device: the GPU's name, or the CPU's threads with the engine of the echo U-Net and of the
    MRI networks, e.g. 'CPU, 2 threads (echo: int8, ONNX Runtime; MRI: bf16, torch)'."""
    import torch

    dev = choose_device()
    if dev.type == "cuda":
        return f"GPU: {torch.cuda.get_device_name(dev)}"
    n = torch.get_num_threads()
    return f"CPU, {n} thread{'' if n == 1 else 's'} (echo: {echo_engine(dev)}; MRI: {float_engine(dev)})"
