"""Mutation check of the code behind the clinical numbers: plant one small bug at a time, run the fast
tests that guard that module, count the bugs the tests catch.

    python benchmarks/mutation.py                          # every module below, every mutant (hours)
    python benchmarks/mutation.py volumes --max-mutants 40 # one module, a random sample of 40 mutants
    python benchmarks/mutation.py strain --list            # the mutants, without running anything

Mutants (Python's ast module, one site at a time): comparison flips (< <=, > >=, == !=), arithmetic
swaps (+ -, * /), sign removal (-x -> x), constant tweaks (int n -> n + 1, float x -> 1.5 x, 0.0 -> 1.0,
True <-> False), index and slice-end shifts (a[k] -> a[k + 1], a[:k] -> a[:k + 1]), min <-> max,
and <-> or. The project is copied to a temporary folder (its parent gets a `shared` link, so tests that
need ../shared/data see it), the mutant is written there and the module's tests run with
`pytest -x -q` under a timeout. A mutant is killed when the tests fail (or time out, or no longer
import), and survives when they pass. Prints the score per module and every survivor (file:line,
original -> mutant); `--json OUT` writes them too. Not run in CI: minutes per module on two cores.
Run it before closing an issue that touches these modules and after big changes to them.
"""

from __future__ import annotations

import argparse
import ast
import copy
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]

# module -> the fast tests that guard it (pytest arguments relative to the project root)
CR = "tests/test_clinical_rules.py::test_"
GP = "tests/test_geometry_properties.py::test_"
MK = "tests/test_mutation_killers.py"  # tests written against this tool's survivors
MEASURE_TESTS = ["tests/test_pipeline_synthetic.py", "tests/test_study_state.py",
                 "tests/test_mutation_killers_measure.py", CR + "a_gated_stack_finds_ed_across_the_wrap_of_its_cycle"]
TARGETS = {
    "volumes": ("app/analysis/volumes.py", [
        "tests/test_analysis_volumes.py", GP + "disks_of_a_half_ellipsoid_match_its_closed_form",
        GP + "disks_of_a_truncated_cone_match_its_closed_form",
        GP + "ef_does_not_change_when_both_spacings_scale_together",
        CR + "disk_volumes_and_ef_with_non_square_pixels", CR + "biplane_volume_uses_the_longer_long_axis",
        CR + "disk_chords_are_drawn_at_the_disk_centres_across_the_axis",
        CR + "disks_of_small_and_degenerate_outlines", CR + "slice_summation_and_mass_arithmetic", MK]),
    "beats": ("app/analysis/beats.py", ["tests/test_analysis_beats.py", MK]),
    "edes_curve": ("app/analysis/edes_curve.py", ["tests/test_analysis_beats.py", "tests/test_edes_fusion.py", MK,
                                                  CR + "ed_is_the_first_frame_of_the_end_diastolic_plateau",
                                                  CR + "es_is_the_smallest_raw_volume_not_the_smoothed_minimum",
                                                  CR + "a_diastolic_dip_under_the_prominence_threshold_is_no_beat",
                                                  CR + "a_recurring_diastolic_dip_over_the_prominence_threshold_is_no_"
                                                       "beat_on_a_periodic_clip"]),
    "strain": ("app/analysis/strain.py", [
        "tests/test_strain_core.py", GP + "strain_does_not_change_under_rotation_scale_and_pixel_spacing",
        CR + "strain_with_non_square_pixels_equals_the_strain_in_millimetres",
        CR + "strain_segments_match_the_phantom_segment_truth", MK]),
    "edes_fusion": ("app/analysis/edes_fusion.py", ["tests/test_event_check.py", "tests/test_edes_fusion.py", MK]),
    "edes_checks": ("app/analysis/edes_checks.py", ["tests/test_event_check.py", "tests/test_edes_fusion.py", MK]),
    # which beats an EF rests on, and where in each beat ED and ES sit (issue 53)
    "beat_trust": ("app/analysis/beat_trust.py", ["tests/test_beat_trust.py", "tests/test_beat_trust_bounds.py",
                                                  "tests/test_analysis_beats.py", "tests/test_edes_fusion.py", MK]),
    "beat_events": ("app/analysis/beat_events.py", ["tests/test_beat_trust.py", "tests/test_beat_trust_bounds.py",
                                                    "tests/test_edes_fusion.py", MK]),
    "beat_extremes": ("app/analysis/beat_extremes.py", ["tests/test_beat_extremes.py", "tests/test_edes_fusion.py",
                                                        MK]),
    "measure": ("app/workflow/measure.py", MEASURE_TESTS),
    "lv_curves": ("app/workflow/lv_curves.py", MEASURE_TESTS),  # the first half of measuring, out of measure.py
    "frame_quality": ("app/workflow/frame_quality.py", MEASURE_TESTS + ["tests/test_cavity_split.py"]),
    "study_json": ("app/workflow/study_json.py", ["tests/test_study_json.py", "tests/test_study_state.py",
                                                  "tests/test_ui_editing.py"]),
    "autosave": ("app/workflow/autosave.py", [
        "tests/test_study_state.py", CR + "autosave_crash_between_write_and_replace_keeps_the_old_file_whole",
        "tests/test_mutation_killers_autosave.py"]),
}
COPY_IGNORE = shutil.ignore_patterns(".git", ".venv", "__pycache__", ".pytest_cache", ".hypothesis", "models",
                                     "runs", "checkpoints", "build", "dist", "*.egg-info")

_COMPARE_FLIP = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
                 ast.NotEq: ast.Eq, ast.Is: ast.IsNot, ast.IsNot: ast.Is, ast.In: ast.NotIn, ast.NotIn: ast.In}
_BINOP_SWAP = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult}
_MIN_MAX = {"min": "max", "max": "min", "argmin": "argmax", "argmax": "argmin", "minimum": "maximum",
            "maximum": "minimum", "nanmin": "nanmax", "nanmax": "nanmin"}


@dataclass(frozen=True)
class Mutant:
    module: str
    index: int
    line: int
    kind: str
    original: str
    mutated: str


@dataclass(frozen=True)
class Outcome:
    mutant: Mutant
    status: str  # killed | survived | timeout
    seconds: float


def _plus_one(node: ast.expr) -> ast.expr:
    return ast.BinOp(left=node, op=ast.Add(), right=ast.Constant(1))


def _site_mutations(node: ast.AST) -> list[tuple[str, object]]:
    """(kind, how) for each way this node can be mutated; `how` is consumed by _apply."""
    out: list[tuple[str, object]] = []
    if isinstance(node, ast.Compare):
        out += [("compare", i) for i, op in enumerate(node.ops) if type(op) in _COMPARE_FLIP]
    elif isinstance(node, ast.BinOp) and type(node.op) in _BINOP_SWAP:
        out.append(("arith", None))
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        out.append(("sign", None))
    elif isinstance(node, ast.BoolOp):
        out.append(("bool", None))
    elif isinstance(node, ast.Constant) and type(node.value) in (int, float, bool):
        out.append(("constant", None))
    elif isinstance(node, ast.Subscript):
        if isinstance(node.slice, ast.Slice):
            if node.slice.upper is not None:
                out.append(("slice", "upper"))
        elif isinstance(node.slice, (ast.Name, ast.BinOp)) or (
                isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, int)):
            out.append(("index", None))
    elif isinstance(node, ast.Call):
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
        if name in _MIN_MAX:
            out.append(("min-max", name))
    return out


def _apply(node: ast.AST, kind: str, how) -> ast.AST:
    """A mutated deep copy of node."""
    new = copy.deepcopy(node)
    if kind == "compare":
        new.ops[how] = _COMPARE_FLIP[type(new.ops[how])]()
    elif kind == "arith":
        new.op = _BINOP_SWAP[type(new.op)]()
    elif kind == "sign":
        return new.operand
    elif kind == "bool":
        new.op = ast.Or() if isinstance(new.op, ast.And) else ast.And()
    elif kind == "constant":
        v = new.value
        new.value = (not v) if isinstance(v, bool) else v + 1 if isinstance(v, int) else (v * 1.5 if v else 1.0)
    elif kind == "slice":
        new.slice.upper = _plus_one(new.slice.upper)
    elif kind == "index":
        new.slice = _plus_one(new.slice)
    elif kind == "min-max":
        if isinstance(new.func, ast.Attribute):
            new.func.attr = _MIN_MAX[how]
        else:
            new.func.id = _MIN_MAX[how]
    return new


def _skipped_nodes(tree: ast.Module) -> set[int]:
    """ids of nodes never mutated: docstrings, annotations and decorators (frozen=True is not a number)."""
    skip: set[int] = set()
    for node in ast.walk(tree):
        for decorator in getattr(node, "decorator_list", ()):
            skip.update(id(n) for n in ast.walk(decorator))
        for field in ("annotation", "returns"):
            sub = getattr(node, field, None)
            if sub is not None:
                skip.update(id(n) for n in ast.walk(sub))
        body = getattr(node, "body", None)
        first = body[0] if isinstance(body, list) and body else None
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
            skip.update(id(n) for n in ast.walk(first))
    return skip


def enumerate_mutants(module: str, source: str) -> list[tuple[Mutant, str]]:
    """Every mutant of one module with its full mutated source (equivalent rewrites dropped)."""
    tree = ast.parse(source)
    baseline = ast.unparse(tree)
    skip = _skipped_nodes(tree)
    out = []
    nodes = [n for n in ast.walk(tree) if id(n) not in skip and hasattr(n, "lineno")]
    for node in sorted(nodes, key=lambda n: (n.lineno, n.col_offset)):
        for kind, how in _site_mutations(node):
            replacement = _apply(node, kind, how)
            # swap the node in place, unparse, swap it back (a deep copy of the whole tree per mutant is slow)
            parent_fields = _swap(tree, node, replacement)
            text = ast.unparse(tree)
            _swap(tree, replacement, node, parent_fields)
            if text == baseline:
                continue
            mutant = Mutant(module, len(out), node.lineno, kind, ast.unparse(node), ast.unparse(replacement))
            out.append((mutant, text))
    return out


def _swap(tree: ast.AST, old: ast.AST, new: ast.AST, where=None):
    """Put `new` where `old` is in the tree; returns (parent, field, index) so the swap can be undone."""
    if where is None:
        for parent in ast.walk(tree):
            for field, value in ast.iter_fields(parent):
                if value is old:
                    where = (parent, field, None)
                    break
                if isinstance(value, list) and any(v is old for v in value):
                    where = (parent, field, next(i for i, v in enumerate(value) if v is old))
                    break
            if where:
                break
    parent, field, index = where
    if index is None:
        setattr(parent, field, new)
    else:
        getattr(parent, field)[index] = new
    return where


def make_workspace(root: Path) -> Path:
    """A copy of the project in a temp folder whose parent links ../shared like the real checkout."""
    project = root / "project"
    shutil.copytree(PROJECT_ROOT, project, ignore=COPY_IGNORE)
    if (PROJECT_ROOT / "models").exists():
        os.symlink(PROJECT_ROOT / "models", project / "models")
    if (PROJECT_ROOT.parent / "shared").exists():
        os.symlink(PROJECT_ROOT.parent / "shared", root / "shared")
    return project


def run_tests(project: Path, tests: list[str], timeout_s: float) -> tuple[str, float]:
    """(killed | survived | timeout, seconds) of `pytest -x -q tests` in the project copy."""
    status, secs, _ = run_tests_output(project, tests, timeout_s)
    return status, secs


def run_tests_output(project: Path, tests: list[str], timeout_s: float) -> tuple[str, float, str]:
    """run_tests with pytest's output (its summary names the first failing test)."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONDONTWRITEBYTECODE": "1"}
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", f"--timeout={int(timeout_s)}",
           *tests]
    start = time.monotonic()
    try:
        done = subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return "timeout", time.monotonic() - start, ""
    status = "survived" if done.returncode == 0 else "killed"
    return status, time.monotonic() - start, done.stdout + done.stderr


def check_module(name: str, project: Path, max_mutants: int | None, seed: int, timeout_factor: float,
                 indices: set[int] | None = None, log=print) -> list[Outcome]:
    rel, tests = TARGETS[name]
    path = project / rel
    original = path.read_text(encoding="utf-8")
    mutants = enumerate_mutants(name, original)
    if indices:
        mutants = [m for m in mutants if m[0].index in indices]
    chosen = mutants if not max_mutants or max_mutants >= len(mutants) else \
        sorted(random.Random(seed).sample(mutants, max_mutants), key=lambda m: m[0].index)
    status, base_s = run_tests(project, tests, 3600)
    if status != "survived":
        raise SystemExit(f"{name}: the unmutated tests fail ({' '.join(tests)}); fix them first")
    timeout_s = max(60.0, timeout_factor * base_s)
    log(f"{name}: {len(mutants)} mutants, running {len(chosen)}; tests pass unmutated in {base_s:.0f} s")
    outcomes = []
    try:
        for k, (mutant, text) in enumerate(chosen, 1):
            path.write_text(text, encoding="utf-8")
            status, secs = run_tests(project, tests, timeout_s)
            outcomes.append(Outcome(mutant, status, secs))
            log(f"  [{k}/{len(chosen)}] {status:8s} {rel}:{mutant.line} #{mutant.index} {mutant.kind}: "
                f"{mutant.original} -> {mutant.mutated} ({secs:.0f} s)")
    finally:
        path.write_text(original, encoding="utf-8")
    return outcomes


def summary(outcomes: list[Outcome]) -> list[str]:
    lines = []
    for name in dict.fromkeys(o.mutant.module for o in outcomes):
        mine = [o for o in outcomes if o.mutant.module == name]
        killed = sum(o.status != "survived" for o in mine)
        lines.append(f"{name}: mutation score {100.0 * killed / len(mine):.1f} % ({killed} of {len(mine)} killed)")
        rel = TARGETS[name][0]
        lines += [f"  survived {rel}:{o.mutant.line} #{o.mutant.index} {o.mutant.kind}: "
                  f"{o.mutant.original} -> {o.mutant.mutated}"
                  for o in mine if o.status == "survived"]
    killed = sum(o.status != "survived" for o in outcomes)
    if outcomes:
        lines.append(f"total: mutation score {100.0 * killed / len(outcomes):.1f} % ({killed} of {len(outcomes)})")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", help=f"modules to mutate (default: all): {', '.join(TARGETS)}")
    parser.add_argument("--max-mutants", type=int, default=None, help="random sample of at most N per module")
    parser.add_argument("--seed", type=int, default=0, help="seed of that sample")
    parser.add_argument("--timeout-factor", type=float, default=3.0,
                        help="a mutant times out (= killed) after this x the unmutated test time (min 60 s)")
    parser.add_argument("--index", type=lambda v: {int(i) for i in v.split(",")}, default=None,
                        help="only these mutants (the #numbers of --list), e.g. to re-run survivors: 9,10,12")
    parser.add_argument("--list", action="store_true", help="print the mutants and stop")
    parser.add_argument("--json", type=Path, help="write every outcome here")
    args = parser.parse_args(argv)
    unknown = [m for m in args.modules if m not in TARGETS]
    if unknown:
        parser.error(f"unknown module {', '.join(unknown)}; choose from {', '.join(TARGETS)}")
    names = args.modules or list(TARGETS)
    if args.list:
        for name in names:
            for mutant, _ in enumerate_mutants(name, (PROJECT_ROOT / TARGETS[name][0]).read_text(encoding="utf-8")):
                print(f"{TARGETS[name][0]}:{mutant.line} #{mutant.index} {mutant.kind}: "
                      f"{mutant.original} -> {mutant.mutated}")
        return 0
    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory(prefix="cardiotrace-mutation-") as tmp:
        project = make_workspace(Path(tmp))
        for name in names:
            outcomes += check_module(name, project, args.max_mutants, args.seed, args.timeout_factor, args.index)
    print("\n".join(summary(outcomes)))
    if args.json:
        args.json.write_text(json.dumps([{**asdict(o.mutant), "status": o.status, "seconds": round(o.seconds, 1)}
                                         for o in outcomes], indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
