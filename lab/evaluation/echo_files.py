"""`cardiotrace evaluate echo-files`: CAMUS ED/ES pairs as the files a user has, through `analyze`.

`evaluate echo-seg` hands the networks arrays; a user hands `analyze` files. This evaluation writes each CAMUS
patient's ED and ES frames as files and runs the command line in this process, so the reader (sector, crop,
intensity), the 2-frame pair rule and the one-file-per-phase join are scored too. (Scoring arrays hid a
sector found wrong on 2-frame files: EDV 4 % low until session 23.) Forms:
- `pair`: one 2-frame MetaImage per patient (ED, ES), as archives store a pair;
- `frames`: `4CH_ED.mhd` and `4CH_ES.mhd` given together (app/workflow/phase_files.py joins them);
- `clip`, `clip112`, `clip112mpeg4`: a 3 s, 50 Hz AVI of several beats made from the pair, at CAMUS resolution
  and as a 112 px clinical export (MJPEG, or MPEG-4), whose ED/ES and beats `analyze` finds itself
  (lab/evaluation/echo_clip_files.py; also printed: how often the ED/ES model was set aside, event timing
  errors, trusted beats).
The expert's values come from the same 2-frame file with `--labels` (the expert masks, the same contour and
disk method), so the difference is the segmentation's alone. Printed: EDV/ESV ratio to the expert, EF
bias +- SD and mean absolute error (points), gross failures (|EF error| > 20 points, left out of the means
and listed) and recordings that gave no EF.
"""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.commands.usage import OneLineParser
from app.paths import write_json
from app.report.cli_hooks import output_file
from lab.training.camus_data import DEFAULT_ROOT, case_paths, load_case, require_splits

FORMS = ("pair", "frames", "clip", "clip112", "clip112mpeg4")
DEFAULT_FORMS = ("pair", "frames")
GROSS_EF_PTS = 20.0  # as evaluate echo-seg


@dataclass(frozen=True)
class FileScore:
    patient: str
    form: str
    ours: tuple[float | None, float | None, float | None]  # EDV, ESV (ml), EF (%)
    expert: tuple[float | None, float | None, float | None]

    @property
    def ef_error(self) -> float | None:
        return None if self.ours[2] is None or self.expert[2] is None else self.ours[2] - self.expert[2]


def write_metaimage(path: Path, frames: np.ndarray, spacing_mm) -> Path:
    """A still frame (H, W) or frames (T, H, W) as a MetaImage the way CAMUS stores them: in-plane spacing
    (row, col mm) from `spacing_mm`, 1 along the third axis (no frame timing)."""
    import SimpleITK as sitk

    image = sitk.GetImageFromArray(frames)
    image.SetSpacing((float(spacing_mm[1]), float(spacing_mm[0])) + ((1.0,) if frames.ndim == 3 else ()))
    sitk.WriteImage(image, str(path))
    return path


def _analyze(argv: list[str], model: str | None = None) -> dict:
    """`analyze ARGV --view a4c --no-strain --json - [--model MODEL]` in this process: its JSON, {} when it
    failed."""
    from app.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        code = main(["analyze", *argv, "--view", "a4c", "--no-strain", "--json", "-"]
                    + (["--model", model] if model else []))
    return json.loads(out.getvalue()) if code == 0 else {}


def _values(result: dict) -> tuple[float | None, float | None, float | None]:
    return result.get("edv_ml"), result.get("esv_ml"), result.get("ef_pct")


def score_patient(path: Path, form: str, folder: Path, model: str | None = None):
    """A FileScore (pair, frames) or an echo_clip_files.ClipScore (clip forms) of one patient, segmented by
    the echo network `model` (analyze --model; None: the app's default)."""
    from functools import partial

    from lab.evaluation import echo_clip_files

    case = load_case(path)
    pair = write_metaimage(folder / f"{case.patient}.mhd", case.images, case.spacing_mm)
    labels = folder / f"{case.patient}_labels.npy"
    np.save(labels, case.labels)
    expert = _values(_analyze([str(pair), "--labels", str(labels)]))
    if form in echo_clip_files.CLIP_EXPORTS:
        return echo_clip_files.score_patient(path, form, folder, expert[2], partial(_analyze, model=model))
    if form == "pair":
        ours = _values(_analyze([str(pair)], model))
    else:
        ed = write_metaimage(folder / f"{case.patient}_ED.mhd", case.images[0], case.spacing_mm)
        es = write_metaimage(folder / f"{case.patient}_ES.mhd", case.images[1], case.spacing_mm)
        ours = _values(_analyze([str(ed), str(es), "--same-patient"], model))
    return FileScore(case.patient, form, ours, expert)


def summarise_form(scores: list) -> dict:
    """summarise() of a form's scores; clip forms add their event figures under "events"."""
    from lab.evaluation.echo_clip_files import ClipScore, summarise_events

    clips = [s for s in scores if isinstance(s, ClipScore)]
    if not clips:
        return summarise(scores)
    as_files = [FileScore(s.patient, s.form, (None, None, s.ef_pct), (None, None, s.ref_ef_pct)) for s in clips]
    return {**summarise(as_files), "events": summarise_events(clips)}


def summarise(scores: list[FileScore]) -> dict:
    """Means over the patients with an EF and no gross failure; the others counted and named."""
    no_ef = [s.patient for s in scores if s.ef_error is None]
    gross = [s.patient for s in scores if s.ef_error is not None and abs(s.ef_error) > GROSS_EF_PTS]
    kept = [s for s in scores if s.ef_error is not None and abs(s.ef_error) <= GROSS_EF_PTS]
    err = np.array([s.ef_error for s in kept])
    edv = np.array([s.ours[0] / s.expert[0] for s in kept if s.ours[0] and s.expert[0]])
    esv = np.array([s.ours[1] / s.expert[1] for s in kept if s.ours[1] and s.expert[1]])

    def r(values, nd=3):
        return round(float(values), nd) if np.size(values) else None

    return {"n": len(scores), "scored": len(kept), "edv_ratio": r(edv.mean() if edv.size else []),
            "esv_ratio": r(esv.mean() if esv.size else []), "ef_bias_pts": r(err.mean() if err.size else [], 2),
            "ef_sd_pts": r(err.std(ddof=1) if err.size > 1 else [], 2),
            "ef_mae_pts": r(np.abs(err).mean() if err.size else [], 2), "gross": gross, "no_ef": no_ef}


def main(argv: list[str] | None = None) -> int:
    p = OneLineParser(prog="cardiotrace evaluate echo-files", description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=DEFAULT_ROOT, help="camus_a4c folder (train/ valid/)")
    p.add_argument("--split", default="valid")
    p.add_argument("--forms", default=",".join(DEFAULT_FORMS), help=f"comma-separated, of {', '.join(FORMS)}")
    p.add_argument("--model", choices=("base", "temporal"), default=None,
                   help="echo segmentation network (analyze --model; default: the app's)")
    p.add_argument("--limit", type=int, default=None, help="first N patients only")
    p.add_argument("--json", type=output_file, default=None, help="also write the summary here")
    args = p.parse_args(argv)
    forms = [f for f in args.forms.split(",") if f]
    if not forms or any(f not in FORMS for f in forms):
        raise SystemExit(f"--forms: choose from {', '.join(FORMS)}")
    require_splits(args.data, args.split)
    paths = case_paths(args.split, args.data)[: args.limit]
    summary = {}
    with tempfile.TemporaryDirectory(prefix="cardiotrace_echo_files_") as tmp:
        for form in forms:
            scores = [score_patient(path, form, Path(tmp), args.model) for path in paths]
            summary[form] = summarise_form(scores)
    print(f"{'form':<12} {'n':>3} {'scored':>6} {'EDV ratio':>9} {'ESV ratio':>9} {'EF bias':>8} {'SD':>6} "
          f"{'MAE':>6}  gross / no EF")
    for form, s in summary.items():
        print(f"{form:<12} {s['n']:>3} {s['scored']:>6} {s['edv_ratio']!s:>9} {s['esv_ratio']!s:>9} "
              f"{s['ef_bias_pts']!s:>8} {s['ef_sd_pts']!s:>6} {s['ef_mae_pts']!s:>6}  "
              f"{', '.join(s['gross']) or '-'} / {', '.join(s['no_ef']) or '-'}")
    if any("events" in s for s in summary.values()):
        from lab.evaluation.echo_clip_files import format_events

        print(format_events(summary))
    if args.json:
        write_json(args.json, summary)
    return 0
