"""Short-axis MRI stacks of any shape through `analyze --labels`: an ED/ES pair of phases (4D NIfTI, DICOM),
one phase (3D NIfTI), with the right ventricle (label 3).

ACDC (../shared/data/acdc, skipped when absent): the expert labels give the reference volumes, so the
error is the contour + slice-summation method's alone. Measured over all 80 patients
(`benchmarks/acdc_label_volumes.py`, both phase orders): largest absolute error LV EDV/ESV 0.18 ml, RV EDV
0.26 ml, RV ESV 0.15 ml, LV EF 0.10 points, RV EF 0.09 points, mass 0.11 g (reference x 1.05 g/ml). The
tolerances are those plus a margin: 0.5 ml, 0.3 points, 0.5 g.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import SimpleITK as sitk

from app.cli import main
from app.data.recording import Recording, uniform_frame_times
from app.tasks import run_task
from app.workflow.analyze import analyze_recording
from lab.data.acdc import load_patient, patient_ids, write_nifti

VOLUME_TOL_ML = 0.5  # measured max 0.26 ml
EF_TOL_POINTS = 0.3  # measured max 0.10
MASS_TOL_G = 0.5  # measured max 0.11 g
MYO_DENSITY = 1.05


# -- synthetic stacks (no data needed) ----------------------------------------------------------------
def _disk(shape, centre, radius):
    rr, cc = np.mgrid[: shape[0], : shape[1]]
    return (rr - centre[0]) ** 2 + (cc - centre[1]) ** 2 <= radius ** 2


def _phase_labels(lv_r: float, rv_r: float, n_slices: int = 4, shape=(64, 64)) -> np.ndarray:
    """(S, H, W): an LV pool of radius lv_r in a 4-px wall, an RV pool of radius rv_r beside it."""
    out = np.zeros((n_slices, *shape), np.uint8)
    for s in range(n_slices):
        out[s][_disk(shape, (32, 26), lv_r + 4)] = 2
        out[s][_disk(shape, (32, 26), lv_r)] = 1
        out[s][_disk(shape, (32, 50), rv_r) & (out[s] == 0)] = 3
    return out


def _stack(labels: np.ndarray) -> Recording:
    """A 1.5 mm, 8 mm-slice MRI stack (S, T, H, W) whose images are its labels."""
    return Recording(frames=(labels * 60).astype(np.float32), frame_times_s=uniform_frame_times(labels.shape[1], 25.0),
                     modality="mri", view="sax", spacing_mm=(1.5, 1.5), calibrated=True, slice_spacing_mm=8.0)


def _analyze(labels: np.ndarray):
    return run_task(analyze_recording(_stack(labels), segmenter=lambda rec: labels))


@pytest.mark.parametrize("ed_first", [True, False])
def test_phase_pair_ed_is_the_larger_lv(ed_first):
    ed, es = _phase_labels(12, 10), _phase_labels(8, 6)
    labels = np.stack([ed, es] if ed_first else [es, ed], axis=1)
    m = _analyze(labels).measurements
    assert m.ed_frames == ((0,) if ed_first else (1,)) and m.es_frames == ((1,) if ed_first else (0,))
    assert m.edv_ml > m.esv_ml > 0 and m.ef_pct == pytest.approx(100 * (m.edv_ml - m.esv_ml) / m.edv_ml)
    assert m.heart_rate_bpm is None  # two phases are not a cycle (before: 60 x rate / 2 = 750 bpm)
    assert m.rv_edv_ml > m.rv_esv_ml > 0 and m.rv_sv_ml == pytest.approx(m.rv_edv_ml - m.rv_esv_ml)
    # slice summation of ~pi r^2 per slice: the RV pool is the disk minus the LV wall it touches
    rv_area_mm2 = (ed == 3)[0].sum() * 1.5 * 1.5
    assert m.rv_edv_ml == pytest.approx(4 * rv_area_mm2 * 8.0 / 1000, rel=0.05)
    assert m.lv_mass_g is not None


def test_single_phase_gives_that_phase_volumes():
    labels = _phase_labels(12, 10)[:, None]
    a = _analyze(labels)
    data = a.to_json_dict()
    assert data["edv_ml"] is None and data["ef_pct"] is None and data["rv_edv_ml"] is None
    lv_mm2 = (labels == 1).sum() * 1.5 * 1.5
    assert data["lv_volume_ml"] == pytest.approx(lv_mm2 * 8.0 / 1000, rel=0.05)
    assert data["rv_volume_ml"] > 0 and data["myocardial_mass_g"] > 0
    assert any(n.startswith("one phase") for n in data["notes"])


def test_rv_only_slice_counts_for_the_rv():
    """A basal slice with RV outflow tract but no LV pool still adds to the RV volume."""
    ed, es = _phase_labels(12, 10), _phase_labels(8, 6)
    ed[0][ed[0] != 3] = 0
    m = _analyze(np.stack([ed, es], axis=1)).measurements
    per_slice = (ed == 3)[1].sum() * 1.5 * 1.5 * 8.0 / 1000
    assert m.rv_edv_ml == pytest.approx(4 * per_slice, rel=0.05)


# -- ACDC through analyze -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def acdc_cases():
    from tests.conftest import SHARED_DATA

    folder = SHARED_DATA / "acdc"
    if not folder.is_dir():
        pytest.skip(f"ACDC data folder {folder} is absent (the team provides it beside the checkout)")
    cases = {}
    for pid in patient_ids(folder):  # the first patient of each diagnostic group
        case = load_patient(folder, pid)
        cases.setdefault(case.group, case)
    return list(cases.values())


def _analyze_json(capsys, image, labels, *extra):
    code = main(["analyze", str(image), "--labels", str(labels), "--json", "-", "--no-strain", *extra])
    out = capsys.readouterr()
    assert code == 0, out.err
    return json.loads(out.out)


@pytest.mark.parametrize("phases", [("ed", "es"), ("es", "ed")])
def test_acdc_phase_pair_matches_reference(acdc_cases, tmp_path, capsys, phases):
    for case in acdc_cases:
        image, labels = write_nifti(case, tmp_path / f"{case.patient}.nii.gz", tmp_path / f"{case.patient}_l.nii.gz",
                                    phases)
        r = _analyze_json(capsys, image, labels)
        ref = case.reference
        assert r["ed_frames"] == [phases.index("ed")], case.patient
        for ours, theirs in (("edv_ml", "lv_edv_ml"), ("esv_ml", "lv_esv_ml"), ("rv_edv_ml", "rv_edv_ml"),
                             ("rv_esv_ml", "rv_esv_ml")):
            assert r[ours] == pytest.approx(getattr(ref, theirs), abs=VOLUME_TOL_ML), (case.patient, ours)
        assert r["ef_pct"] == pytest.approx(ref.lv_ef_pct, abs=EF_TOL_POINTS), case.patient
        assert r["rv_ef_pct"] == pytest.approx(ref.rv_ef_pct, abs=EF_TOL_POINTS), case.patient
        assert r["myocardial_mass_g"] == pytest.approx(MYO_DENSITY * ref.myo_mass_g_ed, abs=MASS_TOL_G)
        assert r["heart_rate_bpm"] is None


def test_acdc_single_phase_and_masks(acdc_cases, tmp_path, capsys):
    case = acdc_cases[0]
    image, labels = write_nifti(case, tmp_path / "ed.nii.gz", tmp_path / "ed_l.nii.gz", ("ed",))
    masks = tmp_path / "masks.nii.gz"
    r = _analyze_json(capsys, image, labels, "--masks", str(masks))
    assert r["frames"] == 1 and r["ef_pct"] is None
    assert r["lv_volume_ml"] == pytest.approx(case.reference.lv_edv_ml, abs=VOLUME_TOL_ML)
    assert r["rv_volume_ml"] == pytest.approx(case.reference.rv_edv_ml, abs=VOLUME_TOL_ML)
    written = sitk.GetArrayFromImage(sitk.ReadImage(str(masks)))  # (slice, H, W), as the 3D input
    assert np.array_equal(written == 3, case.labels[0] == 3)  # label 3 = RV in the masks


def test_acdc_two_dicom_phases(acdc_cases, tmp_path, capsys):
    from app.data.readers import load_recording
    from app.data.writers.dicom_mr import write_mr_series

    case = acdc_cases[0]
    image, labels = write_nifti(case, tmp_path / "p.nii.gz", tmp_path / "p_l.nii.gz", ("es", "ed"))
    rec = load_recording(image)
    folder = write_mr_series(rec, tmp_path / "dicom")
    label_map = np.stack([case.labels[1], case.labels[0]], axis=1)  # (S, T, H, W), base first as written
    np.save(tmp_path / "labels.npy", label_map)
    r = _analyze_json(capsys, folder, tmp_path / "labels.npy")
    assert r["slices"] == label_map.shape[0] and r["frames"] == 2 and r["ed_frames"] == [1]
    assert r["edv_ml"] == pytest.approx(case.reference.lv_edv_ml, abs=VOLUME_TOL_ML)
    assert r["rv_ef_pct"] == pytest.approx(case.reference.rv_ef_pct, abs=EF_TOL_POINTS)


def test_echo_has_no_rv(tmp_path):
    from tests.analysis_synth import phantom_echo

    case = phantom_echo("a4c")
    data = run_task(analyze_recording(case.recording, segmenter=lambda rec: case.truth.labels)).to_json_dict()
    assert all(data[k] is None for k in ("rv_edv_ml", "rv_esv_ml", "rv_sv_ml", "rv_ef_pct"))


def test_basal_slice_rule_keeps_every_acdc_lv_slice(acdc_cases):
    """The rule that drops basal slices (pool < 50 % surrounded by myocardium, lab.training.mri_postprocess) keeps
    every expert LV slice on ACDC's geometry: over all 80 patients, ED and ES, the least surrounded of 1436
    expert LV slices is 80 % surrounded (RV pool counted as not myocardium)."""
    from lab.training.mri_postprocess import MIN_MYOCARDIAL_SURROUND, myocardial_surround

    for case in acdc_cases:
        for labels in case.labels:
            for s in np.flatnonzero((labels == 1).any(axis=(1, 2))):
                lv_only = np.where(labels[s] == 3, 0, labels[s])
                assert myocardial_surround(lv_only) >= MIN_MYOCARDIAL_SURROUND, (case.patient, s)


# -- one file per phase (ACDC's frameED / frameES files) -----------------------------------------------------
def test_single_phase_stacks_join_into_a_phase_pair():
    from app.workflow.phase_files import is_joined, join_phases, phase_join_problem
    from app.workflow.stack_phases import is_phase_pair

    ed, es = _phase_labels(12, 10)[:, None], _phase_labels(8, 6)[:, None]
    joined = join_phases([_stack(es), _stack(ed)])
    assert joined.frames.shape == (4, 2, 64, 64) and is_phase_pair(joined) and is_joined(joined)
    assert joined.frame_times_nominal and joined.heart_rate_bpm is None
    labels = np.concatenate([es, ed], axis=1)
    data = run_task(analyze_recording(joined, segmenter=lambda rec: labels)).to_json_dict()
    pair = _analyze(labels).to_json_dict()  # the same two phases read from one file
    assert data["ed_frames"] == [1] and data["ef_pct"] == pytest.approx(pair["ef_pct"]) and data["ef_pct"] > 20
    assert data["heart_rate_bpm"] is None and any("one file per phase" in n for n in data["notes"])
    assert phase_join_problem([_stack(ed), _stack(ed[:3])]) == "4 slices against 3"
    with pytest.raises(ValueError, match="not phases of one series"):
        join_phases([_stack(ed), _stack(ed[:3])])
    with pytest.raises(ValueError):
        join_phases([_stack(labels), _stack(ed)])  # a stack of two phases is not one phase


def test_acdc_phase_files_given_together_give_the_pair(acdc_cases, tmp_path, capsys):
    """`analyze es.nii.gz ed.nii.gz` (one 3D file per phase, as ACDC stores them) gives what the 4D file of
    the same two phases gives: before, each file was one phase and no EF came out."""
    case = acdc_cases[0]
    es, _ = write_nifti(case, tmp_path / "frame_es.nii.gz", tmp_path / "es_l.nii.gz", ("es",))
    ed, _ = write_nifti(case, tmp_path / "frame_ed.nii.gz", tmp_path / "ed_l.nii.gz", ("ed",))
    four_d, _ = write_nifti(case, tmp_path / "pair.nii.gz", tmp_path / "pair_l.nii.gz", ("es", "ed"))
    runs = []
    for paths in ((es, ed), (four_d,)):
        code = main(["analyze", *map(str, paths), "--json", "-", "--no-strain", "--same-patient"])  # NIfTI: no identity
        out = capsys.readouterr()
        assert code == 0, out.err
        runs.append(json.loads(out.out))
    joined, pair = runs
    assert joined["frames"] == 2 and joined["ed_frames"] == [1] and joined["heart_rate_bpm"] is None
    for key in ("edv_ml", "esv_ml", "ef_pct", "rv_edv_ml", "rv_esv_ml", "myocardial_mass_g"):
        assert joined[key] == pytest.approx(pair[key], abs=0.05), key
    assert abs(joined["ef_pct"] - case.reference.lv_ef_pct) < 10  # the network's EF, not the expert labels'


def test_acdc_phase_files_with_their_label_files_give_the_reference(acdc_cases, tmp_path, capsys):
    """`analyze ed.nii.gz es.nii.gz --labels ed_gt.nii.gz --labels es_gt.nii.gz`: each label file is read against
    its own phase, then joined with it, so the expert labels give ACDC's reference EF (before: two phases, no EF)."""
    case = acdc_cases[0]
    ed, ed_labels = write_nifti(case, tmp_path / "ed.nii.gz", tmp_path / "ed_gt.nii.gz", ("ed",))
    es, es_labels = write_nifti(case, tmp_path / "es.nii.gz", tmp_path / "es_gt.nii.gz", ("es",))
    code = main(["analyze", str(es), str(ed), "--labels", str(es_labels), "--labels", str(ed_labels), "--json", "-",
                 "--no-strain", "--same-patient"])
    out = capsys.readouterr()
    assert code == 0, out.err
    r = json.loads(out.out)
    assert r["frames"] == 2 and r["ed_frames"] == [1] and r["segmenter"] == "labels:es_gt.nii.gz + ed_gt.nii.gz"
    assert r["ef_pct"] == pytest.approx(case.reference.lv_ef_pct, abs=EF_TOL_POINTS)
    assert r["rv_ef_pct"] == pytest.approx(case.reference.rv_ef_pct, abs=EF_TOL_POINTS)


def test_an_oblique_label_file_meets_its_slices(tmp_path):
    """A stack stored with its slice axis from apex to base is read base first; its label file (same geometry)
    now is too. Before, the labels kept the file's order: slice 1's labels on slice 6's image, silently. The
    masks written back go to the file's order and geometry (before: reversed, with no origin or direction)."""
    from pathlib import Path

    from app.commands.analyze_io import load_labels
    from app.data.readers import load_recording
    from app.data.readers.nifti import APEX_DIRECTION_LPS

    apex_to_base = -APEX_DIRECTION_LPS
    x = np.cross(apex_to_base, [0.0, 0.0, 1.0])
    x /= np.linalg.norm(x)
    direction = tuple(np.stack([x, np.cross(apex_to_base, x), apex_to_base], axis=1).ravel())
    image, labels = np.zeros((6, 40, 40), np.int16), np.zeros((6, 40, 40), np.uint8)
    for k in range(6):  # slice k of the file: intensity 100 (k + 1), an LV 3 (k + 1) px wide
        image[k, 10:30, 10:30] = 100 * (k + 1)
        labels[k, 10:30, 10:10 + 3 * (k + 1)] = 1
    for data, name in ((image, "sax.nii.gz"), (labels, "sax_gt.nii.gz")):
        written = sitk.GetImageFromArray(data)
        written.SetSpacing((1.5, 1.5, 8.0))
        written.SetDirection(direction)
        sitk.WriteImage(written, str(tmp_path / name))
    rec = load_recording(tmp_path / "sax.nii.gz")
    read = load_labels(Path(tmp_path / "sax_gt.nii.gz"), rec)
    order = [int(rec.frames[s, 0, 20, 20]) // 100 for s in range(6)]
    assert order == [6, 5, 4, 3, 2, 1]  # the reader put the stack base first
    assert [int(read[s, 0].sum()) // 60 for s in range(6)] == order  # each slice's labels with its image
    # and the mask `analyze --masks` writes lies on the file: its slice order, origin and direction
    masks = tmp_path / "masks.nii.gz"
    assert main(["analyze", str(tmp_path / "sax.nii.gz"), "--labels", str(tmp_path / "sax_gt.nii.gz"), "--masks",
                 str(masks), "--no-strain", "--json", str(tmp_path / "r.json")]) == 0
    written = sitk.ReadImage(str(masks))
    source = sitk.ReadImage(str(tmp_path / "sax_gt.nii.gz"))
    np.testing.assert_array_equal(sitk.GetArrayFromImage(written), labels)
    assert written.GetDirection() == pytest.approx(source.GetDirection())
    assert written.GetOrigin() == pytest.approx(source.GetOrigin())


@pytest.mark.parametrize("n_phases", [20, 2])
def test_a_4d_file_of_one_slice_is_one_cine_slice_with_its_fac(tmp_path, capsys, n_phases):
    """A 4D NIfTI holding one slice (a Sunnybrook slice, one ACDC slice at ED and ES) read as a stack of one slab
    gave a slice-summation EDV, ESV and EF (and an RV EF) from one slice; a DICOM series of the same slice gave its
    fractional area change. Now both read it as the one cine slice it is: FAC, no volumes, no EF."""
    from app.data.readers import load_recording

    radii = np.concatenate([np.linspace(12, 8, n_phases // 2), np.linspace(8, 12, n_phases - n_phases // 2)])
    labels = np.stack([_phase_labels(r, r - 2, n_slices=1)[0] for r in radii])  # (T, H, W)
    image = sitk.GetImageFromArray((labels[:, None] * 60).astype(np.float32), isVector=False)  # (T, 1, H, W)
    image.SetSpacing((1.5, 1.5, 8.0, 0.04))
    path = tmp_path / "one_slice_4d.nii.gz"
    sitk.WriteImage(image, str(path))
    rec = load_recording(path)
    assert not rec.is_stack and rec.frames.shape == labels.shape and rec.slice_spacing_mm is None
    truth = tmp_path / "labels.npz"
    np.savez_compressed(truth, labels=labels)
    assert main(["analyze", str(path), "--labels", str(truth), "--json", "-"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["method"] == "single-slice" and out["ef_pct"] is None and out["edv_ml"] is None
    assert out["rv_ef_pct"] is None
    area_ed, area_es = np.pi * 12 ** 2, np.pi * 8 ** 2
    assert out["fac_pct"] == pytest.approx(100 * (area_ed - area_es) / area_ed, abs=3.0)


def _lv_rv_swapped(labels: np.ndarray) -> np.ndarray:
    out = labels.copy()
    out[labels == 1], out[labels == 3] = 3, 1
    return out


def test_acdc_labels_with_the_lv_and_rv_the_other_way_round_are_refused(acdc_cases, tmp_path, capsys):
    """ACDC's own `_gt` files label the RV 1 and the LV 3: given as they are, the RV's volumes were reported as
    the LV's and the mass came from the RV's side (patient061: EDV 174 against 137 ml, mass 258 g). A short-axis
    map whose label 3 is ringed by myocardium and label 1 is not is refused with one line; ours is read."""
    from app.analysis.label_convention import lv_and_rv_swapped

    for case in acdc_cases:
        assert lv_and_rv_swapped(case.labels) is None
        shares = lv_and_rv_swapped(_lv_rv_swapped(case.labels))
        assert shares is not None and shares[0] <= 0.4 and shares[1] == pytest.approx(1.0)
    case = acdc_cases[0]
    image, ours = write_nifti(case, tmp_path / "p.nii.gz", tmp_path / "p_gt.nii.gz")
    theirs = tmp_path / "p_gt_acdc.nii.gz"
    labels = sitk.ReadImage(str(ours))
    swapped = sitk.GetImageFromArray(_lv_rv_swapped(sitk.GetArrayFromImage(labels)), isVector=False)
    swapped.CopyInformation(labels)
    sitk.WriteImage(swapped, str(theirs))
    assert main(["analyze", str(image), "--labels", str(theirs), "--no-strain", "--json", "-"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "the LV and RV are the other way round" in err[0]
    assert main(["analyze", str(image), "--labels", str(ours), "--no-strain", "--json", "-"]) == 0
    assert json.loads(capsys.readouterr().out)["edv_ml"] == pytest.approx(case.reference.lv_edv_ml, abs=VOLUME_TOL_ML)


def test_a_synthetic_stack_in_our_convention_is_not_taken_for_swapped():
    ed, es = _phase_labels(12, 10), _phase_labels(8, 6)
    from app.analysis.label_convention import lv_and_rv_swapped

    assert lv_and_rv_swapped(np.stack([ed, es], axis=1)) is None
    assert lv_and_rv_swapped(np.where(ed == 3, 0, ed)) is None  # no RV drawn: nothing to compare
    assert lv_and_rv_swapped(_lv_rv_swapped(ed)) is not None


def test_a_stack_without_slice_spacing_is_refused_before_any_slice_is_segmented(monkeypatch):
    """It was refused only after the MRI networks had traced every slice (27 s on the CPU, 39 s in the viewer)."""
    from app.data.recording import Recording, uniform_frame_times
    from app.workflow import analyze as workflow
    from app.workflow.results import AnalysisError

    stack = Recording(frames=np.zeros((3, 5, 32, 32), np.uint8), frame_times_s=uniform_frame_times(5, 25.0),
                      modality="mri", spacing_mm=(1.5, 1.5), calibrated=True)
    monkeypatch.setattr(workflow, "trace_curves", lambda *a, **k: pytest.fail("the slices were segmented"))
    assert workflow.refusal(stack) == ("the short-axis stack has no slice spacing: slice summation is impossible; open "
                                       "the scanner's DICOM series, or a file written with its voxel spacing in mm")
    with pytest.raises(AnalysisError, match="no slice spacing"):
        next(iter(workflow.analyze_recording(stack)))  # a task: it runs when iterated
