"""One analysis, one answer (issue 32): the same recording through the CLI (a subprocess), the batch runner
(`analyze --out`) and the viewer's study (the Qt-free StudyState, as the viewer's worker fills it) gives the
same JSON: every measurement, quality flag, ED/ES frame, strain value and view-check field.

Recordings: the phantom demo clip resources/demo/a4c.dcm with the U-Net (default) and the ConvLSTM
(`--model temporal`; the U-Net case labelled A2C with a height and weight, so the view check, the strain view
warning and the indexed values are compared too), and the phantom short-axis MR stack resources/demo/sax (made by
resources/demo/make_demo.sh from app.data.phantom).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from app.ml.weights import model_available

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "resources" / "demo"
BODY = ["--height-cm", "170", "--weight-kg", "70"]
CASES = [  # (recording, analyze flags, the model folder it needs)
    pytest.param("a4c.dcm", ["--view", "a2c", *BODY], "echo_seg_base", id="echo-unet"),
    pytest.param("a4c.dcm", ["--model", "temporal"], "echo_seg_temporal", id="echo-convlstm"),
    pytest.param("sax", [], "mri_seg", id="mri-stack"),
]


def _cli_json(path: Path, flags: list[str]) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "app", "analyze", str(path), *flags, "--json", "-"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _batch_json(path: Path, flags: list[str], out: Path) -> dict:
    from app.cli import main
    from app.workflow.batch_inputs import collect_inputs

    assert main(["analyze", str(path), *flags, "--out", str(out), "--exports", "none"]) == 0
    (item,) = collect_inputs([path], exclude=out)
    record = json.loads((out / f"{item.result_name}.result.json").read_text(encoding="utf-8"))
    assert record["status"] == "ok", record["error"]
    return record["analysis"]


def _viewer_json(path: Path, flags: list[str]) -> dict:
    """As the viewer: load, set the body size in the study, run the worker's task, take its result."""
    from app.report.from_study import analyses_from_study
    from app.tasks import run_task
    from app.workflow.analyze import load
    from app.workflow.segment_step import default_segmenter
    from app.workflow.study import StudyState
    from app.workflow.study_analysis import analyze_for_viewer

    options = _options(flags)
    recording = load(path, options)
    study = StudyState()
    index = study.add_recording(recording)
    if options.height_cm is not None:
        study.set_body_size(index, options.height_cm, options.weight_kg)
    recording = study[index].recording
    segmenter, _ = default_segmenter(recording, options.model)
    study.set_analysis(index, run_task(analyze_for_viewer(recording, segmenter=segmenter, strain=True)))
    (analysis,), _ = analyses_from_study(study)
    return analysis.to_json_dict()


def _options(flags: list[str]):
    from app.cli import build_parser
    from app.report.cli_hooks import analysis_options

    return analysis_options(build_parser().parse_args(["analyze", "x", *flags]))


def _without_file(data: dict) -> dict:
    return {k: v for k, v in data.items() if k != "file"}


@pytest.mark.parametrize("name, flags, model", CASES)
def test_cli_batch_and_viewer_give_the_same_analysis(name, flags, model, tmp_path):
    if not model_available(model):
        pytest.skip(f"models/{model} is not installed")
    path = DEMO / name
    cli = _cli_json(path, flags)
    batch = _batch_json(path, flags, tmp_path / "out")
    viewer = _viewer_json(path, flags)
    assert cli["edv_ml"] is not None and cli["ed_frames"] and cli["es_frames"]  # a real measurement
    if "--height-cm" in flags:
        assert cli["bsa_m2"] is not None and cli["view"] == "a2c"  # batch --out honours the body size and view
    if name == "sax":
        assert cli["rv_edv_ml"] is not None and cli["quality"] and cli["method"] == "slice-summation"
    else:
        assert cli["gls_pct"] is not None  # strain ran the same way on every path
    assert _without_file(batch) == _without_file(cli)
    assert _without_file(viewer) == _without_file(cli)


def test_a_study_of_two_views_with_a_second_a4c_is_one_answer_on_every_path(tmp_path):
    """Issue 54 item 1: the study-level numbers (biplane, LA volume, the view pair) of the demo exam's A4C and A2C
    with a second A4C clip, through `analyze A B C --measurements` (a process of its own) and the viewer's study
    (StudyState + its report export): the same measurements JSON, with no tolerance; the study says which A4C
    it used."""
    import shutil

    import pydicom

    from app.data.readers import load_recording
    from app.report.from_study import export_study
    from app.tasks import run_task
    from app.workflow.study import StudyState
    from app.workflow.study_analysis import analyze_for_viewer

    names = ["a4c_no_regions.dcm", "a2c.dcm", "a4c.dcm"]  # the first A4C lost its calibration on export
    shutil.copy(DEMO / "a2c.dcm", tmp_path / "a2c.dcm")
    shutil.copy(DEMO / "a4c.dcm", tmp_path / "a4c.dcm")
    uncalibrated = pydicom.dcmread(DEMO / "a4c.dcm")
    del uncalibrated.SequenceOfUltrasoundRegions
    uncalibrated.save_as(tmp_path / names[0])
    truths = [DEMO / "a4c.truth.npz", DEMO / "a2c.truth.npz", DEMO / "a4c.truth.npz"]
    cli_out = tmp_path / "cli.json"
    flags = [f for t in truths for f in ("--labels", str(t))] + ["--measurements", str(cli_out), "--no-strain"]
    cli = _cli_json_many([tmp_path / n for n in names], flags)
    assert cli["biplane"] is not None and len(cli["recordings"]) == 3
    assert cli["study_notes"] == ["2 A4C clips in the study: the biplane and LA volume use a4c.dcm (calibrated)"]
    assert cli["biplane"]["edv_ml"] is not None  # from the calibrated A4C, not the first one given

    study = StudyState()
    for name, truth in zip(names, truths, strict=False):
        recording = load_recording(tmp_path / name)
        labels = np.load(truth)["labels"]
        analysis = run_task(analyze_for_viewer(recording, segmenter=lambda r, lab=labels: lab, strain=False))
        study.set_analysis(study.add_recording(recording), analysis)
    (viewer_out,) = export_study(study, tmp_path / "viewer", kinds=("json",))
    cli_json, viewer_json = (json.loads(p.read_text(encoding="utf-8")) for p in (cli_out, viewer_out))
    assert cli_json["study"]["la_volume_ml"]["value"] is not None and "ef_pct" in cli_json["study"]
    assert _comparable(viewer_json) == _comparable(cli_json)


def _cli_json_many(paths, flags: list[str]) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "app", "analyze", *map(str, paths), *flags, "--json", "-"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _comparable(data):
    """The export without what differs by nature: when it was made and where the files were read."""
    if isinstance(data, dict):
        return {k: _comparable(v) for k, v in data.items() if k not in ("created", "source_path", "file")}
    if isinstance(data, list):
        return [_comparable(v) for v in data]
    return data
