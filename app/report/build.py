"""Turn analyses (app.workflow.results.RecordingAnalysis) into a `ReportData` for the PDF and exports.

`report_from_analyses(analyses, study=None, comment="", anonymise=False)` reads only what the analyses
hold: strain sections appear when `analysis.strain` is set (any object with the StrainResult fields, see
`app.report.strain_view`), the bullseye when A2C, A3C and A4C all have strain, model versions from
models/*/metadata.json. Nothing is recomputed here except display choices (which frames to draw).
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path

import numpy as np

from app import __version__
from app.data.recording import APICAL_VIEWS, may_have_gls
from app.report.bullseye import bullseye_values
from app.report.model import (
    FrameFigure,
    MeasurementRow,
    NotMeasured,
    RecordingSection,
    ReportData,
    beat_rows,
    study_sources,
)
from app.report.models_info import installed_models
from app.report.strain_view import strain_section
from app.workflow.indexed import INDEXED, indexed_values
from app.workflow.measure_notes import (
    APEX_CUT_NOTE,
    BEAT_SPREAD_NOTE,
    LITTLE_EJECTION_NOTE,
    NO_SYSTOLE_NOTE,
    SV_MISMATCH_NOTE,
    VIEW_UNSET_NOTE,
)
from app.workflow.reference_ranges import reference_range
from app.workflow.results import HR_FROM_BEATS, HR_FROM_FILE, HR_FROM_GATED_CYCLE
from app.workflow.rv_measure import BORDERLINE_NOTE

# The myocardial mass is measured at each counted beat's ED (app.workflow.measure._measure_stack); a stack of one
# phase has no ED/ES (its timing in the cycle is unknown: an ACDC frameES file reads as well as a frameED one), so
# its mass is that phase's, and the method says so rather than "at ED".
MASS_METHOD_AT_ED = "1.05 g/ml x myo volume at ED (papillary muscles as cavity)"
MASS_METHOD_ONE_PHASE = "1.05 g/ml x myo volume of the one phase (ED not known; papillary muscles as cavity)"


def mass_method(m) -> str:
    """The method text of a Measurements' myocardial mass: at ED, or of the one phase of a one-phase stack."""
    one_phase = m.method == "slice-summation" and m.n_frames == 1
    return MASS_METHOD_ONE_PHASE if one_phase else MASS_METHOD_AT_ED


_HR_SOURCE_TEXT = {HR_FROM_BEATS: "beat length", HR_FROM_FILE: "from the file (scanner)",
                   HR_FROM_GATED_CYCLE: "gated cycle length"}
_METHOD_TEXT = {"monoplane": "disks, monoplane", "biplane": "disks, biplane",
                # the MRI contours count papillary muscles and trabeculae as blood pool (ACDC's experts do; the CMR
                # reference ranges count them as myocardium): the method says so beside each value it moves
                "slice-summation": "slice summation (papillary muscles as cavity)",
                "single-slice": "one short-axis slice: areas only"}


def report_from_analyses(analyses, *, study=None, comment: str = "", anonymise: bool = False,
                         created: str | None = None, models_root: Path | None = None,
                         reviewer: str = "", la=None, not_measured: tuple[NotMeasured, ...] = ()) -> ReportData:
    """analyses: sequence of RecordingAnalysis; study: optional StudyMeasurements (biplane); la: optional
    app.workflow.la_volume.LaVolume (the study's LA volume, indexed when the BSA is known), else composed from
    the analyses by the study's one rule (app.workflow.study_result.compose_study); not_measured: the study's
    recordings the analysis refused (app.workflow.analyze.refusal), named on page 1."""
    from app.workflow.study_result import compose_study

    analyses = list(analyses)
    if not analyses:
        raise ValueError("a report needs at least one analyzed recording")
    composed = compose_study(analyses)  # the study's one rule: its LA and GLS, unless given
    la = la if la is not None else composed.la
    patient = analyses[0].recording.patient
    sex = patient.sex  # kept when anonymised (PatientInfo.anonymised): the flags are the signed report's
    sections = tuple(recording_section(a, sex=sex) for a in analyses)
    values, unreliable = _bullseye(sections, [getattr(a, "strain", None) for a in analyses])
    return ReportData(
        patient=patient.anonymised() if anonymise else patient,
        anonymised=anonymise,
        recordings=sections,
        study_rows=_study_rows(study, composed.gls, sex, patient) + _la_rows(la, patient, sex),
        bullseye_pct=values,
        bullseye_unreliable=unreliable,
        comment=comment or "",
        reviewer=reviewer or "",
        software_version=__version__,
        models=installed_models(models_root),
        # to the second: two sends of one minute, and what each amends, are told apart (ReportData.made)
        created=created or _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S %Z").strip(),
        not_measured=tuple(not_measured),
        age_years=patient.age_years(),
        study_notes=composed.notes,
        study_sources=study_sources(composed, la),
    )


# the measuring notes page 1 says with what the file lacked (a stack that stops short of the apex among them)
_PAGE_ONE_NOTES = (NO_SYSTOLE_NOTE, VIEW_UNSET_NOTE, APEX_CUT_NOTE)
# page 1 says them beside the values (LV and RV stroke volumes that disagree among them)
_CONTOUR_CAVEATS = (BORDERLINE_NOTE, BEAT_SPREAD_NOTE, LITTLE_EJECTION_NOTE, SV_MISMATCH_NOTE)


def recording_section(analysis, sex: str = "") -> RecordingSection:
    rec, m = analysis.recording, analysis.measurements
    strain = strain_section(getattr(analysis, "strain", None), m.ed_frames)
    requested = bool(getattr(analysis, "strain_requested", True))
    name = rec.source_path.name if rec.source_path else (rec.series_description or rec.view.upper())
    return RecordingSection(
        name=name, modality=rec.modality, view=rec.view, n_frames=rec.n_frames, n_slices=rec.n_slices,
        frame_rate_hz=rec.known_frame_rate_hz,  # nominal timing: "unknown"
        spacing_mm=(float(rec.spacing_mm[0]), float(rec.spacing_mm[1])),
        calibrated=rec.calibrated, slice_spacing_mm=rec.slice_spacing_mm,
        frame_times_s=np.asarray(rec.frame_times_s, dtype=float),
        measurements=tuple(measurement_rows(m, rec.modality, strain, sex, indexed_values(m, rec.patient),
                                            strain_requested=requested)),
        beats=tuple(beat_rows(m)), ed_frames=tuple(m.ed_frames), es_frames=tuple(m.es_frames),
        volume_curve_ml=None if m.volume_curve_ml is None else np.asarray(m.volume_curve_ml, float),
        **_area_curve(m),
        figures=tuple(_figures(analysis)), strain=strain, strain_requested=requested,
        quality_flags=tuple(quality_lines(analysis)),
        reader_notes=tuple(rec.reader_notes) + tuple(n for n in m.notes if n.startswith(_PAGE_ONE_NOTES)),
        contour_caveats=tuple(n for n in m.notes if n.startswith(_CONTOUR_CAVEATS))
        + _poor_tracking_caveat(getattr(analysis, "strain", None)),
        view_warnings=tuple(w for w in [_view_warning(analysis)] if w),
        edited=frozenset(m.edited), source_path=str(rec.source_path or ""),
        segmenter=str(getattr(analysis, "segmenter", "") or ""),
    )


def _poor_tracking_caveat(strain) -> tuple[str, ...]:
    """Page 1's word on a GLS that is reported although the tracking was poor in some of its segments (the
    guideline allows two a view: app.analysis.strain.implausible_reason)."""
    if strain is None or strain.gls_pct is None:
        return ()
    poor = [name.replace("_", " ") for name, ok in zip(strain.segment_names, strain.segment_ok, strict=False)
            if not ok]
    if not poor:
        return ()
    return (f"the GLS rests on strain tracking judged poor in {len(poor)} of {len(strain.segment_names)} segments "
            f"({', '.join(poor)}): check the tracking in the cine",)


def _view_warning(analysis) -> str:
    check = getattr(analysis, "view_check", None)
    return (check.warning or "") if check is not None else ""


def _area_curve(m) -> dict:
    """The cavity area curve for a recording without volumes: cm^2 when calibrated, else px^2 (None with
    volumes: the report plots the volume curve)."""
    curve, unit = m.lv_curve()
    if unit == "ml":
        return {"area_curve": None}
    return {"area_curve": curve, "area_unit": "cm^2" if unit == "cm²" else "px^2, uncalibrated"}


def _row(key, label, value, unit, decimals=1, method="", sex="", modality="echo", edited=()) -> MeasurementRow:
    value = None if value is None or not np.isfinite(float(value)) else float(value)
    rng = reference_range(key, sex, modality)
    return MeasurementRow(key, label, value, unit, decimals, method, rng.label() if rng else "",
                          rng.flag(value, decimals) if rng else "", key in edited,  # judged as printed
                          rng.grade(value, decimals) if rng else "")


def measurement_rows(m, modality: str, strain, sex: str = "", indexed=None,
                     strain_requested: bool = True) -> list[MeasurementRow]:
    """The table rows of one Measurements (+ strain): volumes, EF, HR, GLS, segments, mass; on cine MRI the
    RV volumes and EF; values indexed to body surface area when `indexed` (app.workflow.indexed) has a BSA.
    No GLS row without a strain the user did not ask for (analyze --no-strain): "not computed" would read as
    a failure; the figure page says "not requested" instead."""
    method = _METHOD_TEXT.get(m.method, m.method)
    if not m.calibrated:
        method += " (uncalibrated)"
    kw = dict(sex=sex, modality=modality, edited=m.edited)
    rows = [_row("edv_ml", "End-diastolic volume (EDV)", m.edv_ml, "ml", 1, method, **kw),
            _row("esv_ml", "End-systolic volume (ESV)", m.esv_ml, "ml", 1, method, **kw),
            _row("sv_ml", "Stroke volume (SV)", m.sv_ml, "ml", 1, method, **kw),
            _row("ef_pct", "Ejection fraction (EF)", m.ef_pct, "%", 1, method, **kw)]
    if m.method == "single-slice":
        rows.append(_row("fac_pct", "Fractional area change (FAC)", m.fac_pct, "%", 1, "(EDA - ESA) / EDA", **kw))
    if m.edv_area_length_ml is not None:
        rows += [_row("edv_area_length_ml", "EDV (area-length)", m.edv_area_length_ml, "ml", 1, "area-length", **kw),
                 _row("esv_area_length_ml", "ESV (area-length)", m.esv_area_length_ml, "ml", 1, "area-length", **kw)]
    rows.append(_hr_row(m, **kw))
    if modality == "mri":
        rows.append(_row("lv_mass_g", "LV myocardial mass", m.lv_mass_g, "g", 1, mass_method(m), **kw))
        rv_method = method + ", at the LV's ED/ES"
        rows += [_row("rv_edv_ml", "RV end-diastolic volume (RV EDV)", m.rv_edv_ml, "ml", 1, rv_method, **kw),
                 _row("rv_esv_ml", "RV end-systolic volume (RV ESV)", m.rv_esv_ml, "ml", 1, rv_method, **kw),
                 _row("rv_sv_ml", "RV stroke volume (RV SV)", m.rv_sv_ml, "ml", 1, rv_method, **kw),
                 _row("rv_ef_pct", "RV ejection fraction (RV EF)", m.rv_ef_pct, "%", 1, rv_method, **kw)]
    rows += _indexed_rows(indexed, modality, kw)
    if strain is not None or (strain_requested and modality == "echo" and may_have_gls(m.view)):  # not PLAX/PSAX
        gls = strain.gls_pct if strain is not None else None
        # one view's GLS says whose: the guideline's GLS is the mean of the apical views (the study's row)
        label = f"GLS, {m.view.upper()} view" if m.view in APICAL_VIEWS else "Global longitudinal strain (GLS)"
        rows.append(_row("gls_pct", label, gls, "%", 1,
                         "speckle tracking" if strain is not None else "", **kw))
    if strain is not None:
        segment_kw = {**kw, "edited": {f"strain_{name}_pct" for name in strain.segment_names}
                      if "gls_pct" in m.edited else set()}  # tracked on the same (edited) contours as the GLS
        for name, peak, ok in zip(strain.segment_names, strain.segment_peak_pct,
                                  strain.segment_ok or (True,) * len(strain.segment_names), strict=True):
            label = "Peak systolic strain, " + name.replace("_", " ") + ("" if ok else " (low quality)")
            rows.append(_row(f"strain_{name}_pct", label, peak, "%", 1, "peak systolic", **segment_kw))
    return rows


_INDEXED_LABELS = {"edv_index_ml_m2": "EDV index", "esv_index_ml_m2": "ESV index", "sv_index_ml_m2": "SV index",
                   "lv_mass_index_g_m2": "LV mass index", "rv_edv_index_ml_m2": "RV EDV index",
                   "rv_esv_index_ml_m2": "RV ESV index", "rv_sv_index_ml_m2": "RV SV index"}


def _indexed_rows(indexed, modality: str, kw: dict) -> list[MeasurementRow]:
    """BSA and the indexed values that exist (none without height and weight)."""
    if indexed is None or indexed.bsa_m2 is None:
        return []
    rows = [_row("bsa_m2", "Body surface area (BSA)", indexed.bsa_m2, "m²", 2, "Mosteller", **kw)]
    for name, attr, unit in INDEXED:
        value = indexed.get(name)
        if value is not None:  # the indexed value is edited when the value it divides is
            edited = {name} if attr in kw["edited"] else set()
            rows.append(_row(name, _INDEXED_LABELS[name], value, unit, 1, "/ BSA", **{**kw, "edited": edited}))
    return rows


def _figure_frames(m) -> tuple[tuple[str, int], ...]:
    """("ED", frame), ("ES", frame) the figures show: the first counted beat's, the pair an EF of the report is
    measured on (a clip's first ES can belong to a beat cut by its start); else the first ED and ES marked."""
    beat = next((b for b in m.beats if b.trusted), None)
    if beat is not None:
        return ("ED", int(beat.ed_frame)), ("ES", int(beat.es_frame))
    return tuple((label, int(frames[0])) for label, frames in (("ED", m.ed_frames), ("ES", m.es_frames)) if frames)


def _figures(analysis) -> list[FrameFigure]:
    """The ED and ES frames of _figure_frames (mid slice of a stack) with their contours."""
    rec, m = analysis.recording, analysis.measurements
    slice_index = rec.n_slices // 2 if rec.is_stack else 0
    contours = analysis.contours
    if isinstance(contours, tuple):
        contours = contours[slice_index] if slice_index < len(contours) else None
    images = rec.frames_unit(slice_index)
    out = []
    for label, t in _figure_frames(m):
        c = contours[t] if contours is not None and t < len(contours) else None
        shapes, closed = {}, {}
        if c is not None:
            for key, pts in (("endo", c.endo_px), ("epi", c.epi_px), ("la", c.la_px)):
                if pts is not None:
                    shapes[key] = np.asarray(pts, float)
                    closed[key] = key == "la" or c.closed
        rv = getattr(contours, "rv", ()) if contours is not None else ()
        if t < len(rv) and rv[t] is not None:  # short-axis MRI: the RV border (label 3)
            shapes["rv"], closed["rv"] = np.asarray(rv[t], float), True
        where = f"frame {t}" + (f", slice {slice_index + 1}/{rec.n_slices}" if rec.is_stack else "")
        out.append(FrameFigure(f"{label} ({where})", t, images[t], shapes, closed))
    return out


def quality_lines(analysis) -> list[str]:
    """Readable quality flags: each per-frame flag with its frames, plus recording-level notes."""
    m = analysis.measurements
    lines = []
    by_flag: dict[str, list[int]] = {}
    for t, flags in enumerate(m.quality):
        for flag in flags:
            by_flag.setdefault(flag, []).append(t)
    for flag, frames in sorted(by_flag.items()):
        lines.append(f"{flag}: {_frame_list(frames)}")
    if not m.ed_frames or not m.es_frames:
        lines.append("ED/ES frames not found")
    lines += list(getattr(m, "notes", ()))
    fallback = getattr(analysis, "ed_es_fallback", "")
    if fallback:
        lines.append(f"ED/ES from the LV curve's extrema: {fallback}")
    if warning := _view_warning(analysis):
        lines.append(warning)
    strain = getattr(analysis, "strain", None)
    low = getattr(strain, "low_quality_segments", ()) if strain is not None else ()
    withheld = getattr(strain, "withheld", "")
    if withheld:
        lines.append(withheld)
    if low:
        lines.append("strain tracking quality low: " + ", ".join(n.replace("_", " ") for n in low))
    if strain is None and (line := no_strain_line(analysis)):  # a strain tracked since (a view set by hand) wins
        lines.append(line)
    return lines


def no_strain_line(analysis) -> str:
    """'strain not computed: <why>' for an analysis with a reason, else ""."""
    return f"strain not computed: {analysis.strain_error}" if analysis.strain_error else ""


def _frame_list(frames: list[int], limit: int = 12) -> str:
    head = ", ".join(str(f) for f in frames[:limit])
    more = f" and {len(frames) - limit} more" if len(frames) > limit else ""
    return f"{len(frames)} frame{'s' if len(frames) != 1 else ''} ({head}{more})"


def _hr_row(m, **kw) -> MeasurementRow:
    """The heart rate of a Measurements, its label saying when it is the file's (page 1 prints no method)."""
    label = "Heart rate (the file's)" if m.heart_rate_source == HR_FROM_FILE else "Heart rate"
    return _row("heart_rate_bpm", label, m.heart_rate_bpm, "bpm", 0, _HR_SOURCE_TEXT.get(m.heart_rate_source, ""),
                **kw)


def _study_rows(study, gls, sex: str, patient=None) -> tuple[MeasurementRow, ...]:
    """The study's values: biplane volumes and EF (indexed to BSA when the patient's height and weight are
    known, so page 1 shows the biplane indexed values rather than one view's), and the mean apical GLS (gls:
    app.workflow.study_result.StudyGls, one clip per view)."""
    rows: list[MeasurementRow] = []
    biplane = getattr(study, "biplane", None) if study is not None else None
    if biplane is not None:
        kw = dict(sex=sex, edited=biplane.edited)
        rows += [_row("edv_ml", "EDV (biplane)", biplane.edv_ml, "ml", 1, "disks, biplane", **kw),
                 _row("esv_ml", "ESV (biplane)", biplane.esv_ml, "ml", 1, "disks, biplane", **kw),
                 _row("sv_ml", "SV (biplane)", biplane.sv_ml, "ml", 1, "disks, biplane", **kw),
                 _row("ef_pct", "EF (biplane)", biplane.ef_pct, "%", 1, "disks, biplane", **kw)]
        if biplane.heart_rate_bpm is not None:  # the study's, as the viewer shows it beside the biplane values
            rows.append(_hr_row(biplane, **kw))
        if patient is not None:
            rows += _indexed_rows(indexed_values(biplane, patient), "echo", kw)
    if len(gls.by_view) > 1:
        rows.append(_row("gls_pct", f"GLS (mean of {len(gls.by_view)} apical views)", gls.mean_pct, "%", 1,
                         "speckle tracking", sex=sex, edited={"gls_pct"} if gls.edited else set()))
    return tuple(rows)


def _la_rows(la, patient, sex: str) -> tuple[MeasurementRow, ...]:
    """LA volume (biplane or single-plane area-length) and, with a BSA, its index with the normal range."""
    if la is None:
        return ()
    from dataclasses import replace

    from app.workflow.indexed import body_surface_area_m2

    edited = ("la_volume_ml", "la_volume_index_ml_m2") if la.edited else ()
    volume = _row("la_volume_ml", f"LA volume ({la.method})", la.volume_ml, "ml", 0, f"{la.method}, at LV ES",
                  sex=sex, edited=edited)
    bsa = body_surface_area_m2(patient)
    index_ref = reference_range("la_volume_index_ml_m2", sex)
    assert index_ref is not None  # a range every sex has
    index_range = index_ref.label()  # the range is for the indexed value
    if bsa is None:
        return (replace(volume, reference=f"index {index_range} (height and weight needed)"),)
    index = _row("la_volume_index_ml_m2", "LA volume index", la.volume_ml / bsa, "ml/m²", 0, f"{la.method} / BSA",
                 sex=sex, edited=edited)
    return replace(volume, reference="see index"), index


def _bullseye(sections, raw_strains) -> tuple[dict | None, frozenset]:
    """AHA values when A2C, A3C and A4C all have strain: the strain module's own mapping when the
    results are its StrainResults, else the report's name-based mapping (app.report.bullseye)."""
    apical = {s.view: (s.strain, raw) for s, raw in zip(sections, raw_strains, strict=False)
              if s.strain is not None and s.view in ("a2c", "a3c", "a4c")}
    if len(apical) < 3:
        return None, frozenset()
    try:
        from app.analysis.strain import StrainResult, combine_views

        raws = [raw for _s, raw in apical.values()]
        if all(isinstance(r, StrainResult) for r in raws):
            study = combine_views(raws)
            return {n: study.aha_peak_pct.get(n) for n in range(1, 18)}, frozenset(study.unreliable)
    except ImportError:
        pass
    views = [(st.segment_names, st.segment_peak_pct, st.segment_ok) for st, _raw in apical.values()]
    return bullseye_values(views)
