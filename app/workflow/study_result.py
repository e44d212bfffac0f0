"""The study-level numbers of one study, composed once: which A4C and which A2C make the biplane (the view-pair
rule), the biplane volumes and EF, the LA volume, from the same two clips and the same contours as the LV, and
the study's GLS (one clip per apical view, the pair's where it has a strain, and their mean).

`compose_study(items)` takes the study's recordings in order, each a RecordingAnalysis (the CLI, the batch) or
a (recording, per-frame LvContours, Measurements, strain[, view check]) tuple (the viewer's StudyState:
`viewer_items`, whose contours are the analysis' own on frames nobody edited and the edited splines elsewhere,
the ones its LV measurements come from). The CLI's `analyze A4C A2C`, the viewer's panel, the PDF and the DICOM results
all read the StudyResult; nothing else picks a pair or an atrium.

The view pair: measured, non-stack echo clips of each view; one the view classifier does not dispute before
one it confidently calls another view (its warning, for the view the clip has now), then a calibrated clip
before an uncalibrated one, else the first given. A study with two clips of one view says which one it used
(`StudyResult.notes`, also in the biplane's notes).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from app.data.recording import Recording
from app.workflow.la_volume import LaVolume, la_volume_of
from app.workflow.measure_notes import rates_differ
from app.workflow.results import FrameContours, Measurements, RecordingAnalysis, StudyMeasurements

if TYPE_CHECKING:  # study imports this module
    from app.workflow.study import StudyState

# (recording, its per-frame LvContours list, Measurements or None[, strain or None])
Triple = tuple[Recording, Any, Any]
Entry = tuple[Recording, Any, Any, Any]
# an Entry and the view classifier's check of the clip (app.workflow.view_step.ViewCheck or None)
ViewerItem = tuple[Recording, Any, Any, Any, Any]

PAIR_VIEWS = ("a4c", "a2c")
GLS_VIEWS = ("a4c", "a2c", "a3c")


@dataclass(frozen=True)
class StudyGls:
    """GLS (%) per apical view (one clip each) and their mean; edited: one of them depends on a hand edit;
    sources: the index (into the study's items) of each view's clip, in the order of by_view."""

    by_view: tuple[tuple[str, float], ...]
    edited: bool = False
    sources: tuple[int, ...] = ()

    @property
    def mean_pct(self) -> float | None:
        return float(np.mean([g for _, g in self.by_view])) if self.by_view else None

    @property
    def label(self) -> str:
        return f"GLS (mean of {', '.join(v.upper() for v, _ in self.by_view)})"


@dataclass(frozen=True)
class StudyResult:
    """measurements: per recording + the biplane; la: the LA volume; pair: the indices (into the items) of the
    A4C and A2C the biplane and LA come from (None without both); notes: how the pair was chosen; views:
    (view, index) of the clip each of A4C / A2C is measured from, with one view only too (a single-plane LA)."""

    measurements: StudyMeasurements
    la: LaVolume | None
    pair: tuple[int, int] | None
    notes: tuple[str, ...] = ()
    gls: StudyGls = StudyGls(())
    views: tuple[tuple[str, int], ...] = ()

    @property
    def biplane(self) -> Measurements | None:
        return self.measurements.biplane


def compose_study(items: Iterable[RecordingAnalysis | Sequence[Any]]) -> StudyResult:
    """The StudyResult of a study's recordings (RecordingAnalysis objects or tuples, in the study's order)."""
    from app.workflow.biplane import biplane_measurements

    items = list(items)
    entries = [_entry(item) for item in items]
    triples = [entry[:3] for entry in entries]
    chosen, notes = _view_choice(triples, [_disputed(item) for item in items])
    pair = (chosen["a4c"], chosen["a2c"]) if "a4c" in chosen and "a2c" in chosen else None
    biplane = None
    if pair is not None:
        notes += _rate_note(triples[pair[0]][2], triples[pair[1]][2])
        biplane = biplane_measurements(triples[pair[0]], triples[pair[1]])
        if biplane is not None and notes:
            biplane = replace(biplane, notes=tuple(biplane.notes) + notes)
    la = la_volume_of([(view, triples[i]) for view, i in chosen.items()])
    return StudyResult(StudyMeasurements(tuple(m for _, _, m in triples), biplane), la, pair, notes,
                       _study_gls(entries, chosen), tuple(chosen.items()))


def viewer_items(study: StudyState) -> list[ViewerItem]:
    """(recording, per-frame LvContours, Measurements, strain, view check) of each recording of a StudyState
    (measurements None when it has none yet): the contours its LV is measured on, the strain it shows, what the
    view classifier made of it."""
    from app.workflow.contour_adapter import lv_contours_per_frame

    return [(st.recording, lv_contours_per_frame(st) if _candidate((st.recording, [], st.measurements), False)
             else [], st.measurements, st.strain, getattr(st.analysis, "view_check", None))
            for st in study.recordings]


def _entry(item: RecordingAnalysis | Sequence[Any]) -> Entry:
    """(recording, contours list, measurements, strain or None)."""
    if isinstance(item, RecordingAnalysis):
        contours = item.contours
        return item.recording, list(contours) if isinstance(contours, FrameContours) else contours, \
            item.measurements, item.strain
    given = tuple(item)
    return (given[0], given[1], given[2], given[3] if len(given) >= 4 else None)


def _disputed(item: RecordingAnalysis | Sequence[Any]) -> bool:
    """The view classifier confidently calls the clip another view than the one it has now (its warning; a view
    set by hand since the check is not disputed by it)."""
    rec, check = (item.recording, item.view_check) if isinstance(item, RecordingAnalysis) else \
        (item[0], item[4] if len(item) >= 5 else None)
    return bool(check is not None and check.warning and check.labelled_view == rec.view)


def _study_gls(entries: Sequence[Entry], chosen: dict[str, int]) -> StudyGls:
    """One GLS per apical echo view: the view pair's clip when it has one, else the first clip of the view."""
    by_view: list[tuple[str, float]] = []
    sources: list[int] = []
    edited = False
    for view in GLS_VIEWS:
        first = [chosen[view]] if view in chosen else []
        for i in first + [i for i, e in enumerate(entries) if e[0].view == view]:
            rec, _, measurements, strain = entries[i]
            gls = getattr(strain, "gls_pct", None)
            if rec.modality == "echo" and not rec.is_stack and gls is not None and np.isfinite(gls):
                by_view.append((view, float(gls)))
                sources.append(i)
                edited = edited or "gls_pct" in (getattr(measurements, "edited", ()) or ())
                break
    return StudyGls(tuple(by_view), edited, tuple(sources))


def _candidate(triple: Triple, with_contours: bool = True) -> bool:
    """A measured echo A4C / A2C clip (with its per-frame contours, unless with_contours is False): one the
    view pair may take. viewer_items traces contours for these only (it runs after every edit)."""
    rec, contours, m = triple
    return (m is not None and rec.modality == "echo" and not rec.is_stack and rec.view in PAIR_VIEWS
            and (not with_contours or isinstance(contours, list) and len(contours) == rec.n_frames))


def _view_choice(triples: Sequence[Triple], disputed: Sequence[bool]) -> tuple[dict[str, int], tuple[str, ...]]:
    """{view: index} of the clip each of A4C / A2C is measured from, and a line per view with several clips."""
    chosen: dict[str, int] = {}
    notes: list[str] = []
    for view in PAIR_VIEWS:
        found = [i for i, t in enumerate(triples) if _candidate(t) and t[0].view == view]
        if not found:
            continue
        undisputed = [i for i in found if not disputed[i]] or found
        calibrated = [i for i in undisputed if triples[i][0].calibrated]
        chosen[view] = (calibrated or undisputed)[0]
        if len(found) > 1:
            why = [*(["the others look like another view"] if len(undisputed) < len(found) else []),
                   *(["calibrated"] if calibrated and len(calibrated) < len(undisputed) else [])]
            notes.append(f"{len(found)} {view.upper()} clips in the study: the biplane and LA volume use "
                         f"{_name(triples[chosen[view]][0])} ({', '.join(why) or 'the first given'})")
    return chosen, tuple(notes)


def _rate_note(a4c: Measurements, a2c: Measurements) -> tuple[str, ...]:
    """A line when the view pair's heart rates are not one state's (measure_notes.rates_differ: exercise, an
    arrhythmia, another day): the biplane then combines beats of different filling, which the study says."""
    r4, r2 = a4c.heart_rate_bpm, a2c.heart_rate_bpm
    if r4 is None or r2 is None or not (np.isfinite(r4) and np.isfinite(r2)) or min(r4, r2) <= 0:
        return ()
    if not rates_differ(r4, r2):
        return ()
    return (f"the A4C and A2C clips were recorded at different heart rates ({r4:.0f} and {r2:.0f} bpm): "
            "the biplane volumes and EF combine beats of different filling, and the study's heart rate is their "
            "mean",)


def _name(recording: Recording) -> str:
    src = recording.source_path
    return src.name if src else (recording.series_description or recording.view.upper())
