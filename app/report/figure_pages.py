"""The PDF report's figures after the details: per recording, its ED/ES frames with contours and its volume (or
area) and strain curves, kept together under the recording's title; then the 17-segment strain bullseye.

The drawing primitives (FrameImage, curve_drawing, bullseye_drawing) live in figures.py and bullseye.py; this
module chooses what each recording shows and says in words what is missing (no strain, no bullseye) rather
than leaving a reader to wonder.
"""

from __future__ import annotations

import numpy as np
from reportlab.platypus import KeepTogether, Paragraph, Spacer, Table, TableStyle

from app.data.recording import view_title
from app.report import styles as st
from app.report.bullseye import bullseye_drawing
from app.report.figures import FrameImage, curve_drawing
from app.report.model import RecordingSection, ReportData
from app.report.palette import CONTOUR_NAMES, CONTOUR_RGB, hex_colour
from app.report.tables import num


def recording_figures(rec: RecordingSection, width: float, height: float) -> list:
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
        if not rec.strain_requested:  # the user's choice (analyze --no-strain), not a failure
            return [Paragraph("Longitudinal strain: not requested.", st.BODY)]
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
    peaks = ", ".join(f"{n.replace('_', ' ')} {num(v)}" + ("" if ok else " (low quality)")
                      for n, v, ok in zip(s.segment_names, s.segment_peak_pct,
                                          s.segment_ok or (True,) * len(s.segment_names), strict=True))
    text = f"Peak systolic segmental strain (%): {st.markup(peaks)}." if peaks else ""
    if poor:
        text += " Dashed curves: segments with low tracking quality."
    if peaks and s.segment_length_px:
        text += " " + segment_precision(s.segment_length_px, len(s.segment_names))
    return [Spacer(1, 4), drawing, Paragraph(text, st.SMALL)]


def segment_precision(length_px: float, n_segments: int) -> str:
    """What one pixel is worth in a segment's strain and in the GLS: a coarse clip's segments are a few pixels long
    (lab/notes/motion.md: on phantoms the segment error came to about one such pixel)."""
    return (f"Segments about {length_px:.0f} px long at end-diastole: one pixel of a segment's length is "
            f"{100.0 / length_px:.1f} strain points of its value (of the GLS, over the whole line: "
            f"{100.0 / (n_segments * length_px):.1f}).")


def bullseye(report: ReportData) -> list:
    if report.bullseye_pct is None:
        if report.recordings and all(r.modality == "mri" for r in report.recordings):
            return []  # the strain bullseye comes from apical echo views only
        if not any(r.strain_requested or r.strain is not None for r in report.recordings if r.modality == "echo"):
            return [Paragraph("17-segment bullseye", st.H3),
                    Paragraph("not shown: longitudinal strain was not requested.", st.BODY)]
        apical = {r.view for r in report.recordings if r.strain is not None and r.view in ("a2c", "a3c", "a4c")}
        missing = sorted({"a2c", "a3c", "a4c"} - apical)
        return [Paragraph("17-segment bullseye", st.H3),
                Paragraph("not shown: needs strain of the A2C, A3C and A4C views (missing: "
                          f"{', '.join(v.upper() for v in missing)}).", st.BODY)]
    return [KeepTogether([Paragraph("17-segment bullseye", st.H2),
                          bullseye_drawing(report.bullseye_pct, report.bullseye_unreliable, size=230)])]
