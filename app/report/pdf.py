"""The PDF report (reportlab platypus), A4 or Letter, from a `ReportData`.

`write_pdf(report, path, page_size="A4")` writes atomically (temporary file + os.replace) and returns
the path. Layout: page 1 to sign: header (patient/study or anonymised, date), the summary (study values first:
biplane volumes, mean GLS; then each view's headline values) with reference ranges and flags, the
conclusion, reviewer and signature line. Then the details: recordings used, the measurement table per
recording, beats, quality flags and hand corrections in plain words, per recording the ED/ES frames with
contours and the volume and strain curves, the 17-segment bullseye when three apical views have strain;
an appendix names the software and models in plain words. Every page carries the research-use line and
page number.

This module puts the sections in order and draws what every page carries; each section is built in its own
module: page_one, details, figure_pages (the frames, curves and bullseye), appendix; tables holds the table
builder and the cells they share.
"""

from __future__ import annotations

import os
from pathlib import Path

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, LETTER
from reportlab.lib.units import mm
from reportlab.platypus import PageBreak, SimpleDocTemplate

from app.report import styles as st
from app.report.appendix import appendix
from app.report.details import details
from app.report.figure_pages import bullseye, recording_figures
from app.report.model import RESEARCH_NOTICE, ReportData
from app.report.page_one import page_one

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
                            title=report.title, author="CardioTrace",
                            subject=RESEARCH_NOTICE, creator=f"CardioTrace {report.software_version}")
    story = build_story(report, doc.width, doc.height)
    doc.build(story, onFirstPage=_footer(report), onLaterPages=_footer(report))
    os.replace(tmp, path)
    return path


def build_story(report: ReportData, width: float, height: float) -> list:
    """Page 1 is what a cardiologist reads and signs: patient, summary with normal ranges and flags, the
    conclusion, reviewer and signature. Then the details per recording, figures, and the appendix."""
    story: list = [*page_one(report, width), PageBreak(), *details(report, width)]
    for rec in report.recordings:
        story += recording_figures(rec, width, height)
    story += bullseye(report)
    story += appendix(report, width)
    return story


def _footer(report: ReportData):
    """Every page's last line: the version, the research-use notice and the report's time, and the page number,
    so that a page printed or sent alone still says what it is and what it is not for."""
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
