"""The PDF report's table builder and the cells its sections share.

`table` gives every table of the report the same look (styles.table_style) and wraps plain strings in the cell
style, so that a long value wraps inside its column instead of running over the next one. `flag_cell` and
`num` are the cells page 1, the details and the figure captions print alike: a value flagged on page 1 reads
the same in the measurement table.
"""

from __future__ import annotations

from reportlab.platypus import Paragraph, Table, TableStyle

from app.report import styles as st
from app.report.model import format_value


def table(rows: list[list], widths: list[float], extra: list | None = None, header: bool = True) -> Table:
    """rows: the cells, strings (wrapped here) or flowables (a name_cell's Paragraph); extra: TableStyle
    commands on top of the base style; header: the first row is a header, repeated on a page break."""
    wrapped = [[c if not isinstance(c, str) else Paragraph(st.markup(c), st.CELL) for c in row] for row in rows]
    out = Table(wrapped, colWidths=widths, repeatRows=1 if header else 0, hAlign="LEFT")
    out.setStyle(TableStyle(st.table_style(len(rows), header) + (extra or [])))
    return out


def flag_cell(row) -> Paragraph:
    """A flagged value's flag in red, its guideline grade on a line of its own ("LOW" / "moderately")."""
    grade = f"<br/>{st.markup(row.grade)}" if row.grade else ""
    return Paragraph(f"<font color='#c0392b'><b>{st.markup(row.flag.upper())}</b>{grade}</font>", st.CELL)


def num(value, decimals: int = 1) -> str:
    """A number as the report prints it; '-' for a value the table has none of."""
    return "-" if value is None else format_value(value, decimals)
