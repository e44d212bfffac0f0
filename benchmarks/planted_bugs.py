"""The planted-bug table of issue 36, re-run on today's code: each bug a cardiologist would care about is
planted as one small, explicit source edit in a temporary copy of the project, the tests that guard that
rule run (`pytest -x -q`), and the table says whether they caught it and which test failed first.

    python benchmarks/planted_bugs.py            # all nine bugs (a few minutes on two cores)
    python benchmarks/planted_bugs.py --diff     # print each planted edit as a diff, run nothing
    python benchmarks/planted_bugs.py strain-spacing autosave-in-place   # some of them

Every bug must be caught; a bug that passes its tests exits 1. The copy/run machinery is
benchmarks/mutation.py's (make_workspace, run_tests_output). tests/test_planted_bugs.py checks in CI that
each edit still applies to the current source ("before" found exactly once), so this table cannot rot
silently when the code moves.
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.mutation import PROJECT_ROOT, make_workspace, run_tests_output


@dataclass(frozen=True)
class PlantedBug:
    name: str
    finding: str  # the issue-36 table's row
    path: str  # relative to the project root
    before: str  # must occur exactly once in the file
    after: str
    tests: tuple[str, ...]  # the tests that guard the rule (pytest arguments)


EDES_TESTS = ("tests/test_analysis_beats.py", "tests/test_edes_fusion.py", "tests/test_event_check.py",
              "tests/test_clinical_rules.py", "tests/test_mutation_killers.py", "tests/test_pipeline_synthetic.py",
              "tests/test_mutation_killers_measure.py")
VOLUME_TESTS = ("tests/test_analysis_volumes.py", "tests/test_clinical_rules.py",
                "tests/test_geometry_properties.py", "tests/test_mutation_killers_measure.py")
STRAIN_TESTS = ("tests/test_strain_core.py", "tests/test_clinical_rules.py", "tests/test_geometry_properties.py",
                "tests/test_mutation_killers.py", "tests/test_strain_pipeline.py")

BUGS = (
    PlantedBug(
        "biplane-shorter-axis", "biplane volume uses the shorter long axis instead of the longer (-3 %)",
        "app/analysis/volumes.py",
        "np.sum(a * b) * max(length_a_mm, length_b_mm) / len(a)",
        "np.sum(a * b) * min(length_a_mm, length_b_mm) / len(a)",
        VOLUME_TESTS),
    PlantedBug(
        "ed-plateau-end", "ED at the last frame of the plateau instead of the first",
        "app/analysis/edes_curve.py",
        "return lo + int(close[0])",
        "return lo + int(close[-1])",
        EDES_TESTS),
    PlantedBug(
        "prominence-0.1", "beat prominence 0.3 -> 0.1 (extra events on noisy curves)",
        "app/analysis/edes_curve.py",
        "MIN_PROMINENCE_FRACTION = 0.3  #",
        "MIN_PROMINENCE_FRACTION = 0.1  #",
        EDES_TESTS),
    PlantedBug(
        "es-not-refined", "ES not refined on the raw curve (ES moves up to 3 frames)",
        "app/analysis/edes_curve.py",
        'es = [_refine(y, f, False, refine_dist, span) for f, k in events if k == "es"]',
        'es = [f for f, k in events if k == "es"]',
        EDES_TESTS),
    PlantedBug(
        "mri-no-wrap", "MRI stack ED not searched across the cycle's wrap",
        "app/workflow/measure.py",
        "return _frames(detect_ed_es(vol, recording.frame_rate_hz, periodic=True))",
        "return _frames(detect_ed_es(vol, recording.frame_rate_hz, periodic=False))",
        ("tests/test_mri_stack_shapes.py", "tests/test_mutation_killers_measure.py", "tests/test_pipeline_synthetic.py",
         "tests/test_edes_fusion.py", "tests/test_clinical_rules.py")),
    PlantedBug(
        "strain-spacing-swapped", "strain with row and column pixel spacing swapped (GLS 3 points off)",
        "app/analysis/strain.py",
        "np.array([spacing_mm[1], spacing_mm[0]])",
        "np.array([spacing_mm[0], spacing_mm[1]])",
        STRAIN_TESTS),
    PlantedBug(
        "strain-segments-shifted", "strain segment borders shifted by 2 points (basal -22.0 -> -18.3 %)",
        "app/analysis/strain.py",
        "    return np.round(np.linspace(0, n_points - 1, n_segments + 1)).astype(int)\n",
        "    bounds = np.round(np.linspace(0, n_points - 1, n_segments + 1)).astype(int)\n"
        "    bounds[1:-1] += 2\n"
        "    return bounds\n",
        STRAIN_TESTS),
    PlantedBug(
        "autosave-in-place", "autosave written in place instead of temp file + fsync + replace",
        "app/workflow/autosave.py",
        '    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)\n'
        "    try:\n"
        '        with os.fdopen(fd, "w", encoding="utf-8") as fh:\n'
        "            fh.writelines(json_pieces(data))\n"
        "            fh.flush()\n"
        "            os.fsync(fh.fileno())\n"
        "        os.replace(tmp, path)\n",
        "    tmp = path.parent / \".no-temp-file\"  # nothing to clean up\n"
        "    try:\n"
        '        with open(path, "w", encoding="utf-8") as fh:\n'
        "            fh.writelines(json_pieces(data))\n",
        ("tests/test_clinical_rules.py", "tests/test_mutation_killers_autosave.py", "tests/test_study_state.py")),
    PlantedBug(
        "panel-first-recording", "measurements panel always showing the first recording of the study",
        "app/ui/values_view.py",
        "        w = self.window\n        st = w.state\n",
        "        w = self.window\n        st = w.study[0] if len(w.study) else None\n",
        ("tests/test_ui_review.py", "tests/test_ui_analysis.py", "tests/test_ui_viewer.py")),
)


def plant(bug: PlantedBug, source: str) -> str:
    """The source with the bug planted; ValueError unless `before` occurs exactly once."""
    count = source.count(bug.before)
    if count != 1:
        raise ValueError(f"{bug.name}: the text to replace occurs {count} times in {bug.path}, not once")
    return source.replace(bug.before, bug.after)


def diff(bug: PlantedBug, source: str) -> str:
    return "".join(difflib.unified_diff(source.splitlines(True), plant(bug, source).splitlines(True),
                                        f"a/{bug.path}", f"b/{bug.path}", n=1))


def first_failure(output: str) -> str:
    """The first FAILED/ERROR test id of pytest's short summary."""
    found = re.search(r"^(?:FAILED|ERROR) (\S+)", output, re.MULTILINE)
    return found.group(1) if found else "(no test id: see the output)"


def run(bugs, timeout_s: float, log=print) -> list[tuple[PlantedBug, str, str, float]]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="cardiotrace-planted-") as tmp:
        project = make_workspace(Path(tmp))
        for bug in bugs:
            path = project / bug.path
            original = path.read_text(encoding="utf-8")
            path.write_text(plant(bug, original), encoding="utf-8")
            try:
                status, secs, output = run_tests_output(project, list(bug.tests), timeout_s)
            finally:
                path.write_text(original, encoding="utf-8")
            caught = {"killed": "yes", "timeout": "yes (timeout)"}.get(status, "NO")
            test = first_failure(output) if status == "killed" else "-"
            log(f"  {bug.name}: {caught} {test} ({secs:.0f} s)")
            rows.append((bug, caught, test, secs))
    return rows


def table(rows) -> str:
    lines = ["| planted bug | file | caught? | first failing test |", "|---|---|---|---|"]
    lines += [f"| {bug.finding} | {bug.path} | {caught} | {test} |" for bug, caught, test, _ in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    names = [b.name for b in BUGS]
    parser.add_argument("bugs", nargs="*", help=f"bugs to plant (default: all): {', '.join(names)}")
    parser.add_argument("--diff", action="store_true", help="print each planted edit and stop")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per bug's test run")
    args = parser.parse_args(argv)
    unknown = [n for n in args.bugs if n not in names]
    if unknown:
        parser.error(f"unknown bug {', '.join(unknown)}; choose from {', '.join(names)}")
    bugs = [b for b in BUGS if not args.bugs or b.name in args.bugs]
    if args.diff:
        for bug in bugs:
            print(f"# {bug.name}: {bug.finding}\n{diff(bug, (PROJECT_ROOT / bug.path).read_text(encoding='utf-8'))}")
        return 0
    rows = run(bugs, args.timeout)
    print(table(rows))
    missed = [bug.name for bug, caught, _, _ in rows if caught == "NO"]
    if missed:
        print(f"not caught: {', '.join(missed)}")
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
