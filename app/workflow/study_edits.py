"""Undoable study-level edits (app.workflow.edits' EditCommand interface): the slices of a short-axis stack that
count in the volumes, and the patient's height, weight and sex for every recording of the study.

`SliceSelectionEdit` includes or excludes one slice (StudyState.set_excluded_slices re-measures EDV/ESV/EF,
the mass and the RV); `PatientDetailsEdit` sets height/weight (BSA, indexed values) and sex (sex-specific
normal ranges) on each recording, as the patient dialog does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.workflow.edits import EditCommand
from app.workflow.recording_state import RecordingState
from app.workflow.study import StudyState


@dataclass
class SliceSelectionEdit(EditCommand):
    """Include (include=True) or exclude one slice of a stack from the volumes."""

    index: int
    slice_index: int
    include: bool
    _old: frozenset[int] = field(default=frozenset(), repr=False)
    text: str = field(init=False, default="", repr=False, compare=False)  # the undo menu's words

    def __post_init__(self) -> None:
        self.text = f"{'include' if self.include else 'exclude'} slice {self.slice_index + 1}"

    def apply(self, study: StudyState) -> None:
        self._old = study[self.index].excluded_slices
        new = self._old - {self.slice_index} if self.include else self._old | {self.slice_index}
        study.set_excluded_slices(self.index, new)

    def revert(self, study: StudyState) -> None:
        study.set_excluded_slices(self.index, self._old)


@dataclass
class PatientDetailsEdit(EditCommand):
    """Height (cm), weight (kg) and sex ('M', 'F', '') of the patient, on every recording of the study."""

    height_cm: float | None
    weight_kg: float | None
    sex: str
    text: str = "patient height, weight and sex"
    _old: list[tuple[float | None, float | None, str]] = field(default_factory=list, repr=False)

    def apply(self, study: StudyState) -> None:
        self._old = [(st.recording.patient.height_cm, st.recording.patient.weight_kg, st.recording.patient.sex)
                     for st in study.recordings]
        for index in range(len(study)):
            study.set_body_size(index, self.height_cm, self.weight_kg)  # ValueError on an implausible size
            study.set_sex(index, self.sex)

    def revert(self, study: StudyState) -> None:
        for index, (height, weight, sex) in enumerate(self._old):
            study.set_body_size(index, height, weight)
            study.set_sex(index, sex)


@dataclass(frozen=True)
class SliceVolumes:
    """One row of the per-slice volume table: LV cavity area (mm^2) and its slab volume (ml) at ED and ES."""

    slice_index: int
    ed_area_mm2: float | None
    es_area_mm2: float | None
    ed_ml: float | None
    es_ml: float | None
    included: bool


def slice_volumes(state: RecordingState) -> list[SliceVolumes]:
    """Per slice of a stack: LV area and slab volume (area x slice spacing) at the first ED and ES frames."""
    from app.analysis.polylines import polygon_area_px2
    from app.workflow.contour_adapter import lv_from_controls

    rec = state.recording
    row_mm, col_mm = rec.spacing_mm if rec.calibrated else (None, None)
    step_mm = rec.slice_spacing_mm
    ed = state.ed_frames[0] if state.ed_frames else None
    es = state.es_frames[0] if state.es_frames else None

    def area(s: int, frame: int | None) -> float | None:
        controls = state.contours.get((s, frame)) if frame is not None else None
        lv = lv_from_controls(controls) if controls else None
        if lv is None or row_mm is None or col_mm is None:
            return None
        return float(polygon_area_px2(lv.endo_px)) * row_mm * col_mm

    def ml(a: float | None) -> float | None:
        return None if a is None or not step_mm else a * float(step_mm) / 1000.0

    rows = []
    for s in range(rec.n_slices):
        a_ed, a_es = area(s, ed), area(s, es)
        rows.append(SliceVolumes(s, a_ed, a_es, ml(a_ed), ml(a_es), s not in state.excluded_slices))
    return rows
