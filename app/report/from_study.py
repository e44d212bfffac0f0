"""The viewer's entry point: the report and exports of a StudyState, with every manual edit applied.

`analyses_from_study(study)` rebuilds each analyzed recording's RecordingAnalysis from the viewer state:
the recording as currently set (view, calibration), the edited contours (control-point splines back to
LvContours), the measurements recomputed after the edits (with their `edited` names) and the biplane
combination. `write_study_report(study, path, comment=..., anonymise=..., page_size=...)` writes the PDF.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from app.report.build import report_from_analyses
from app.report.exporter import EXPORT_KINDS, check_kinds, in_folder, write_exports
from app.report.model import NotMeasured, ReportData


def analyses_from_study(study) -> tuple[list, object | None]:
    """(RecordingAnalysis list, StudyMeasurements or None) of the analyzed recordings of a StudyState."""
    from app.workflow.contour_adapter import lv_contours_per_frame, rv_contours_per_frame
    from app.workflow.results import FrameContours, StudyMeasurements
    from app.workflow.strain_step import strain_error_now

    out = []
    for st in study.recordings:
        if st.analysis is None or st.measurements is None:
            continue
        per_frame = lv_contours_per_frame(st)
        contours: FrameContours | tuple[FrameContours, ...]
        if st.recording.is_stack:  # with the (edited) RV borders of short-axis MRI
            rv = rv_contours_per_frame(st)
            contours = tuple(FrameContours.of(s, r if any(x is not None for x in r) else ())
                             for s, r in zip(per_frame, rv, strict=False))
        else:
            contours = FrameContours.of(per_frame)
        out.append(replace(st.analysis, recording=st.recording, contours=contours, measurements=st.measurements,
                           strain=st.strain,  # the strain as shown: re-tracked on the edited contours
                           strain_error=strain_error_now(st.analysis, st.recording)))
    if not out:
        return [], None
    return out, StudyMeasurements(tuple(a.measurements for a in out), study.biplane)


def study_report(study, *, comment: str | None = None, anonymise: bool = False) -> ReportData:
    """The report of a StudyState; the conclusion and reviewer are the study's (comment overrides it). It adds
    what only the viewer knows: the LA volume, the frames corrected by hand or by propagation, whether the
    strain was re-tracked on the edited contours, and the recordings the analysis refused (a colour Doppler clip)."""
    analyses, measurements = analyses_from_study(study)
    if not analyses:
        raise ValueError("no analyzed recording in the study: run the analysis first")
    conclusion = getattr(study, "conclusion", "") if comment is None else comment
    report = report_from_analyses(analyses, study=measurements, comment=conclusion, anonymise=anonymise,
                                  reviewer=getattr(study, "reviewer", ""), la=study.la,
                                  not_measured=not_measured(study))
    states = [st for st in study.recordings if st.analysis is not None and st.measurements is not None]
    return replace(
        report, recordings=tuple(_with_edits(s, st) for s, st in zip(report.recordings, states, strict=False))
    )


def not_measured(study) -> tuple[NotMeasured, ...]:
    """The recordings of a StudyState the analysis cannot take, with why (app.workflow.analyze.refusal)."""
    from app.workflow.analyze import refusal

    return tuple(NotMeasured(st.name, why) for st in study.recordings
                 if st.analysis is None and (why := refusal(st.recording)))


def _with_edits(section, st):
    """The section with its hand-edited and propagated frames (slice 0, or the stack's frames) and the strain
    re-tracking: a strain that is not the analysis' own, taken after edits, was tracked on the edited contours."""
    propagated = sorted({f for _, f in st.propagated_keys})
    hand = sorted({f for _, f in st.edited_keys} - set(propagated))
    return replace(section, hand_edited_frames=tuple(hand), propagated_frames=tuple(propagated),
                   strain_retracked=st.strain_retracked)


def write_study_report(study, path, *, comment: str | None = None, anonymise: bool = False,
                       page_size: str = "A4") -> Path:
    from app.report.pdf import write_pdf

    return write_pdf(study_report(study, comment=comment, anonymise=anonymise), path, page_size)


def study_results(study, *, page_size: str = "A4"):
    """The DICOM results (SR, SEG, PDF) of the report the user signs: study_report(study), with the conclusion,
    reviewer, hand-edit notes and LA volume of the PDF saved from the viewer, amending the last results sent
    for this study (StudyState.sent). DicomResultError (one line) when they cannot be built."""
    from app.report.dicom_results import build_results
    from app.workflow.sent_results import last_sent

    analyses, _ = analyses_from_study(study)
    if not analyses:
        raise ValueError("no analyzed recording in the study: run the analysis first")
    amends = last_sent(getattr(study, "sent", ()), analyses[0].recording.patient.study_uid)
    return build_results(analyses, report=study_report(study), page_size=page_size, amends=amends)


def default_report_name(study) -> str:
    """The report's file name from the study's patient, study date and modality."""
    from app.report.plain_words import report_file_name

    first = study.recordings[0].recording
    return report_file_name(first.patient, first.modality)


def export_study(study, folder, *, kinds=EXPORT_KINDS, comment: str | None = None, anonymise: bool = False,
                 page_size: str = "A4") -> list[Path]:
    """Write the study's report and exports into `folder` (app.report.exporter); returns the paths written.

    report.pdf, measurements.csv, measurements.json for the study; per recording
    `<name>_<view>.contours.json`, `.masks.nii.gz`, `.cine.mp4`. kinds: a subset of EXPORT_KINDS.
    """
    check_kinds(kinds)
    analyses, _ = analyses_from_study(study)
    if not analyses:
        raise ValueError("no analyzed recording in the study: run the analysis first")
    report = study_report(study, comment=comment, anonymise=anonymise)
    written = write_exports(report, analyses, kinds, in_folder(Path(folder), analyses), page_size)
    return [path for kind in EXPORT_KINDS for path in written.get(kind, [])]
