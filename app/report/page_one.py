"""Page 1 of the PDF report, the page a cardiologist reads and signs.

Header (patient and study, or anonymised), the summary table with reference ranges and flags, the notes that
say what those ranges are, the data caveats that weaken a value, the conclusion, and the reviewer and signature
lines. Page 1 must stay one page: a long file name in the summary's "From" column is elided in its middle.
"""

from __future__ import annotations

from reportlab.lib import colors
from reportlab.platypus import Paragraph, Spacer, Table

from app.data.dicom_dates import display_date
from app.data.recording import view_title
from app.report import styles as st
from app.report.model import RESEARCH_NOTICE, ReportData
from app.report.name_cells import name_cell
from app.report.tables import flag_cell, table
from app.workflow.reference_ranges import range_sex

ADULT_AGE_YEARS = 18  # the chamber quantification and CMR reference ranges used are for adults
PAGE_ONE_NAME_LINES = 3  # a longer file name in page 1's "From" is elided in its middle: page 1 stays one page


def page_one(report: ReportData, width: float) -> list:
    """Page 1's flowables, up to (not including) its page break."""
    return [Paragraph(st.markup(report.title), st.TITLE),
            Paragraph(RESEARCH_NOTICE, st.NOTICE), _status(report), _patient_table(report, width),
            Paragraph("Summary", st.H2), _summary_table(report, width),
            Paragraph("Values marked * depend on a manual correction; flagged values (low, high, reduced) lie "
                      "outside the reference range shown." + _range_notes(report) + _edits_note(report),
                      st.SMALL),
            *_data_caveats(report),
            Paragraph("Conclusion", st.H2),
            Paragraph(st.markup(report.comment).replace("\n", "<br/>") if report.comment.strip()
                      else "(no conclusion written)", st.BODY),
            Spacer(1, 10), _signature_table(report, width)]


def _status(report: ReportData) -> Paragraph:
    """Signed or preliminary, and what it amends: a reader of a PACS with several results series must tell."""
    text = report.status_text
    return Paragraph(st.markup(text[0].upper() + text[1:] + "."), st.BODY if report.signed else st.NOTICE)


def _patient_table(report: ReportData, width: float) -> Table:
    p = report.patient
    name = "Anonymised" if report.anonymised else (p.name or "(not given)")
    rows = [["Patient", name, "Patient ID", "" if report.anonymised else p.patient_id or "-"],
            ["Birth date", "" if report.anonymised else _date(p.birth_date), "Sex", p.sex or "-"],
            ["Study date", _date(p.study_date), "Institution", "" if report.anonymised else p.institution or "-"],
            ["Report created", report.created, "Equipment", p.manufacturer or "-"],
            ["Height / weight", _body_size(p), "Age", "-" if report.age_years is None else f"{report.age_years} years"]]
    w = width / 4
    return table(rows, [0.6 * w, 1.4 * w, 0.6 * w, 1.4 * w], header=False,
                 extra=[("FONT", (0, 0), (0, -1), st.BOLD_FONT, 7.5), ("FONT", (2, 0), (2, -1), st.BOLD_FONT, 7.5),
                        ("BACKGROUND", (0, 0), (0, -1), st.HEADER_BG), ("BACKGROUND", (2, 0), (2, -1), st.HEADER_BG)])


def _body_size(p) -> str:
    """The height and weight the indexed values' BSA comes from (the file's, or typed in), for the signer to check."""
    height = "-" if p.height_cm is None else f"{p.height_cm:g} cm"
    weight = "-" if p.weight_kg is None else f"{p.weight_kg:g} kg"
    return f"{height} / {weight}"


def _date(yyyymmdd: str) -> str:
    return display_date(yyyymmdd) or "-"


def _summary_table(report: ReportData, width: float) -> Table:
    rows = [["Measurement", "Value", "Unit", "Normal range", "Flag", "From"]]
    extra: list[tuple[object, ...]] = []
    f = width / 100
    widths = [35 * f, 12 * f, 7 * f, 18 * f, 12 * f, 16 * f]  # flag: "REDUCED" on one line
    for source, row in report.summary_rows:
        value = row.text + (" *" if row.edited else "")
        rows.append([row.label, value, row.unit, row.reference or "-", row.flag.upper(),
                     name_cell(source, widths[5], max_lines=PAGE_ONE_NAME_LINES)])
        if row.flag:
            r = len(rows) - 1
            rows[r][1] = Paragraph(f"<b>{st.markup(value)}</b>", st.CELL)
            rows[r][4] = flag_cell(row)
    if len(rows) == 1:
        rows.append(["no measurement", "-", "", "", "", ""])
    return table(rows, widths, extra)


def _range_notes(report: ReportData) -> str:
    """What page 1's ranges are, where the reader would otherwise take them for the patient's own."""
    return _sex_note(report) + _age_note(report) + _single_view_note(report)


def _sex_note(report: ReportData) -> str:
    """Where the file gives no sex, each range spans both sexes' (app.workflow.reference_ranges): say so, as a
    value normal for one sex only is then not flagged."""
    if range_sex(report.patient.sex):
        return ""
    return (" The patient's sex is not given, so each sex-specific range shown spans both sexes' and a value is "
            "flagged only outside both.")


def _age_note(report: ReportData) -> str:
    """The ranges are adults' (ASE/EACVI 2015, the adult CMR references): say so for a child's study."""
    age = report.age_years
    if age is None or age >= ADULT_AGE_YEARS:
        return ""
    return (f" The patient was {age} year{'s' if age != 1 else ''} old at the study: the ranges shown are adults', "
            "not a child's.")


def _single_view_note(report: ReportData) -> str:
    """The guideline's LV volume, EF and LA volume index ranges are biplane ones: say so when page 1 judges one
    view's values against them (the method is otherwise only on page 2)."""
    flagged = [(source, row) for source, row in report.summary_rows if row.reference]
    lv = sorted({source for source, row in flagged if row.method.startswith("disks, monoplane")})
    la = any(row.key.startswith("la_volume") and "single-plane" in row.method for _, row in flagged)
    out = ""
    if lv:
        out += (f" LV volumes and EF from {' and '.join(lv)} are one view's (monoplane method of discs); the "
                "ranges shown for them are the guideline's biplane ones.")
    if la:
        out += " The LA volume is one view's (single-plane area-length); its index limit is the biplane one."
    return out


def _edits_note(report: ReportData) -> str:
    """Page 1's word on the corrections: which views were edited by hand and whose GLS was re-tracked."""
    edited = [view_title(rec.view) or rec.name for rec in report.recordings if rec.hand_edited_frames]
    retracked = [view_title(rec.view) or rec.name for rec in report.recordings if rec.strain_retracked]
    text = f" Contours corrected by hand in {', '.join(edited)} (frames under Details)." if edited else ""
    return text + (f" GLS of {', '.join(retracked)} re-tracked on the edited contours." if retracked else "")


def _data_caveats(report: ReportData) -> list:
    """On page 1, beside the values they weaken: how the study's values were composed (StudyResult.notes), the
    study's recordings left out of the analysis (a colour Doppler clip), what a recording's file lacked (a video
    cut short, a stack that lost images, a calibration not used),
    a view the view classifier confidently disputes, and reported values resting on a borderline contour call
    (the RV's basal slice at end-systole) or on beats whose EFs are far apart. The other notes stay with the
    quality details."""
    out = []
    if report.study_notes:  # which clip of a view the study's values use, views recorded at other heart rates
        out.append(Paragraph("Study: " + "<br/>".join(st.markup(n) for n in report.study_notes), st.NOTICE))
    if report.not_measured:
        lines = [f"{st.markup(item.name)}: {st.markup(item.reason)}" for item in report.not_measured]
        out.append(Paragraph("Not measured (these values do not rest on them): " + "<br/>".join(lines), st.NOTICE))
    for title, field in (("Check the data: ", "reader_notes"), ("", "view_warnings"),
                         ("Check the contours: ", "contour_caveats")):
        lines = [f"{st.markup(rec.name)}: {st.markup(note)}" for rec in report.recordings
                 for note in getattr(rec, field)]
        out += [Paragraph(title + "<br/>".join(lines), st.NOTICE)] if lines else []
    return out


def _signature_table(report: ReportData, width: float) -> Table:
    reviewer = report.reviewer.strip() or ""
    rows = [["Reviewed by", reviewer, "Signature", ""], ["Date", "", "", ""]]
    w = width / 4
    return table(rows, [0.6 * w, 1.6 * w, 0.6 * w, 1.2 * w], header=False,
                 extra=[("FONT", (0, 0), (0, -1), st.BOLD_FONT, 7.5), ("FONT", (2, 0), (2, -1), st.BOLD_FONT, 7.5),
                        ("ROWBACKGROUNDS", (0, 0), (-1, -1), [colors.white]),
                        ("TOPPADDING", (0, 0), (-1, -1), 12), ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
                        ("LINEBELOW", (1, 0), (1, 1), 0.6, colors.black),
                        ("LINEBELOW", (3, 0), (3, 0), 0.6, colors.black)])
