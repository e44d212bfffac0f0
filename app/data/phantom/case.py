"""A synthetic recording and its ground truth: what every phantom generator returns."""

from __future__ import annotations

from dataclasses import dataclass

from app.data.phantom.truth import PhantomTruth
from app.data.recording import Recording


@dataclass(frozen=True, eq=False)
class PhantomCase:
    """A synthetic recording and its ground truth."""

    recording: Recording
    truth: PhantomTruth
