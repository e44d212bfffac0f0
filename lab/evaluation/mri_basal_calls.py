"""How the basal RV rule's end-systolic calls fare against ACDC's experts (app/ml/mri_basal_rv.py), per run.

For each patient of `evaluate mri-seg`: the rule's call on the most basal end-systolic RV slice of the
cleaned stack (left out as right atrium, or kept as ventricle), whether the call is borderline (within the
fractions the nested cross-validation's folds chose) and whether the expert drew RV on that slice at ES (no RV
there: the expert calls it atrium). The summary counts the borderline calls (those the app flags for the
reader, with a note on the RV ESV) and how often the call agrees with the expert inside and outside that
band: a model whose basal RV sits closer to the rule's limits gives more borderline calls to check.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

RV = 3


@dataclass(frozen=True)
class BasalCall:
    patient: str
    slice_index: int
    left_out: bool
    borderline: bool
    expert_atrium: bool  # the expert drew no RV on that slice at end-systole

    @property
    def agrees(self) -> bool:
        return self.left_out == self.expert_atrium


def basal_call(patient, raw: np.ndarray) -> BasalCall | None:
    """The end-systolic call on the (2, S, H, W) raw ED/ES labels of `patient` (an AcdcPatient) as the app makes
    it after its stack clean-up; None when the stack gives no call (RV on fewer than two slices at ES)."""
    from app.ml.mri_basal_rv import basal_calls
    from app.ml.mri_stack_cleanup import clean_stack

    cleaned = clean_stack(raw.transpose(1, 0, 2, 3))  # (S, 2, H, W)
    calls = [c for c in basal_calls(cleaned) if c.phase == 1]  # ACDC stores ED first, then ES
    if not calls:
        return None
    call = calls[0]
    expert_rv_px = int((patient.labels[1, call.slice_index] == RV).sum())
    return BasalCall(patient.patient, call.slice_index, call.left_out, call.borderline, expert_rv_px == 0)


def summarise_calls(calls: list[BasalCall]) -> dict:
    """Counts: stacks with a call, borderline calls, and the calls agreeing with the expert in and out of the band."""
    inside = [c for c in calls if c.borderline]
    outside = [c for c in calls if not c.borderline]
    return {"n": len(calls), "borderline": len(inside), "left_out": sum(c.left_out for c in calls),
            "agree_borderline": sum(c.agrees for c in inside), "agree_elsewhere": sum(c.agrees for c in outside),
            "borderline_patients": [c.patient for c in inside]}


def format_calls(summary: dict) -> str:
    """One line for the printed tables."""
    elsewhere = summary["n"] - summary["borderline"]
    return (f"basal RV calls at ES: {summary['n']} stacks, {summary['left_out']} left out as atrium; "
            f"{summary['borderline']} borderline (flagged for the reader), agreeing with the expert in "
            f"{summary['agree_borderline']} of {summary['borderline']}; elsewhere in {summary['agree_elsewhere']} of "
            f"{elsewhere}")
