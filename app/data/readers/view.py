"""Guess the echo view (a4c, a2c, ...) from text the file carries: series description, DICOM view
code meaning, or a file name such as CAMUS `patient0001_4CH_sequence`. "unknown" when none says."""

from __future__ import annotations

import re

_PATTERNS = (
    ("a4c", r"\ba?4\s*-?\s*c(h(amber)?)?\b|apical\s*(4|four)|four[\s-]*chamber"),
    ("a2c", r"\ba?2\s*-?\s*c(h(amber)?)?\b|apical\s*(2|two)|two[\s-]*chamber"),
    ("a3c", r"\ba?3\s*-?\s*c(h(amber)?)?\b|apical\s*(3|three)|three[\s-]*chamber|\balax\b|apical\s*long"),
    ("plax", r"\bplax\b|parasternal\s*long"),
    ("psax", r"\bpsax\b|parasternal\s*short"),
    ("sax", r"\bsax\b|short[\s-]*axis"),
)


def view_from_text(*texts: str | None) -> str:
    """The first view named in `texts` (case-insensitive; '_' counts as a word break), else 'unknown'."""
    for text in texts:
        if not text:
            continue
        words = re.sub(r"[_.]+", " ", str(text)).lower()
        for view, pattern in _PATTERNS:
            if re.search(pattern, words):
                return view
    return "unknown"
