"""The details section of the PDF report, after page 1: what page 1's values rest on, recording by recording.

The recordings used (modality, view, timing, calibration, who drew the contours), every measurement with its
method and reference, the beats each value is averaged over (and why a beat was left out), the quality flags and
the hand corrections in plain words. File names are printed whole here (page 1 elides them).
"""

from __future__ import annotations

from reportlab.platypus import Paragraph, Table

from app.data.recording import view_title
from app.report import styles as st
from app.report.model import ReportData
from app.report.name_cells import name_cell
from app.report.plain_words import contour_source
from app.report.tables import flag_cell, num, table


def details(report: ReportData, width: float) -> list:
    """The section's flowables, from its heading to the hand corrections."""
    return [Paragraph("Details", st.H2),
            Paragraph("Recordings used", st.H3), _recordings_table(report, width),
            Paragraph("Measurements per recording", st.H3), _measurement_table(report, width),
            *_beats(report, width), *_quality(report)]


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
    return table(rows, widths)


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
            rows[r][6] = flag_cell(report.all_rows[r - 1][1])
    return table(rows, widths, extra)


def _beats(report: ReportData, width: float) -> list:
    fac = any(b.fac_pct is not None for rec in report.recordings for b in rec.beats)  # a short-axis slice's
    rows = [["Recording", "Beat", "ED frame", "ES frame", "EDV (ml)", "ESV (ml)", "SV (ml)",
             "EF / FAC (%)" if fac else "EF (%)", "RR (s)", "Counted"]]
    left_out = []
    f = width / 100
    widths = [24 * f] + [8.0 * f] * 8 + [12 * f]
    for rec in report.recordings:
        for b in rec.beats:
            value = f"{num(b.fac_pct)} (FAC)" if b.fac_pct is not None else num(b.ef_pct)
            rows.append([name_cell(rec.name, widths[0]), str(b.index + 1), str(b.ed_frame), str(b.es_frame),
                         num(b.edv_ml), num(b.esv_ml), num(b.sv_ml), value, num(b.duration_s, 3),
                         "yes" if b.counted else "no"])
            if not b.counted:
                left_out.append(f"{rec.name} beat {b.index + 1}: {b.why_not_counted or 'not counted'}")
    if len(rows) == 1:
        return []
    out = [Paragraph("Beats", st.H3), table(rows, widths)]
    if left_out:
        out.append(Paragraph("Beats not counted in EDV/ESV/EF (means over the counted beats): "
                             + st.markup("; ".join(left_out)), st.SMALL))
    return out


def _quality(report: ReportData) -> list:
    items = [f"{rec.name}: {flag}" for rec in report.recordings for flag in rec.quality_flags]
    edited = [f"{rec.name}: {'; '.join(rec.edit_phrases)}" for rec in report.recordings if rec.edit_phrases]
    out = [Paragraph("Quality flags", st.H3),
           Paragraph("<br/>".join(st.markup(i) for i in items) if items else "none raised", st.BODY)]
    out += [Paragraph("Edited by hand", st.H3),
            Paragraph("<br/>".join(st.markup(e) for e in edited) if edited else "nothing edited", st.BODY)]
    return out
