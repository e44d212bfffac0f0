"""Fonts and paragraph/table styles of the PDF report.

DejaVu Sans is embedded when the system has it (any name, accents, Greek/Cyrillic print correctly and the
text extracts back exactly); otherwise the PDF base font Helvetica.
"""

from __future__ import annotations

from pathlib import Path

from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

_FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"),
              Path("/Library/Fonts"), Path("C:/Windows/Fonts"))


def _register_fonts() -> tuple[str, str]:
    for folder in _FONT_DIRS:
        regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
        if regular.is_file() and bold.is_file():
            try:
                pdfmetrics.registerFont(TTFont("CT-Sans", str(regular)))
                pdfmetrics.registerFont(TTFont("CT-Sans-Bold", str(bold)))
                return "CT-Sans", "CT-Sans-Bold"
            except Exception:  # noqa: BLE001 - an unreadable font file: use the built-in font
                break
    return "Helvetica", "Helvetica-Bold"


BODY_FONT, BOLD_FONT = _register_fonts()

TITLE = ParagraphStyle("title", fontName=BOLD_FONT, fontSize=15, leading=19, spaceAfter=2)
NOTICE = ParagraphStyle("notice", fontName=BOLD_FONT, fontSize=9, leading=11,
                        textColor=colors.HexColor("#b03a2e"), spaceAfter=6)
H2 = ParagraphStyle("h2", fontName=BOLD_FONT, fontSize=11, leading=14, spaceBefore=8, spaceAfter=4,
                    textColor=colors.HexColor("#1b2a41"))
H3 = ParagraphStyle("h3", fontName=BOLD_FONT, fontSize=9.5, leading=12, spaceBefore=5, spaceAfter=3)
BODY = ParagraphStyle("body", fontName=BODY_FONT, fontSize=8.5, leading=11)
SMALL = ParagraphStyle("small", fontName=BODY_FONT, fontSize=7, leading=9, textColor=colors.HexColor("#555555"))
CELL = ParagraphStyle("cell", fontName=BODY_FONT, fontSize=7.5, leading=9)

HEADER_BG = colors.HexColor("#e8edf3")
FLAG_COLOR = colors.HexColor("#c0392b")
GRID_COLOR = colors.HexColor("#b8c2cc")


def table_style(n_rows: int, header: bool = True) -> list:
    """Base TableStyle commands: small font, light grid, shaded header row, zebra rows."""
    cmds = [
        ("FONT", (0, 0), (-1, -1), BODY_FONT, 7.5),
        ("LEADING", (0, 0), (-1, -1), 9),
        ("GRID", (0, 0), (-1, -1), 0.3, GRID_COLOR),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
    ]
    if header:
        cmds += [("FONT", (0, 0), (-1, 0), BOLD_FONT, 7.5), ("BACKGROUND", (0, 0), (-1, 0), HEADER_BG)]
    for row in range(2 if header else 1, n_rows, 2):
        cmds.append(("BACKGROUND", (0, row), (-1, row), colors.HexColor("#f7f9fb")))
    return cmds
