"""A recording's file name in a narrow table cell of the PDF report, broken where a reader expects it.

reportlab's Paragraph breaks lines at spaces only, and a word longer than its column wherever the column runs out:
"gdcm-US-ALOKA-16.dcm" read "gdcm-US-ALOKA-1" / "6.dcm". `name_cell` breaks a name too long for its column after
a separator ('-', '_', '/', '\\') or before a dot, so that the extension stays whole: "gdcm-US-ALOKA-" / "16.dcm";
only a run without any (an EchoNet hex name) is cut where the line is full. With `max_lines` (page 1, which must
stay one page to sign) a name needing more lines keeps its start and its end, the extension, around an ellipsis;
the details pages print it whole. A name that fits is returned as it was, and prints as before.
"""

from __future__ import annotations

import re

from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import Paragraph
from reportlab.platypus.tables import CellStyle

from app.report import styles as st

_BREAK = re.compile(r"(?<=[-_/\\])|(?=\.)")  # where a line may end: after a separator, before a dot
ELLIPSIS = "\u2026"
_CELL = CellStyle("name")  # reportlab's default cell paddings: the report's tables set no others on the sides


def name_cell(name: str, column_width_pt: float, max_lines: int | None = None) -> str | Paragraph:
    """`name` for a table cell `column_width_pt` wide: as it is where it fits on one line, else a Paragraph of
    its lines, at most `max_lines` (None: as many as it takes)."""
    width_pt = column_width_pt - _CELL.leftPadding - _CELL.rightPadding
    if _width_pt(name) <= width_pt:
        return name
    lines = _lines([p for p in _BREAK.split(name) if p], width_pt)
    if max_lines is not None and len(lines) > max_lines:
        lines = lines[:max_lines - 1] + [_elided_end(name, width_pt)]
    return Paragraph("<br/>".join(st.markup(line) for line in lines), st.CELL)


def _width_pt(text: str) -> float:
    return stringWidth(text, st.CELL.fontName, st.CELL.fontSize)


def _lines(pieces: list[str], width_pt: float) -> list[str]:
    """The pieces filled greedily into lines of at most `width_pt`; a piece wider than a line is cut where the
    line is full (as reportlab would), its rest starting the next."""
    lines = [""]
    for piece in pieces:
        if lines[-1] and _width_pt(lines[-1] + piece) > width_pt:
            lines.append("")
        while _width_pt(piece) > width_pt:
            n = _chars_that_fit(piece, width_pt)
            lines[-1] += piece[:n]
            lines.append("")
            piece = piece[n:]
        lines[-1] += piece
    return lines


def _chars_that_fit(text: str, width_pt: float) -> int:
    """How many of `text`'s first characters fit in `width_pt` (at least one, so that a line always advances)."""
    return next((n for n in range(len(text), 1, -1) if _width_pt(text[:n]) <= width_pt), 1)


def _elided_end(name: str, width_pt: float) -> str:
    """An ellipsis and the longest end of `name` that fits with it on one line, from its next break where that
    drops less than it keeps ("...the-study.dcm", not "...ne-study.dcm"; but "...EEADDDABC.avi", not "....avi")."""
    start = next(i for i in range(len(name)) if _width_pt(ELLIPSIS + name[i:]) <= width_pt or i == len(name) - 1)
    at_break = next((m.start() for m in _BREAK.finditer(name, start) if m.start() < len(name)), len(name))
    return ELLIPSIS + name[at_break if at_break - start < len(name) - at_break else start:]
