"""LV/RV volumes, EF and myocardial mass from ACDC's expert labels through `analyze`, against ACDC's reference.

Usage: .venv/bin/python benchmarks/acdc_label_volumes.py [--data ../shared/data/acdc] [--limit N] [--es-first]
Each patient's ED and ES volumes are written as a user would have them: a 4D NIfTI of two phases (ED then ES;
--es-first swaps them, so ED must be found as the phase with the larger LV) with the estimated spacing, and
its labels (remapped to ours: 1 LV, 2 myocardium, 3 RV) as a 4D NIfTI given with `analyze --labels`. Prints,
per ACDC group and overall, bias +- SD, mean and largest absolute error of LV and RV EDV/ESV (ml), EF
(points) and the myocardial mass at ED (g; reference = 1.05 g/ml x ACDC's myocardial volume). The labels are
the reference's own, so the errors are the contour and slice-summation method's alone (polygons at the
0.5 level of the pixel masks, against voxel counts).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

FIELDS = (("lv_edv", "edv_ml", "lv_edv_ml"), ("lv_esv", "esv_ml", "lv_esv_ml"), ("lv_ef", "ef_pct", "lv_ef_pct"),
          ("rv_edv", "rv_edv_ml", "rv_edv_ml"), ("rv_esv", "rv_esv_ml", "rv_esv_ml"),
          ("rv_ef", "rv_ef_pct", "rv_ef_pct"), ("mass", "myocardial_mass_g", "myo_mass_g_ed"))


def case_errors(case, folder: Path, es_first: bool = False) -> dict[str, float]:
    """{field: ours - reference} for one AcdcPatient analyzed through `analyze --labels` (in-process)."""
    from app.analysis.volumes import MYOCARDIAL_DENSITY_G_PER_ML
    from app.cli import main
    from lab.data.acdc import write_nifti

    phases = ("es", "ed") if es_first else ("ed", "es")
    image, labels = write_nifti(case, folder / f"{case.patient}.nii.gz", folder / f"{case.patient}_labels.nii.gz",
                                phases)
    out = folder / f"{case.patient}.json"
    with contextlib.redirect_stdout(io.StringIO()):  # analyze's own summary
        code = main(["analyze", str(image), "--labels", str(labels), "--json", str(out), "--no-strain"])
    if code != 0:
        raise RuntimeError(f"{case.patient}: analyze exited {code}")
    result = json.loads(out.read_text())
    errors = {}
    for name, ours, ref in FIELDS:
        reference = float(getattr(case.reference, ref)) * (MYOCARDIAL_DENSITY_G_PER_ML if name == "mass" else 1.0)
        errors[name] = np.nan if result.get(ours) is None else float(result[ours]) - reference
    errors["ed_frame_ok"] = float(result["ed_frames"] == [1 if es_first else 0])
    return errors


def summarise(rows: list[dict], label: str) -> str:
    parts = []
    for name, _, _ in FIELDS:
        e = np.array([r[name] for r in rows], float)
        a = np.abs(e[np.isfinite(e)])
        parts.append(f"{name} {np.nanmean(e):+.2f}±{np.nanstd(e):.2f} (MAE {a.mean():.2f}, max {a.max():.2f})")
    ed_ok = int(sum(r["ed_frame_ok"] for r in rows))
    return f"{label} (n={len(rows)}, ED found {ed_ok}/{len(rows)}): " + "; ".join(parts)


def main() -> int:
    from lab.data.acdc import load_patient, patient_ids

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared/data/acdc")
    parser.add_argument("--limit", type=int, default=0, help="first N patients only (0 = all)")
    parser.add_argument("--es-first", action="store_true", help="write ES as the first phase")
    args = parser.parse_args()
    patients = patient_ids(args.data)[: args.limit or None]
    if not patients:
        print(f"no ACDC patients in {args.data}", file=sys.stderr)
        return 2
    by_group: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory(prefix="acdc-volumes-") as tmp:
        for pid in patients:
            case = load_patient(args.data, pid)
            by_group.setdefault(case.group, []).append(case_errors(case, Path(tmp), args.es_first))
    for group, rows in sorted(by_group.items()):
        print(summarise(rows, group))
    print(summarise([r for rows in by_group.values() for r in rows], "all"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
