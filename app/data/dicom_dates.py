"""DICOM dates (value representation DA, YYYYMMDD) as people read them, in the viewer, the report and the PACS
browser.

Anonymised files keep part of a date with zeros for the rest (Sunnybrook: birth date 00000000, study date
20120000), and old ACR-NEMA files write 2012.03.15. A date is shown as far as it is known: '2012-03-15',
'2012-03', '2012', or not at all.
"""

from __future__ import annotations

import datetime
import re

_DA = re.compile(r"(\d{4})\.?(\d{2})\.?(\d{2})")
_FIRST_YEAR = 1850  # before any living patient or digital study: a year below it is a placeholder


def display_date(da: str | None) -> str:
    """'20120315' -> '2012-03-15'; '20120300' -> '2012-03'; '20120000' -> '2012'; '00000000', '', a date that
    does not exist ('20120231') or text that is not a date -> ''."""
    found = _DA.fullmatch((da or "").strip())
    if found is None:
        return ""
    year, month, day = (int(v) for v in found.groups())
    if year < _FIRST_YEAR:
        return ""
    if month == 0:
        return f"{year:04d}" if day == 0 else ""
    if day == 0:
        return f"{year:04d}-{month:02d}" if month <= 12 else ""
    try:
        return datetime.date(year, month, day).isoformat()
    except ValueError:
        return ""
