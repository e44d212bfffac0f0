"""Issue 58: the adaptation curve on a simulated site (studies corrected -> accuracy on the site's other patients).

The site: CAMUS valid (50 patients the shipped U-Net never trained on) exported through one fixed export (SITES:
"export", a clinical export of the kind the shipped training's augmentation covers; "dark", darker, flatter and
coarser than anything it saw), each patient's two annotated frames (ED, ES) at the network's size. The last NEW
patients are the site's new patients, scored; the first N (5, 10, 20, 40) play the corrected studies, their expert
masks the corrections.
For each N, the building blocks `app adapt echo-seg` runs (app/ml/site_adapt.py: its patient split, fine-tune,
check and verdict), then on the new patients: Dice LV / myocardium / LA, EF error (monoplane disks of our masks
against the expert's, bias and MAE) and our LV area over the expert's at ED and ES, for the shipped model, the
site model (whatever its verdict) and what the user gets (the site model if accepted, else the shipped one).

    python -m lab.evaluation.site_adaptation --site export --json site_export.json
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from app.commands.usage import OneLineParser
from app.ml import site_adapt
from app.paths import write_json
from app.report.cli_hooks import output_file
from app.workflow.site_corrections import CorrectedFrame, CorrectionSet
from lab.data.degrade import Degradation, degrade_clip
from lab.training.camus_data import case_paths, load_case, resize_image, resize_labels

SITES = {  # one fixed export per simulated site
    "export": Degradation(size_px=112, codec="mjpeg", quality=35, gain=1.25, gamma=0.75, depth_cut=0.1,
                          blur_sigma_px=0.8),  # a clinical export, within the shipped training's augmentation
    "dark": Degradation(size_px=80, codec="mpeg4", gain=0.6, gamma=1.8, depth_cut=0.2,
                        blur_sigma_px=1.5),  # darker, flatter, coarser than anything the shipped training saw
}
SIZE = 128


def site_patients(site: Degradation, root: Path | None = None
                  ) -> list[tuple[str, list[CorrectedFrame], tuple[float, float]]]:
    """(patient, [ED, ES] frames as the site exports them, spacing_mm at the network size) of CAMUS valid."""
    out = []
    for path in case_paths("valid", root):
        case = load_case(path)
        clip = degrade_clip(case.images, case.spacing_mm, site, labels=case.labels)
        scale = clip.frames.shape[-1] / SIZE
        spacing = (clip.spacing_mm[0] * scale, clip.spacing_mm[1] * scale)
        frames = [CorrectedFrame(f"{case.patient}.json", case.patient, t, "hand", resize_image(clip.frames[t], SIZE),
                                 resize_labels(clip.labels[t], SIZE)) for t in (0, 1)]
        out.append((case.patient, frames, spacing))
    return out


def predict(net, frames: list[CorrectedFrame], device) -> np.ndarray:
    import torch

    from app.ml.inference import make_input

    with torch.inference_mode():
        x = make_input(torch.as_tensor(np.stack([f.image for f in frames]), device=device))
        return net(x).argmax(1).cpu().numpy().astype(np.uint8)


def figures(net, new, device) -> dict:
    """Dice, EF error and LV area ratios of `net` on the new patients."""
    from lab.evaluation.echo_phase import disks_volume_ml

    frames = [f for _, fs, _ in new for f in fs]
    dice = site_adapt.score(net, frames, device)
    ef_err, area_ed, area_es = [], [], []
    for _, fs, spacing in new:
        pred = predict(net, fs, device)
        ours = [disks_volume_ml(p, spacing) for p in pred]
        truth = [disks_volume_ml(f.labels, spacing) for f in fs]
        if all(ours) and all(truth):
            ef_err.append(100 * (1 - ours[1] / ours[0]) - 100 * (1 - truth[1] / truth[0]))
        ratio = [float((p == 1).sum()) / max(float((f.labels == 1).sum()), 1.0) for p, f in zip(pred, fs, strict=True)]
        area_ed.append(ratio[0])
        area_es.append(ratio[1])
    return {"dice_lv": round(dice.lv, 4), "dice_myo": round(dice.myocardium, 4), "dice_la": round(dice.la, 4),
            "ef_bias": round(float(np.mean(ef_err)), 2), "ef_mae": round(float(np.mean(np.abs(ef_err))), 2),
            "ef_n": len(ef_err), "area_ratio_ed": round(float(np.mean(area_ed)), 3),
            "area_ratio_es": round(float(np.mean(area_es)), 3)}


def adapt_row(n: int, corrected, new, steps: int, seed: int, device) -> dict:
    """One point of the curve: adapt on the first n patients (the command's split, fine-tune, check and verdict),
    score on the new ones whatever the verdict."""
    from app.tasks import run_task

    frames = tuple(f for _, fs, _ in corrected[:n] for f in fs)
    start = time.perf_counter()
    checked = run_task(site_adapt.train_and_check(CorrectionSet(frames, n, ()), steps=steps, seed=seed))
    accepted, reason = site_adapt.verdict(checked.shipped, checked.site)
    return {"studies": n, "seconds": round(time.perf_counter() - start, 1), "accepted": accepted, "reason": reason,
            "frames": len(frames), "site": figures(checked.net, new, device)}


def main(argv: list[str] | None = None) -> int:
    from app.ml.device import choose_device
    from app.ml.weights import load_model

    p = OneLineParser(prog="python -m lab.evaluation.site_adaptation", description=__doc__.split("\n")[0])
    p.add_argument("--site", choices=sorted(SITES), default="export", help="the simulated site's export (SITES)")
    p.add_argument("--counts", default="5,10,20,40", help="corrected studies per point of the curve")
    p.add_argument("--shipped-only", action="store_true", help="the shipped model's figures only")
    p.add_argument("--new", type=int, default=10, help="the site's new patients (the last of CAMUS valid)")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", type=output_file, default=None)
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    device = choose_device()
    patients = site_patients(SITES[args.site])
    corrected, new = patients[:-args.new], patients[-args.new:]
    shipped = figures(load_model(site_adapt.MODEL, device), new, device)
    print(f"shipped model on {len(new)} new patients: {shipped}", flush=True)
    if args.shipped_only:
        return 0
    rows = []
    for n in (int(c) for c in args.counts.split(",")):
        row = adapt_row(n, corrected, new, args.steps, args.seed, device)
        row["user_gets"] = row["site"] if row["accepted"] else shipped
        rows.append(row)
        print(json.dumps(row), flush=True)
    if args.json is not None:
        summary = {"site": args.site, "export": SITES[args.site].__dict__, "new_patients": [p for p, _, _ in new],
                   "shipped": shipped, "rows": rows}
        write_json(args.json, summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
