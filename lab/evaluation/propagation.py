"""`evaluate propagation`: does a contour correction carried to the neighbouring frames bring them closer to the truth?

The viewer carries a sonographer's correction of one frame's border to the frames around it along the tissue motion
(app/workflow/propagate.py). This scores that step on phantom clips with exact truth in every frame (the hearts of
`evaluate strain`), by default first degraded as clinical video exports (where the network's borders are off by
more). The shipped analysis draws every frame's endocardium; at each true ED and ES frame the correction is the
truth's own endocardium, traced by the analysis' tracer and made control points as the viewer makes them (a perfect
correction: the most a propagation can carry); the app's propagation takes it to +-SPAN frames (the viewer's default
is 3) or to the neighbouring ED/ES marks. Every frame it reaches is scored against that frame's truth, before and
after: the symmetric mean distance between the two endocardial curves (mm) and the LV cavity area (the endocardium
closed by its annulus line) in % of the truth's, by frames from the edited one.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass

import numpy as np

from app.analysis.centerline import project_onto_polyline
from app.analysis.polylines import polygon_area_px2
from app.commands.usage import OneLineParser
from app.paths import write_json
from app.report.cli_hooks import output_file


@dataclass(frozen=True)
class PropagatedFrame:
    """One frame a correction reached: how far its endocardium is from the truth before and after."""

    case: str
    edited_frame: int
    offset: int  # frames from the edited one (negative: before it)
    distance_before_mm: float
    distance_after_mm: float
    area_error_before_pct: float
    area_error_after_pct: float


@dataclass(frozen=True)
class OffsetSummary:
    """The frames `offset` away (either side) from the edited ones."""

    offset: int
    frames: int
    distance_before_mm: float
    distance_after_mm: float
    improved_share: float  # frames whose curve distance fell
    area_mae_before_pct: float
    area_mae_after_pct: float


def curve_distance_mm(a_px: np.ndarray, b_px: np.ndarray, spacing_mm: tuple[float, float]) -> float:
    """Symmetric mean distance (mm) from the points of each (N, 2) x, y curve to the other curve."""
    scale = np.array([spacing_mm[1], spacing_mm[0]])
    a, b = np.asarray(a_px, float) * scale, np.asarray(b_px, float) * scale
    a_to_b = np.linalg.norm(project_onto_polyline(a, b)[0] - a, axis=1).mean()
    b_to_a = np.linalg.norm(project_onto_polyline(b, a)[0] - b, axis=1).mean()
    return float(0.5 * (a_to_b + b_to_a))


def score_case(name: str, recording, labels: np.ndarray, edit_frames: list[int], span: int | None
               ) -> list[PropagatedFrame]:
    """Propagate the truth's endocardium from each edit frame over `span` frames a side (None: to the marks)."""
    from app.analysis.contours import extract_contours
    from app.tasks import run_task
    from app.workflow.analyze import analyze_recording
    from app.workflow.contour_adapter import control_contours_from_analysis, control_from_lv
    from app.workflow.propagate import PropagationRange, propagate_in_recording, range_to_marks

    analysis = run_task(analyze_recording(recording))
    drawn = control_contours_from_analysis(analysis)
    truth_cache: dict[int, object] = {}

    def truth(frame: int):
        if frame not in truth_cache:
            contours = extract_contours(labels[frame])
            truth_cache[frame] = control_from_lv(contours).get("endo") if contours is not None else None
        return truth_cache[frame]

    def ours(frame: int):
        return drawn.get((0, frame), {}).get("endo")

    spacing = recording.spacing_mm
    rows = []
    for frame in edit_frames:
        old, new = ours(frame), truth(frame)
        if old is None or new is None:
            continue
        reach = PropagationRange(span, span) if span is not None else range_to_marks(
            frame, recording.n_frames, edit_frames)
        for other, corrected in sorted(propagate_in_recording(recording, 0, frame, old, new, ours, reach).items()):
            target = truth(other)
            if target is None:
                continue
            true_line = target.dense()
            true_area = polygon_area_px2(true_line)  # the open endocardium closed by its annulus line
            before, after = ours(other).dense(), corrected.dense()
            rows.append(PropagatedFrame(
                name, frame, other - frame,
                curve_distance_mm(before, true_line, spacing), curve_distance_mm(after, true_line, spacing),
                100.0 * (polygon_area_px2(before) / true_area - 1.0),
                100.0 * (polygon_area_px2(after) / true_area - 1.0)))
    return rows


def summarise(rows: list[PropagatedFrame]) -> list[OffsetSummary]:
    out = []
    for offset in sorted({abs(r.offset) for r in rows}):
        sel = [r for r in rows if abs(r.offset) == offset]
        before = np.array([r.distance_before_mm for r in sel])
        after = np.array([r.distance_after_mm for r in sel])
        out.append(OffsetSummary(
            offset, len(sel), float(before.mean()), float(after.mean()), float(np.mean(after < before)),
            float(np.mean([abs(r.area_error_before_pct) for r in sel])),
            float(np.mean([abs(r.area_error_after_pct) for r in sel]))))
    return out


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(prog="cardiotrace evaluate propagation", description=__doc__.splitlines()[0])
    p.add_argument("--cases", type=int, default=8, help="phantom clips (cycling quality x view, as evaluate strain)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--size", type=int, default=224, help="square phantom side in px before any degradation")
    p.add_argument("--degrade", type=int, default=112,
                   help="degrade every clip as a clinical export fitted into PX x PX first (0: the phantom as made)")
    p.add_argument("--span", type=int, default=3,
                   help="frames a side the correction is carried to (the viewer's default 3); 0: to the ED/ES marks")
    p.add_argument("--json", type=output_file, default=None, help="write every frame's scores and the summary here")
    return p


def _check(args: argparse.Namespace) -> None:
    if args.cases < 1:
        raise SystemExit("evaluate propagation: --cases must be at least 1")
    if not 96 <= args.size <= 1024:
        raise SystemExit("evaluate propagation: --size must be 96-1024 px")
    if args.degrade and not 64 <= args.degrade <= 1024:
        raise SystemExit("evaluate propagation: --degrade must be 0 or 64-1024 px")
    if not 0 <= args.span <= 20:
        raise SystemExit("evaluate propagation: --span must be 0-20 frames (the viewer's range)")


def main(argv: list[str] | None = None) -> int:
    from lab.evaluation.strain import phantom_cases

    args = build_parser().parse_args(argv)
    _check(args)
    rows: list[PropagatedFrame] = []
    for name, _quality, _view, _hypo, case in phantom_cases(args.cases, args.seed, 50.0, (args.size, args.size)):
        recording, labels = case.recording, case.truth.labels
        if args.degrade:
            from lab.data.degrade import clinical_export, degrade_recording

            recording, labels = degrade_recording(recording, clinical_export(args.degrade), labels)
        marks = sorted({*case.truth.ed_frames, *case.truth.es_frames} & set(range(recording.n_frames)))
        case_rows = score_case(name, recording, labels, marks, args.span or None)
        rows += case_rows
        near = [r for r in case_rows if abs(r.offset) == 1]
        print(f"{name:<18} edits at {marks}: next frames {np.mean([r.distance_before_mm for r in near]):.2f} -> "
              f"{np.mean([r.distance_after_mm for r in near]):.2f} mm" if near else f"{name:<18} nothing propagated",
              flush=True)
    summary = summarise(rows)
    print(f"{'offset':>6} {'frames':>6} {'distance mm before -> after':>28} {'improved':>8} "
          f"{'area error % before -> after':>29}")
    for s in summary:
        print(f"{s.offset:>6} {s.frames:>6} {s.distance_before_mm:>14.2f} -> {s.distance_after_mm:<10.2f} "
              f"{s.improved_share:>8.0%} {s.area_mae_before_pct:>15.1f} -> {s.area_mae_after_pct:<10.1f}")
    if args.json:
        write_json(args.json, {"summary": [asdict(s) for s in summary], "frames": [asdict(r) for r in rows]})
    return 0
