"""The results series already sent for a study, so that the next one says it amends the last.

A study's DICOM results (SR, SEG, PDF: app/report/dicom_results.py) are made once per *Send*; a PACS keeps
every series it was sent. A reader must tell which one is current and whether it was signed, so each send
is remembered here (in the viewer's study and its autosave) and the next one references it: the SR's
Predecessor Documents, and "amends <when>" in the series descriptions and on the PDF's first page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class SentResults:
    """One results series as sent: its SR's identifiers, when the results were made and who had signed."""

    study_uid: str
    series_uid: str
    sop_class_uid: str
    sop_instance_uid: str
    made: str  # "YYYY-MM-DD HH:MM:SS" (an older save: to the minute), local time, as the series description says it
    signed_by: str = ""  # the reviewer named when it was sent ("": preliminary)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "SentResults":
        """ValueError when a field is missing (a damaged save file)."""
        try:
            return cls(**{key: str(data[key]) for key in ("study_uid", "series_uid", "sop_class_uid",
                                                          "sop_instance_uid", "made")},
                       signed_by=str(data.get("signed_by", "")))
        except (KeyError, TypeError) as exc:
            raise ValueError(f"a sent results record lacks {exc}") from None


def last_sent(sent: Sequence[SentResults], study_uid: str) -> SentResults | None:
    """The latest results series sent for the study of `study_uid` (None: these are the first)."""
    same = [s for s in sent if s.study_uid == study_uid]
    return same[-1] if same else None
