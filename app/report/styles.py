"""Fonts and paragraph/table styles of the PDF report, and `markup`: a text as report markup.

DejaVu Sans is embedded when the system has it (any name, accents, Greek/Cyrillic print correctly and the
text extracts back exactly); otherwise the PDF base font Helvetica. Characters DejaVu lacks (a Chinese, Japanese
or Korean patient name, institution or conclusion) are set in a fallback font (WenQuanYi Zen Hei, Debian
fonts-wqy-zenhei) rather than printed as empty boxes.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from itertools import groupby
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.fonts import addMapping
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


# TrueType outlines only: reportlab embeds no CFF-based OpenType (Noto CJK). WenQuanYi Zen Hei has Chinese, Japanese
# kana and Korean Hangul; Droid Sans Fallback has no Hangul.
_FALLBACK_FONT_FILES = (Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
                        Path("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"),
                        Path("/Library/Fonts/Arial Unicode.ttf"), Path("C:/Windows/Fonts/ARIALUNI.TTF"))
FALLBACK_FONT = "CT-Fallback"


@cache
def _fallback_covers() -> Callable[[str], bool] | None:
    """Registers the fallback font (as its own bold too: it has one weight) on first need, as a text with a
    character the body font lacks is rare and the font takes 0.2 s to read; its coverage test, or None."""
    for path in _FALLBACK_FONT_FILES:
        if path.is_file():
            try:
                pdfmetrics.registerFont(TTFont(FALLBACK_FONT, str(path), subfontIndex=0))
            except Exception:  # noqa: BLE001 - an unreadable font file: try the next
                continue
            for bold in (0, 1):
                for italic in (0, 1):
                    addMapping(FALLBACK_FONT, bold, italic, FALLBACK_FONT)
            return _covers(FALLBACK_FONT)
    return None


def _covers(font_name: str) -> Callable[[str], bool]:
    """A test of whether the font has a glyph for a character."""
    font = pdfmetrics.getFont(font_name)
    glyphs = getattr(getattr(font, "face", None), "charToGlyph", None)
    if glyphs is None:  # a PDF base font: its encoding's characters
        return lambda ch: ord(ch) < 256
    return lambda ch: ord(ch) in glyphs or ch in "\n\t"


BODY_FONT, BOLD_FONT = _register_fonts()
_BODY_COVERS = _covers(BODY_FONT)


def markup(text: str) -> str:
    """`text` escaped for a reportlab Paragraph, its runs of characters the body font lacks in the fallback font."""
    if all(_BODY_COVERS(ch) for ch in text) or (fallback_covers := _fallback_covers()) is None:
        return escape(text)
    parts = []
    for fallback, chars in groupby(text, key=lambda ch: not _BODY_COVERS(ch) and fallback_covers(ch)):
        run = escape("".join(chars))
        parts.append(f'<font face="{FALLBACK_FONT}">{run}</font>' if fallback else run)
    return "".join(parts)


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
