"""The PDF report's appendix: the software and the trained models behind the contours, in plain words.

A reader who questions a contour must know whether a network drew it and which one; the strain's tracking method
is named too, as classical optical flow is no trained model of the table.
"""

from __future__ import annotations

from reportlab.platypus import Paragraph, Table

from app.report import styles as st
from app.report.model import RESEARCH_NOTICE, ReportData
from app.report.tables import table


def appendix(report: ReportData, width: float) -> list:
    """The appendix's heading, its note and the table of software and models."""
    return [Paragraph("Appendix: software and models", st.H2),
            Paragraph("The contours and ED/ES frames come from these trained models, unless the report says they "
                      "were corrected by hand or given with the file." + _strain_method(report), st.SMALL),
            _software_table(report, width)]


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
    return table(rows, [22 * f, 20 * f, 58 * f])
