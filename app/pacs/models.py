"""What a query finds and what a retrieval reports, as frozen dataclasses (plain JSON via to_json_dict)."""

from __future__ import annotations

import datetime
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from app.pacs.errors import PacsError

MODALITIES = ("US", "MR")


@dataclass(frozen=True)
class SeriesMatch:
    series_uid: str
    modality: str = ""
    description: str = ""
    number: int | None = None
    n_instances: int | None = None

    def to_json_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class StudyMatch:
    study_uid: str
    patient_name: str = ""
    patient_id: str = ""
    date: str = ""  # YYYYMMDD
    description: str = ""
    modalities: tuple[str, ...] = ()
    n_instances: int | None = None
    series: tuple[SeriesMatch, ...] = field(default_factory=tuple)

    def to_json_dict(self) -> dict[str, Any]:
        return {"study_uid": self.study_uid, "patient": {"name": self.patient_name, "id": self.patient_id},
                "date": self.date, "description": self.description, "modalities": list(self.modalities),
                "n_instances": self.n_instances, "series": [s.to_json_dict() for s in self.series]}


@dataclass(frozen=True)
class QueryFilter:
    """What to look for; empty fields match everything. date_from / date_to: YYYYMMDD or ''."""

    patient_id: str = ""
    patient_name: str = ""
    modality: str = ""
    date_from: str = ""
    date_to: str = ""

    @property
    def date_range(self) -> str:
        """The DICOM range matching form (`FROM-TO`, `FROM-`, `-TO`) or ''."""
        if not self.date_from and not self.date_to:
            return ""
        if self.date_from == self.date_to:
            return self.date_from
        return f"{self.date_from}-{self.date_to}"


def parse_date_range(text: str | None) -> tuple[str, str]:
    """`FROM-TO` with YYYYMMDD or YYYY-MM-DD dates, either side may be empty -> (from, to) as YYYYMMDD."""
    if not text:
        return "", ""
    compact = str(text).strip()
    dates = re.findall(r"\d{4}-?\d{2}-?\d{2}", compact)
    rest = re.sub(r"\d{4}-?\d{2}-?\d{2}", "", compact)
    if len(dates) > 2 or rest not in ("", "-"):
        raise PacsError(f"--date {text!r}: expected FROM-TO as YYYYMMDD-YYYYMMDD (either side may be empty)")
    dates = [d.replace("-", "") for d in dates]
    for date in dates:  # a date the node would have to refuse, said now
        try:
            datetime.date(int(date[:4]), int(date[4:6]), int(date[6:]))
        except ValueError:
            raise PacsError(f"--date {text!r}: {date} is no date (YYYYMMDD)") from None
    if len(dates) == 2:
        return dates[0], dates[1]
    if len(dates) == 1:
        if rest == "":
            return dates[0], dates[0]
        return (dates[0], "") if compact.endswith("-") else ("", dates[0])
    return "", ""


@dataclass(frozen=True)
class RetrievedSeries:
    """A complete series on disk: every instance the node listed was received."""

    study_uid: str
    series_uid: str
    folder: str
    n_instances: int
    from_cache: bool = False
