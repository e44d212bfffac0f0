"""Average the weights of several fine-tunes of one network from the same start ("model soup").

Fine-tunes that start from the same weights and differ only in their random draws (batches, augmentation, the
clips' beats) land in one basin; their average keeps what they share and cancels part of what each drew by
chance, at the cost of one network at inference (Wortsman et al., ICML 2022). Used for the EF fine-tune of the
echo U-Net (issue 53, `train echo-clip-ef --seed S`), whose held-out bias swung from fold to fold.

    python -m lab.training.soup --name echo_seg_base --out OUT/models RUN1/models RUN2/models RUN3/models

Every member must hold `<name>` with the same network card; batch-norm statistics are averaged like the weights.
The soup is published with the first member's lab record (its data, loss and command), the members' commands,
and its own CAMUS hold-out Dice (`--data`, the last `--holdout` train patients, as the trainer measures it).
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from app.commands.usage import OneLineParser


def average_states(states: list[dict]) -> dict:
    """The element-wise mean of floating tensors (in float32); integer tensors (batch counters) from the first."""
    import torch

    out = {}
    for key, first in states[0].items():
        if first.is_floating_point():
            out[key] = torch.stack([s[key].float() for s in states]).mean(0).to(first.dtype)
        else:
            out[key] = first.clone()
    return out


def holdout_dice(model, data: Path | None, size: int, holdout: int) -> dict:
    """Hard Dice per class of `model` on the trainer's CAMUS hold-out (the last `holdout` train patients)."""
    import torch

    from app.ml.inference import make_input
    from lab.training.camus_data import load_split
    from lab.training.echo_seg import hard_dice_per_class, split_holdout

    _, held = split_holdout(load_split("train", size, data), holdout)
    frames = held.images.reshape(-1, *held.images.shape[2:])
    truth = held.labels.reshape(-1, *held.labels.shape[2:])
    with torch.no_grad():
        pred = model(make_input(torch.from_numpy(frames))).float().argmax(1).numpy()
    dice = hard_dice_per_class(pred, truth)
    return {"dice_lv": float(dice[0]), "dice_myo": float(dice[1]), "dice_la": float(dice[2]),
            "dice_mean": float(dice.mean())}


def soup(name: str, members: list[Path], out: Path, data: Path | None, holdout: int, argv: list[str]) -> dict:
    """Publish the average of `members`' `<name>` in `out`; returns its hold-out Dice."""
    from app.ml.weights import load_model, read_card
    from lab.model_notes import publish, read_metadata

    if len(members) < 2:
        raise SystemExit("a soup needs at least two members")
    cards = [read_card(name, m) for m in members]
    if any(c.network != cards[0].network for c in cards[1:]):
        raise SystemExit(f"the members' {name} networks differ: no soup")
    models = [load_model(name, device="cpu", root=m) for m in members]
    model = models[0]
    model.load_state_dict(average_states([m.state_dict() for m in models]))
    size = int(cards[0].preprocessing.input_size_px)
    metrics = holdout_dice(model.eval(), data, size, holdout)
    records = [read_metadata(name, m) for m in members]
    record = dict(records[0])
    for key in ("validation_metrics", "validation_commands", "headline", "metrics"):  # the member's, not the soup's
        record.pop(key, None)
    record.update({
        "command": "python -m lab.training.soup " + " ".join(shlex.quote(a) for a in argv),
        "command_history": [r.get("command", "unknown") for r in records],
        "soup_of": [str(m) for m in members],
        "training_data": f"weights averaged over {len(members)} fine-tunes, each: {record.get('training_data', '')}",
        "selection_metrics_holdout": {k: round(v, 4) for k, v in metrics.items()},
    })
    publish(model, name, record, out, half=cards[0].stored_dtype == "float16")
    return metrics


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = OneLineParser(prog="python -m lab.training.soup", description=__doc__.split("\n")[0])
    p.add_argument("members", type=Path, nargs="+", help="models folders, each holding <name>")
    p.add_argument("--name", default="echo_seg_base")
    p.add_argument("--out", type=Path, required=True, help="models folder to publish the soup in")
    p.add_argument("--data", type=Path, default=None, help="camus_a4c folder (default ../shared/data/camus_a4c)")
    p.add_argument("--holdout", type=int, default=24)
    args = p.parse_args(argv)
    metrics = soup(args.name, args.members, args.out, args.data, args.holdout, argv)
    print("soup of", len(args.members), "published in", args.out, {k: round(v, 4) for k, v in metrics.items()})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
