"""The PDF report (reportlab platypus), A4 or Letter, from a `ReportData`.

`write_pdf(report, path, page_size="A4")` writes atomically (temporary file + os.replace) and returns
the path. Layout: page 1 to sign: header (patient/study or anonymised, date), the summary (study values first:
biplane volumes, mean GLS; then each view's headline values) with reference ranges and flags, the
conclusion, reviewer and signature line. Then the details: recordings used, the measurement table per
recording, beats, quality flags and hand corrections in plain words, per recording the ED/ES frames with
contours and the volume and strain curves, the 17-segment bullseye when three apical views have strain;
an appendix names the software and models in plain words. Every page carries the research-use line and
page number.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, LETTER
from reportlab.lib.units import mm
from reportlab.platypus import KeepTogether, PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from app.data.dicom_dates import display_date
from app.data.recording import view_title
from app.report import styles as st
from app.report.bullseye import bullseye_drawing
from app.report.figures import FrameImage, curve_drawing
from app.report.model import RESEARCH_NOTICE, RecordingSection, ReportData
from app.report.name_cells import name_cell
from app.report.palette import CONTOUR_NAMES, CONTOUR_RGB, hex_colour
from app.report.plain_words import contour_source
from app.workflow.reference_ranges import range_sex

PAGE_SIZES = {"a4": A4, "letter": LETTER}
MARGIN = 15 * mm


def write_pdf(report: ReportData, path: str | os.PathLike, page_size: str = "A4") -> Path:
    """Render the report to `path` (.pdf). page_size: 'A4' or 'Letter'."""
    size = PAGE_SIZES.get(page_size.lower())
    if size is None:
        raise ValueError(f"unknown page size {page_size!r}; use A4 or Letter")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    doc = SimpleDocTemplate(str(tmp), pagesize=size, leftMargin=MARGIN, rightMargin=MARGIN,
                            topMargin=MARGIN, bottomMargin=MARGIN + 4 * mm,
                            title="CardioTrace LV function report", author="CardioTrace",
                            subject=RESEARCH_NOTICE, creator=f"CardioTrace {report.software_version}")
    story = build_story(report, doc.width, doc.height)
    doc.build(story, onFirstPage=_footer(report), onLaterPages=_footer(report))
    os.replace(tmp, path)
    return path


ADULT_AGE_YEARS = 18  # the chamber quantification and CMR reference ranges used are for adults
PAGE_ONE_NAME_LINES = 3  # a longer file name in page 1's "From" is elided in its middle: page 1 stays one page


def build_story(report: ReportData, width: float, height: float) -> list:
    """Page 1 is what a cardiologist reads and signs: patient, summary with normal ranges and flags, the
    conclusion, reviewer and signature. Then the details per recording, figures, and the appendix."""
    story: list = [Paragraph("CardioTrace: left ventricular function report", st.TITLE),
                   Paragraph(RESEARCH_NOTICE, st.NOTICE), _status(report), _patient_table(report, width),
                   Paragraph("Summary", st.H2), _summary_table(report, width),
                   Paragraph("Values marked * depend on a manual correction; flagged values (low, high, reduced) lie "
                             "outside the reference range shown." + _range_notes(report) + _edits_note(report),
                             st.SMALL),
                   *_data_caveats(report),
                   Paragraph("Conclusion", st.H2),
                   Paragraph(st.markup(report.comment).replace("\n", "<br/>") if report.comment.strip()
                             else "(no conclusion written)", st.BODY),
                   Spacer(1, 10), _signature_table(report, width), PageBreak(),
                   Paragraph("Details", st.H2),
                   Paragraph("Recordings used", st.H3), _recordings_table(report, width),
                   Paragraph("Measurements per recording", st.H3), _measurement_table(report, width)]
    story += _beats(report, width)
    story += _quality(report)
    for rec in report.recordings:
        story += _recording_figures(rec, width, height)
    story += _bullseye(report)
    story += [Paragraph("Appendix: software and models", st.H2),
              Paragraph("The contours and ED/ES frames come from these trained models, unless the report says they "
                        "were corrected by hand or given with the file." + _strain_method(report), st.SMALL),
              _software_table(report, width)]
    return story


def _status(report: ReportData) -> Paragraph:
    """Signed or preliminary, and what it amends: a reader of a PACS with several results series must tell."""
    text = report.status_text
    return Paragraph(st.markup(text[0].upper() + text[1:] + "."), st.BODY if report.signed else st.NOTICE)


def _data_caveats(report: ReportData) -> list:
    """On page 1, beside the values they weaken: the study's recordings left out of the analysis (a colour Doppler
    clip), what a recording's file lacked (a video cut short, a stack that lost images, a calibration not used),
    a view the view classifier confidently disputes, and reported values resting on a borderline contour call
    (the RV's basal slice at end-systole) or on beats whose EFs are far apart. The other notes stay with the
    quality details."""
    out = []
    if report.not_measured:
        lines = [f"{st.markup(item.name)}: {st.markup(item.reason)}" for item in report.not_measured]
        out.append(Paragraph("Not measured (these values do not rest on them): " + "<br/>".join(lines), st.NOTICE))
    for title, field in (("Check the data: ", "reader_notes"), ("", "view_warnings"),
                         ("Check the contours: ", "contour_caveats")):
        lines = [f"{st.markup(rec.name)}: {st.markup(note)}" for rec in report.recordings
                 for note in getattr(rec, field)]
        out += [Paragraph(title + "<br/>".join(lines), st.NOTICE)] if lines else []
    return out


def _flag_cell(row) -> Paragraph:
    """A flagged value's flag in red, its guideline grade on a line of its own ("LOW" / "moderately")."""
    grade = f"<br/>{st.markup(row.grade)}" if row.grade else ""
    return Paragraph(f"<font color='#c0392b'><b>{st.markup(row.flag.upper())}</b>{grade}</font>", st.CELL)


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
            rows[r][4] = _flag_cell(row)
    if len(rows) == 1:
        rows.append(["no measurement", "-", "", "", "", ""])
    return _table(rows, widths, extra)


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


def _signature_table(report: ReportData, width: float) -> Table:
    reviewer = report.reviewer.strip() or ""
    rows = [["Reviewed by", reviewer, "Signature", ""], ["Date", "", "", ""]]
    w = width / 4
    return _table(rows, [0.6 * w, 1.6 * w, 0.6 * w, 1.2 * w], header=False,
                  extra=[("FONT", (0, 0), (0, -1), st.BOLD_FONT, 7.5), ("FONT", (2, 0), (2, -1), st.BOLD_FONT, 7.5),
                         ("ROWBACKGROUNDS", (0, 0), (-1, -1), [colors.white]),
                         ("TOPPADDING", (0, 0), (-1, -1), 12), ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
                         ("LINEBELOW", (1, 0), (1, 1), 0.6, colors.black),
                         ("LINEBELOW", (3, 0), (3, 0), 0.6, colors.black)])


# -- tables -------------------------------------------------------------------------------------------
def _table(rows: list[list], widths: list[float], extra: list | None = None, header: bool = True) -> Table:
    wrapped = [[c if not isinstance(c, str) else Paragraph(st.markup(c), st.CELL) for c in row] for row in rows]
    table = Table(wrapped, colWidths=widths, repeatRows=1 if header else 0, hAlign="LEFT")
    table.setStyle(TableStyle(st.table_style(len(rows), header) + (extra or [])))
    return table


def _patient_table(report: ReportData, width: float) -> Table:
    p = report.patient
    name = "Anonymised" if report.anonymised else (p.name or "(not given)")
    rows = [["Patient", name, "Patient ID", "" if report.anonymised else p.patient_id or "-"],
            ["Birth date", "" if report.anonymised else _date(p.birth_date), "Sex", p.sex or "-"],
            ["Study date", _date(p.study_date), "Institution", "" if report.anonymised else p.institution or "-"],
            ["Report created", report.created, "Equipment", p.manufacturer or "-"]]
    w = width / 4
    return _table(rows, [0.6 * w, 1.4 * w, 0.6 * w, 1.4 * w], header=False,
                  extra=[("FONT", (0, 0), (0, -1), st.BOLD_FONT, 7.5), ("FONT", (2, 0), (2, -1), st.BOLD_FONT, 7.5),
                         ("BACKGROUND", (0, 0), (0, -1), st.HEADER_BG), ("BACKGROUND", (2, 0), (2, -1), st.HEADER_BG)])


def _date(yyyymmdd: str) -> str:
    return display_date(yyyymmdd) or "-"


def _recordings_table(report: ReportData, width: float) -> Table:
    rows = [["Recording", "Modality", "View", "Frames", "Frame rate", "Pixel spacing", "Calibration",
             "Contours by"]]
    f = width / 100
    widths = [23 * f, 10 * f, 6.5 * f, 9 * f, 10 * f, 13 * f, 13.5 * f, 15 * f]
    for rec in report.recordings:
        frames = f"{rec.n_frames}" + (f" x {rec.n_slices} slices" if rec.n_slices > 1 else "")
        calib = "calibrated" if rec.calibrated else "NOT calibrated (areas only)"
        if rec.slice_spacing_mm:
            calib += f"; slices {rec.slice_spacing_mm:.1f} mm apart"
        rows.append([name_cell(rec.name, widths[0]), rec.modality.upper(), view_title(rec.view) or "not set", frames,
                     rec.frame_rate_text, rec.spacing_text, calib, contour_source(rec.segmenter, bool(rec.edited))])
    return _table(rows, widths)


def _measurement_table(report: ReportData, width: float) -> Table:
    rows = [["Recording", "Measurement", "Value", "Unit", "Method", "Reference", "Flag"]]
    extra = []
    f = width / 100
    # The file's name, the flag word ("REDUCED" in bold) and its grade ("moderately") each fit on one line.
    widths = [23 * f, 22 * f, 10 * f, 6.5 * f, 15 * f, 11 * f, 12.5 * f]
    for source, row in report.all_rows:
        value = row.text + (" *" if row.edited else "")
        rows.append([name_cell(source, widths[0]), row.label, value, row.unit, row.method, row.reference,
                     row.flag.upper()])
        if row.flag:
            r = len(rows) - 1
            extra += [("TEXTCOLOR", (2, r), (2, r), st.FLAG_COLOR), ("TEXTCOLOR", (6, r), (6, r), st.FLAG_COLOR)]
    for r in range(1, len(rows)):
        if report.all_rows[r - 1][1].flag:
            rows[r][2] = Paragraph(f"<b>{st.markup(rows[r][2])}</b>", st.CELL)
            rows[r][6] = _flag_cell(report.all_rows[r - 1][1])
    return _table(rows, widths, extra)


def _beats(report: ReportData, width: float) -> list:
    fac = any(b.fac_pct is not None for rec in report.recordings for b in rec.beats)  # a short-axis slice's
    rows = [["Recording", "Beat", "ED frame", "ES frame", "EDV (ml)", "ESV (ml)", "SV (ml)",
             "EF / FAC (%)" if fac else "EF (%)", "RR (s)", "Counted"]]
    left_out = []
    f = width / 100
    widths = [24 * f] + [8.0 * f] * 8 + [12 * f]
    for rec in report.recordings:
        for b in rec.beats:
            value = f"{_num(b.fac_pct)} (FAC)" if b.fac_pct is not None else _num(b.ef_pct)
            rows.append([name_cell(rec.name, widths[0]), str(b.index + 1), str(b.ed_frame), str(b.es_frame),
                         _num(b.edv_ml), _num(b.esv_ml), _num(b.sv_ml), value, _num(b.duration_s, 3),
                         "yes" if b.counted else "no"])
            if not b.counted:
                left_out.append(f"{rec.name} beat {b.index + 1}: {b.why_not_counted or 'not counted'}")
    if len(rows) == 1:
        return []
    out = [Paragraph("Beats", st.H3), _table(rows, widths)]
    if left_out:
        out.append(Paragraph("Beats not counted in EDV/ESV/EF (means over the counted beats): "
                             + st.markup("; ".join(left_out)), st.SMALL))
    return out


def _num(value, decimals: int = 1) -> str:
    from app.report.model import format_value

    return "-" if value is None else format_value(value, decimals)


def _quality(report: ReportData) -> list:
    items = [f"{rec.name}: {flag}" for rec in report.recordings for flag in rec.quality_flags]
    edited = [f"{rec.name}: {'; '.join(rec.edit_phrases)}" for rec in report.recordings if rec.edit_phrases]
    out = [Paragraph("Quality flags", st.H3),
           Paragraph("<br/>".join(st.markup(i) for i in items) if items else "none raised", st.BODY)]
    out += [Paragraph("Edited by hand", st.H3),
            Paragraph("<br/>".join(st.markup(e) for e in edited) if edited else "nothing edited", st.BODY)]
    return out


def _strain_method(report: ReportData) -> str:
    """How the strain shown was tracked: classical optical flow is no trained model of the table."""
    motions = {rec.strain.motion for rec in report.recordings if rec.strain is not None and rec.strain.motion}
    words = sorted("classical optical flow (DIS), not a trained model" if m.startswith("classical")
                   else "the motion network below" if m.startswith("learned") else m for m in motions)
    return f" The strain was tracked with {' and '.join(words)}." if words else ""


def _software_table(report: ReportData, width: float) -> Table:
    rows = [["Component (installed)", "Version", "Details"],
            ["CardioTrace", report.software_version, RESEARCH_NOTICE]]
    rows += [[m.name, m.version, m.detail] for m in report.models]
    if not report.models:
        rows.append(["models", "-", "no trained model installed; contours from the analysis as given"])
    f = width / 100
    return _table(rows, [22 * f, 20 * f, 58 * f])


# -- figures ------------------------------------------------------------------------------------------
def _recording_figures(rec: RecordingSection, width: float, height: float) -> list:
    title = Paragraph(st.markup(": ".join(x for x in (view_title(rec.view), rec.name) if x)), st.H2)
    blocks: list = []
    if rec.figures:
        cell_w = (width - 10) / max(len(rec.figures), 2)
        images = [FrameImage(f.image, f.contours, f.closed, rec.spacing_mm, f.label, cell_w - 6, 0.24 * height)
                  for f in rec.figures]
        grid = Table([images], colWidths=[cell_w] * len(images), hAlign="LEFT")
        grid.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "BOTTOM"), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
        blocks.append(grid)
        kinds = ("endo", "epi", "rv") if rec.modality == "mri" else ("endo", "epi", "la")  # label 3: RV on MRI
        legend = ", ".join(f"<font color='{hex_colour(CONTOUR_RGB[k])}'>&#9632;</font> {CONTOUR_NAMES[k]}"
                           for k in kinds)
        blocks.append(Paragraph(f"Contours (colours as in the viewer): {legend}.", st.SMALL))
    curve, label = (rec.volume_curve_ml, "LV volume (ml)") if rec.volume_curve_ml is not None else \
        (rec.area_curve, f"LV cavity area ({rec.area_unit})")
    if curve is not None and len(curve) == len(rec.frame_times_s) and len(curve) > 1:
        x, x_label = _x_axis(rec)
        blocks += [Spacer(1, 4), curve_drawing(x, [("volume", curve)], ed_frames=rec.ed_frames, x_label=x_label,
                                               es_frames=rec.es_frames, y_label=label, width=width, height=150)]
    blocks += _strain_block(rec, width)
    return [KeepTogether([title, *blocks])]


def _x_axis(rec: RecordingSection) -> tuple[np.ndarray, str]:
    """The curves' x values and their name: the frame times, or frame numbers where the file gives no timing (an
    ED/ES pair's "0.04 s" apart would be an invented interval)."""
    if rec.frame_rate_hz is None:
        return np.arange(len(rec.frame_times_s), dtype=float), "frame"
    return np.asarray(rec.frame_times_s, dtype=float), "time (s)"


def _strain_block(rec: RecordingSection, width: float) -> list:
    if rec.strain is None:
        if rec.modality == "mri":
            return []  # longitudinal strain is an echo measurement: nothing to say on cine MRI
        why = " (short-axis recording)" if rec.view in ("sax", "psax") else ""
        return [Paragraph(f"Longitudinal strain: not computed{why}.", st.BODY)]
    s = rec.strain
    series = [("global", s.curve_pct)]
    if s.segment_curves_pct is not None:
        series += [(name, s.segment_curves_pct[:, i]) for i, name in enumerate(s.segment_names)]
    poor = frozenset(i + 1 for i, ok in enumerate(s.segment_ok) if not ok)  # series 0 is the global curve
    x, x_label = _x_axis(rec)
    drawing = curve_drawing(x, series, ed_frames=rec.ed_frames, es_frames=rec.es_frames, x_label=x_label,
                            y_label="longitudinal strain (%)", width=width, height=170, include_zero=True,
                            dashed=poor)
    peaks = ", ".join(f"{n.replace('_', ' ')} {_num(v)}" + ("" if ok else " (low quality)")
                      for n, v, ok in zip(s.segment_names, s.segment_peak_pct,
                                          s.segment_ok or (True,) * len(s.segment_names), strict=True))
    text = f"Peak systolic segmental strain (%): {st.markup(peaks)}" if peaks else ""
    if poor:
        text += " Dashed curves: segments with low tracking quality."
    return [Spacer(1, 4), drawing, Paragraph(text, st.SMALL)]


def _bullseye(report: ReportData) -> list:
    if report.bullseye_pct is None:
        if report.recordings and all(r.modality == "mri" for r in report.recordings):
            return []  # the strain bullseye comes from apical echo views only
        apical = {r.view for r in report.recordings if r.strain is not None and r.view in ("a2c", "a3c", "a4c")}
        missing = sorted({"a2c", "a3c", "a4c"} - apical)
        return [Paragraph("17-segment bullseye", st.H3),
                Paragraph("not shown: needs strain of the A2C, A3C and A4C views (missing: "
                          f"{', '.join(v.upper() for v in missing)}).", st.BODY)]
    return [KeepTogether([Paragraph("17-segment bullseye", st.H2),
                          bullseye_drawing(report.bullseye_pct, report.bullseye_unreliable, size=230)])]


def _footer(report: ReportData):
    def draw(canvas, doc) -> None:
        canvas.saveState()
        canvas.setFont(st.BODY_FONT, 7)
        canvas.setFillColor(colors.HexColor("#666666"))
        y = MARGIN - 2 * mm
        canvas.drawString(doc.leftMargin, y, f"CardioTrace {report.software_version}  |  {RESEARCH_NOTICE}"
                                             f"  |  {report.created}")
        canvas.drawRightString(doc.leftMargin + doc.width, y, f"page {doc.page}")
        canvas.restoreState()

    return draw
