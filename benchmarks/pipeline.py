"""Whole echo analysis, stage by stage, against the previous release in the same run.

    python benchmarks/pipeline.py                      # phantom A4C clip, 454x487 px, 0.31 mm, 55 Hz, 216 frames
    python benchmarks/pipeline.py --clip a4c.dcm       # a real clip (the short clip is its first --short frames)
    python benchmarks/pipeline.py --baseline main      # the previous release: a git ref (default: the branch point)
    python benchmarks/pipeline.py --repeat 3           # each run 3 times, the fastest kept (a noisy machine)
    python benchmarks/pipeline.py --versus "onnxruntime int8" --backend cuda --threads 16   # no git history: paths

Each (code, inference path, clip length) runs in its own subprocess (so peak memory is that run's
ru_maxrss): the previous release from a detached git worktree of --baseline, the current code from this
checkout. Stages are timed by wrapping the stage functions the pipeline calls (segment_recording,
extract_contours, measure_recording, model_ed_es, the strain centerlines and flow), so both codes are
measured the same way. The table gives milliseconds per frame on the long clip, the marginal cost per
frame ((t_long - t_short) / (n_long - n_short)), the ratio previous / current, peak memory, EF and GLS with
their differences. Inference paths: torch with bf16 autocast (CARDIOTRACE_BACKEND=torch CARDIOTRACE_BF16=1)
and ONNX Runtime (CARDIOTRACE_BACKEND=onnxruntime), in float32 and with the echo U-Net's int8 graph
(CARDIOTRACE_INT8=1; a release without one runs float32 there), and torch on the GPU (CARDIOTRACE_DEVICE=cuda, by
default only where there is one). The start-up row times `python -m app analyze`
of the short clip (--json, strain included), wall clock from the shell.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
BACKENDS = {"bf16 torch": {"CARDIOTRACE_DEVICE": "cpu", "CARDIOTRACE_BACKEND": "torch", "CARDIOTRACE_BF16": "1"},
            "onnxruntime": {"CARDIOTRACE_DEVICE": "cpu", "CARDIOTRACE_BACKEND": "onnxruntime", "CARDIOTRACE_BF16": "0",
                            "CARDIOTRACE_INT8": "0"},
            "onnxruntime int8": {"CARDIOTRACE_DEVICE": "cpu", "CARDIOTRACE_BACKEND": "onnxruntime",
                                 "CARDIOTRACE_BF16": "0", "CARDIOTRACE_INT8": "1"},
            "cuda": {"CARDIOTRACE_DEVICE": "cuda"}}  # the CPU paths stay on the CPU on a machine with a GPU
GPU_PATHS = ("cuda",)  # timed by default only where torch sees a GPU
STAGES = ("load", "segmentation", "  of which frames_unit", "contours", "measure", "ed/es", "strain",
          "  of which centerlines", "  of which flow", "other", "total")


# -- the child: one analysis, timed by stage ---------------------------------------------------------
class _Clock:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def add(self, stage: str, seconds: float) -> None:
        self.seconds[stage] = self.seconds.get(stage, 0.0) + seconds

    def wrap(self, module, name: str, stage: str) -> None:
        """Time every call of module.name (generators: the time spent inside them)."""
        import inspect

        original = getattr(module, name, None)
        if original is None:
            return

        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            out = original(*args, **kwargs)
            self.add(stage, time.perf_counter() - t0)
            return self._timed_gen(out, stage) if inspect.isgenerator(out) else out

        setattr(module, name, timed)

    def _timed_gen(self, gen, stage: str):
        while True:
            t0 = time.perf_counter()
            try:
                item = next(gen)
            except StopIteration:
                self.add(stage, time.perf_counter() - t0)
                return
            self.add(stage, time.perf_counter() - t0)
            yield item


def child(clip: Path, n_frames: int, threads: int) -> dict:
    import resource
    from dataclasses import replace

    sys.path.insert(0, os.getcwd())  # the tree being measured (a baseline worktree or this checkout)
    t_start = time.perf_counter()
    import numpy as np

    import app.ml.inference as inference
    import app.workflow.strain_pipeline as strain_pipeline
    from app.data.readers import load_recording
    from app.data.recording import Recording

    t_imports = time.perf_counter() - t_start
    from app.ml.device import set_threads

    set_threads(threads)  # torch's (and so the ONNX Runtime sessions') and OpenCV's, as the app on this many cores
    clock = _Clock()
    clock.wrap(inference, "segment_recording", "segmentation")
    clock.wrap(Recording, "frames_unit", "  of which frames_unit")
    run = _wrap_layout(clock)
    clock.wrap(strain_pipeline, "_centerlines", "  of which centerlines")  # releases before the lazy ones
    clock.wrap(strain_pipeline, "_centerline", "  of which centerlines")
    make_flow = strain_pipeline.make_flow_estimator

    def timed_flow(motion, *args, **kwargs):
        estimator = make_flow(motion, *args, **kwargs)

        def flow(a, b):
            t0 = time.perf_counter()
            out = estimator(a, b)
            clock.add("  of which flow", time.perf_counter() - t0)
            return out

        flow.name = getattr(estimator, "name", motion)
        return flow

    strain_pipeline.make_flow_estimator = timed_flow
    t0 = time.perf_counter()
    recording = load_recording(clip).with_view("a4c")
    if n_frames < recording.n_frames:
        recording = replace(recording, frames=np.ascontiguousarray(recording.frames[:n_frames]),
                            frame_times_s=recording.frame_times_s[:n_frames].copy())
    clock.add("load", time.perf_counter() - t0)
    t_run = time.perf_counter()
    analysis = run(recording)
    total = time.perf_counter() - t_run + clock.seconds["load"]
    top = ("load", "segmentation", "contours", "measure", "ed/es", "strain")
    clock.seconds["other"] = total - sum(clock.seconds.get(k, 0.0) for k in top)
    clock.seconds["total"] = total
    m = analysis.measurements
    return {
        "frames": recording.n_frames,
        "seconds": clock.seconds,
        "imports_s": t_imports,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "ef_pct": m.ef_pct,
        "gls_pct": None if analysis.strain is None else analysis.strain.gls_pct,
        "strain_error": getattr(analysis, "strain_error", None) or getattr(analysis, "extra", {}).get("strain_error"),
    }


def _wrap_layout(clock: _Clock):
    """Time the stages of the tree being measured and return its `run(recording) -> analysis` (segmentation,
    contours, ED/ES, measurements and strain). Two layouts: the one analysis use case (app/workflow/analyze.py,
    issue 32, strain inside the task) and the release before it (app/workflow/pipeline.py + with_strain)."""
    import importlib
    import importlib.util

    spelt = [m for m in ("app.workflow.analyze", "app.workflow.analyse") if importlib.util.find_spec(m) is not None]
    if spelt:  # "analyse" before issue 57
        analyze = importlib.import_module(spelt[0])
        import app.workflow.segment_step as segment_step
        from app.tasks import run_task

        clock.wrap(segment_step, "extract_contours", "contours")
        clock.wrap(analyze, "trace_curves", "measure")
        clock.wrap(analyze, "measure_curves", "measure")
        import app.ml.edes as edes

        clock.wrap(analyze, "choose_ed_es", "ed/es")
        clock.wrap(edes, "predict_ed_es", "ed/es")  # imported inside the step: the module attribute is looked up
        clock.wrap(analyze, "strain_step", "strain")

        def run(recording):
            segmenter, name = segment_step.default_segmenter(recording)
            return run_task(analyze.analyze_recording(recording, segmenter=segmenter, segmenter_name=name,
                                                      strain=True))
        return run

    import app.workflow.pipeline as pipeline

    from app.workflow.strain_step import with_strain

    clock.wrap(pipeline, "extract_contours", "contours")
    clock.wrap(pipeline, "measure_recording", "measure")
    clock.wrap(pipeline, "model_ed_es", "ed/es")

    def run(recording):
        segmenter, name = pipeline.default_segmenter(recording)
        analysis = pipeline.run_to_completion(pipeline.analyze_recording(recording, segmenter=segmenter,
                                                                         segmenter_name=name))
        t0 = time.perf_counter()
        analysis = with_strain(analysis)
        clock.add("strain", time.perf_counter() - t0)
        return analysis
    return run


# -- the parent: clips, baseline worktree, runs, table ------------------------------------------------
def phantom_clip(out_dir: Path) -> Path:
    """The phantom A4C clip at real resolution (454 x 487 px, 0.31 mm, 55 Hz, 216 frames), made once."""
    path = out_dir / "phantom_a4c_454x487_216.dcm"
    if not path.exists():
        out_dir.mkdir(parents=True, exist_ok=True)
        subprocess.run([PYTHON, "-m", "app", "phantom", "--modality", "echo", "--view", "a4c", "--hr", "61",
                        "--beats", "4", "--fps", "55", "--size", "454x487", "--depth", "141", "--sector", "64",
                        "--seed", "3", "--no-truth", "--out", str(path)], cwd=REPO, check=True,
                       env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.DEVNULL)
    return path


def short_clip(clip: Path, n_frames: int, out_dir: Path) -> Path:
    """The first n_frames of the clip as a DICOM file (for the start-up run of `analyze`)."""
    path = out_dir / f"{clip.stem}_first{n_frames}.dcm"
    if not path.exists():
        code = ("import sys, numpy as np; from dataclasses import replace; from app.data.readers import load_recording;"
                "from app.data.writers import write_recording; r = load_recording(sys.argv[1]);"
                "n = int(sys.argv[2]); r = replace(r, frames=np.ascontiguousarray(r.frames[:n]),"
                " frame_times_s=r.frame_times_s[:n].copy()); write_recording(r, sys.argv[3])")
        subprocess.run([PYTHON, "-c", code, str(clip), str(n_frames), str(path)], cwd=REPO, check=True,
                       env={**os.environ, "PYTHONPATH": str(REPO)})
    return path


def baseline_root(ref: str) -> Path:
    sha = subprocess.run(["git", "rev-parse", ref], cwd=REPO, check=True, capture_output=True,
                         text=True).stdout.strip()
    root = Path(f"/tmp/cardiotrace_baseline_{sha[:10]}")
    if not (root / "app").exists():
        subprocess.run(["git", "worktree", "add", "--detach", str(root), sha], cwd=REPO, check=True,
                       capture_output=True)
    if not (root / "models").exists() or not any((root / "models").iterdir()):
        raise SystemExit(f"{root}/models is empty: the baseline needs its models")
    return root


def branch_point() -> str:
    return subprocess.run(["git", "merge-base", "HEAD", "main"], cwd=REPO, check=True, capture_output=True,
                          text=True).stdout.strip()


def _env(root: Path, backend: str) -> dict:
    return {**os.environ, "PYTHONPATH": str(root), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
            "CARDIOTRACE_MODELS_DIR": str(root / "models"), **BACKENDS[backend]}


def run_child(root: Path, backend: str, clip: Path, n_frames: int, threads: int) -> dict:
    out = subprocess.run([PYTHON, str(Path(__file__).resolve()), "--child", str(clip), str(n_frames), str(threads)],
                         cwd=root, env=_env(root, backend), check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def startup_seconds(root: Path, backend: str, clip: Path, out_dir: Path) -> float:
    t0 = time.perf_counter()
    subprocess.run([PYTHON, "-m", "app", "analyze", str(clip), "--view", "a4c", "--json",
                    str(out_dir / "startup.json")], cwd=root, env=_env(root, backend), check=True,
                   capture_output=True)
    return time.perf_counter() - t0


def _ms(run: dict, stage: str) -> float:
    return 1000.0 * run["seconds"].get(stage, 0.0) / run["frames"]


def _marginal_ms(long: dict, short: dict, stage: str) -> float:
    dt = long["seconds"].get(stage, 0.0) - short["seconds"].get(stage, 0.0)
    return 1000.0 * dt / max(long["frames"] - short["frames"], 1)


def _fmt(v, nd=1) -> str:
    return "-" if v is None else f"{v:.{nd}f}"


def table(backend: str, runs: dict) -> str:
    bl, bs, cl, cs = (
        runs["baseline", "long"],
        runs["baseline", "short"],
        runs["current", "long"],
        runs["current", "short"],
    )
    lines = [f"## {backend}: {cl['frames']} vs {cs['frames']} frames",
             f"{'stage':<24}{'prev ms/f':>10}{'now ms/f':>10}{'prev marg':>11}{'now marg':>10}{'ratio':>7}"]
    for stage in STAGES:
        a, b = _marginal_ms(bl, bs, stage), _marginal_ms(cl, cs, stage)
        ratio = a / b if abs(b) > 1e-3 else float("nan")
        lines.append(f"{stage:<24}{_ms(bl, stage):>10.1f}{_ms(cl, stage):>10.1f}{a:>11.1f}{b:>10.1f}{ratio:>7.2f}")
    lines.append(f"{'peak memory MB (long)':<24}{bl['peak_mb']:>10.0f}{cl['peak_mb']:>10.0f}"
                 f"{'':>21}{bl['peak_mb'] / cl['peak_mb']:>7.2f}")
    lines.append(f"{'peak memory MB (short)':<24}{bs['peak_mb']:>10.0f}{cs['peak_mb']:>10.0f}")
    lines.append(f"{'imports s':<24}{bl['imports_s']:>10.2f}{cl['imports_s']:>10.2f}")
    for name, key in (("EF %", "ef_pct"), ("GLS %", "gls_pct")):
        for length in ("long", "short"):
            p, c = runs["baseline", length][key], runs["current", length][key]
            diff = None if p is None or c is None else c - p
            lines.append(f"{name + ' (' + length + ')':<24}{_fmt(p, 2):>10}{_fmt(c, 2):>10}   diff {_fmt(diff, 2)}")
    if "startup" in runs:
        p, c = runs["startup"]
        lines.append(f"{'analyze short clip s':<24}{p:>10.2f}{c:>10.2f}{'':>21}{p / c:>7.2f}")
    return "\n".join(lines)


def default_paths() -> tuple[str, ...]:
    """Every inference path, the GPU's only where torch sees one."""
    import torch

    return tuple(b for b in BACKENDS if b not in GPU_PATHS or torch.cuda.is_available())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clip", type=Path, help="an apical echo clip (default: the phantom at real resolution)")
    parser.add_argument("--short", type=int, default=20, help="frames of the short clip (default 20)")
    parser.add_argument(
        "--baseline", default=None, help="git ref of the previous release (default: merge-base with main)"
    )
    parser.add_argument("--backend", action="append", choices=tuple(BACKENDS), help="inference path(s) (default: all)")
    parser.add_argument("--out", type=Path, default=Path("/tmp/cardiotrace_bench"), help="work folder")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs of each (code, length), the two codes alternating; each keeps its fastest run "
                             "(other work on the machine only adds time)")
    parser.add_argument("--versus", choices=tuple(BACKENDS),
                        help="no previous release: this code's paths against this one (the GPU machine: its CPU)")
    parser.add_argument("--threads", type=int, default=2,
                        help="torch's and OpenCV's threads in each run (default 2, the issue's laptop; BLAS: 1)")
    parser.add_argument("--child", nargs=3, metavar=("CLIP", "FRAMES", "THREADS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(Path(args.child[0]), int(args.child[1]), int(args.child[2]))))
        return 0
    clip = args.clip.resolve() if args.clip else phantom_clip(args.out)
    short = short_clip(clip, args.short, args.out)
    versus = args.versus
    roots = {"baseline": REPO if versus else baseline_root(args.baseline or branch_point()), "current": REPO}
    against = f"the {versus} path" if versus else f"previous release {roots['baseline']}"
    print(f"clip {clip}; against {against}; {args.threads} threads; load: {os.getloadavg()}", flush=True)
    for backend in [b for b in args.backend or default_paths() if b != versus]:
        paths = {"baseline": versus or backend, "current": backend}
        runs: dict = {}
        for _ in range(max(1, args.repeat)):
            for which, root in roots.items():
                for length, n in (("long", 10**9), ("short", args.short)):
                    run = run_child(root, paths[which], clip, n, args.threads)
                    kept = runs.get((which, length))
                    if kept is None or run["seconds"]["total"] < kept["seconds"]["total"]:
                        runs[which, length] = run
        runs["startup"] = tuple(startup_seconds(roots[w], paths[w], short, args.out) for w in ("baseline", "current"))
        print(table(backend if versus is None else f"{backend} (prev: {versus})", runs), flush=True)
    print(f"load after: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
