"""The SR's volumes and EF reference the frames they are measured on: the counted beats' ED and ES frames."""

from __future__ import annotations

from dataclasses import replace

import highdicom as hd
from pydicom.dataset import Dataset
from pydicom.uid import UltrasoundMultiFrameImageStorage, generate_uid
from report_fixtures import synthetic_analysis

from app.report.build import report_from_analyses
from app.report.dicom_sources import SourceImages
from app.report.dicom_sr import _measurements


def _referenced_frames(measurements, code: str) -> list[int]:
    (item,) = [m for m in measurements if m.name.value == code]
    return sorted(int(f) for ref in item.referenced_images for f in ref.referenced_frame_numbers)


def test_edv_and_esv_reference_the_counted_beats_frames_only():
    analysis = synthetic_analysis(n_frames=30)
    m = analysis.measurements
    (beat,) = m.beats
    extra_ed, extra_es = m.ed_frames[-1], 27  # a last beat, not counted (say, its systole a sliver)
    uncounted = replace(beat, ed_frame=extra_ed, es_frame=extra_es, next_ed_frame=None, trusted=False,
                        why_untrusted="cut by the clip's end (no RR interval)")
    measured = replace(m, es_frames=tuple(m.es_frames) + (extra_es,), beats=(beat, uncounted))
    section = report_from_analyses([replace(analysis, measurements=measured)]).recordings[0]
    ds = Dataset()
    ds.SOPClassUID, ds.SOPInstanceUID = UltrasoundMultiFrameImageStorage, generate_uid()
    sources = SourceImages((ds,), (tuple((0, t + 1) for t in range(analysis.recording.n_frames)),))
    algorithm = hd.sr.AlgorithmIdentification(name="CardioTrace", version="test")
    items = _measurements(section, sources, algorithm)
    # frame numbers are 1-based; EDV by US 18026-5, ESV by US 18148-7
    assert _referenced_frames(items, "18026-5") == [beat.ed_frame + 1]
    assert _referenced_frames(items, "18148-7") == [beat.es_frame + 1]
    everything = replace(measured, beats=(replace(beat, trusted=False, why_untrusted="RR"), uncounted))
    section = report_from_analyses([replace(analysis, measurements=everything)]).recordings[0]
    items = _measurements(section, sources, algorithm)
    assert _referenced_frames(items, "18148-7") == sorted(f + 1 for f in measured.es_frames)


def test_a_slices_area_change_and_the_la_volume_leave_coded_with_their_site_and_method():
    """The SR carried neither: a short-axis slice's FAC (its one value) and the study's LA volume were printed
    and signed but had no concept, so a PACS never got them."""
    import numpy as np
    from pydicom.sr.codedict import codes

    from app.data.recording import Recording, uniform_frame_times
    from app.report.model import MeasurementRow
    from app.tasks import run_task
    from app.workflow.analyze import analyze_recording
    from tests.test_pipeline_synthetic import _ring_stack

    labels, _ = _ring_stack(1, 20)
    rec = Recording((labels[0] * 80).astype(np.uint16), (1.5, 1.5), uniform_frame_times(20, 25.0), "mri", "sax")
    analysis = run_task(analyze_recording(rec, segmenter=lambda r: labels[0]))
    algorithm = hd.sr.AlgorithmIdentification(name="CardioTrace", version="test")
    section = report_from_analyses([analysis]).recordings[0]
    (fac,) = [m for m in _measurements(section, None, algorithm) if m.name.value == "399287000"]
    assert float(fac.value) == next(r.value for r in section.measurements if r.key == "fac_pct")
    for method, code in (("single-plane area-length (A4C)", "125205"), ("biplane area-length", "125204")):
        row = MeasurementRow("la_volume_ml", f"LA volume ({method})", 52.0, "ml", 0, f"{method}, at LV ES")
        study = type("Study", (), {"measurements": [row], "modality": "echo", "view": "study", "ed_frames": (),
                                   "es_frames": (), "beats": ()})
        (la,) = _measurements(study, None, algorithm)
        assert la.name.value == "399235004" and float(la.value) == 52.0 and la.method.value == code
        assert la.finding_sites[0].value.value == codes.SCT.LeftAtrium.value


def test_each_groups_algorithm_parameters_are_its_own_recordings_edits_in_words():
    """Every group had carried the union of all recordings' edits, as internal names (a calibration of the A4C
    written on the A2C's group, 'rv_ef_pct' and 'fac_pct' on an echo study)."""
    from app.report.dicom_sr import _algorithm

    a4c, a2c = (synthetic_analysis(view=view, seed=i) for i, view in enumerate(("a4c", "a2c")))
    report = report_from_analyses([a4c, a2c])
    calibrated = replace(report.recordings[0], edited=frozenset({"calibration", "edv_ml", "esv_ml", "sv_ml",
                                                                 "rv_edv_ml", "fac_pct"}))
    cycles = replace(report.recordings[1], edited=frozenset({"cycles", "edv_ml", "heart_rate_bpm"}))

    def parameters(algorithm) -> list[str]:
        return [item.TextValue for item in algorithm if item.ConceptNameCodeSequence[0].CodeMeaning
                == "Algorithm Parameters"]

    own = parameters(_algorithm([calibrated]))
    assert own[1:] == ["pixel size calibrated by hand", "values affected: EDV, ESV, SV"]
    assert parameters(_algorithm([cycles]))[1:] == [
        "an ES mark added or removed by hand: the beats measured changed", "values affected: EDV, heart rate"]
    study = parameters(_algorithm([calibrated, cycles], named=True))
    assert "A4C: pixel size calibrated by hand" in study and "A2C: values affected: EDV, heart rate" in study
    assert all(len(p) <= 64 and "_" not in p.split(":", 1)[-1] for p in study)


def test_a_views_gls_and_segment_peaks_reference_every_marked_ed_and_es():
    """A view's GLS and its segments' peaks left with no image reference; the peaks are sought in every beat's
    systole against its ED, so they reference every ED and ES marked (1-based frame numbers)."""
    from app.report.model import MeasurementRow

    analysis = synthetic_analysis(n_frames=30)
    section = report_from_analyses([analysis]).recordings[0]
    rows = (MeasurementRow("gls_pct", "GLS, A4C view", -18.0, "%"),
            MeasurementRow("strain_basal_inferoseptal_pct", "Peak systolic strain, basal inferoseptal", -17.0, "%"))
    section = replace(section, view="a4c", measurements=tuple(section.measurements) + rows)
    ds = Dataset()
    ds.SOPClassUID, ds.SOPInstanceUID = UltrasoundMultiFrameImageStorage, generate_uid()
    sources = SourceImages((ds,), (tuple((0, t + 1) for t in range(analysis.recording.n_frames)),))
    items = _measurements(section, sources, hd.sr.AlgorithmIdentification(name="CardioTrace", version="test"))
    marked = sorted({t + 1 for t in (*section.ed_frames, *section.es_frames)})
    assert len(marked) >= 2
    assert _referenced_frames(items, "130691") == marked  # LV Peak Systolic GLS 4CH
    assert _referenced_frames(items, "127411") == marked  # Strain, at the basal inferoseptal segment
