"""View check of an echo recording (Qt-free): the view classifier's opinion next to the user's view.

`view_check(recording)` runs app.ml.view.classify_view when models/view is installed and returns a
ViewCheck (or None: not a 2D echo clip, or no model; a ViewCheck with only `error` when the classifier
failed). It never changes the recording: the
analysis, the segmentation and strain always use the user's / DICOM view; the prediction only produces
`warning`, one line for the user, when the classifier is confident (p >= CONFIDENT_PROBABILITY) and
disagrees. When the predicted view had no real training data the warning says it is a phantom-trained
guess; when the labelled view has none (PLAX, PSAX) it says the classifier cannot confirm it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # results imports this module
    from app.data.recording import Recording
    from app.workflow.results import RecordingAnalysis

CONFIDENT_PROBABILITY = 0.8
VIEW_NAMES = {"a4c": "A4C", "a2c": "A2C", "a3c": "A3C", "plax": "PLAX", "psax": "PSAX", "sax": "SAX",
              "other": "not an apical/parasternal echo view", "unknown": "unknown"}


def _name(view: str) -> str:
    return VIEW_NAMES.get(view, view.upper())


def view_warning(labelled: str, predicted: str, probability: float, data_by_view: dict[str, str]) -> str | None:
    """One line when the classifier confidently disagrees with the labelled view, else None."""
    if probability < CONFIDENT_PROBABILITY or predicted == labelled:
        return None
    other = predicted == "other"
    looks = (f"does not look like an apical or parasternal echo view (p {probability:.2f})" if other
             else f"looks like {_name(predicted)} (p {probability:.2f})")
    source = data_by_view.get(predicted, "none")
    what = "views of that kind" if other else _name(predicted)
    guess = "" if source == "real" else f"; a phantom-trained guess (no real {what} in its training data)"
    if labelled in ("unknown", ""):
        advice = "Check the recording" if other else "Set the view to use it"
        return f"View not set; the clip {looks}{guess}. {advice} (the analysis keeps 'unknown')."
    unseen = ""
    if data_by_view.get(labelled, "none") == "none" and labelled in data_by_view:
        unseen = f"; the classifier never saw {_name(labelled)} and cannot confirm it"
    return (f"View check: the clip {looks}, not {_name(labelled)} as labelled{guess}{unseen}. "
            f"The analysis keeps {_name(labelled)}; change the view if it is wrong.")


@dataclass(frozen=True)
class ViewCheck:
    """The view classifier's opinion of a 2D echo clip (advice only: the labelled view is kept).

    data: the kind of training data the predicted view had ("real", "phantom only", "none"); warning: one line
    for the user when it confidently disagrees (None otherwise); error: why the check failed ("" when it ran).
    """

    view: str = ""
    probability: float = 0.0
    probabilities: tuple[tuple[str, float], ...] = ()
    frames_used: tuple[int, ...] = ()
    data: str = ""
    trusted: bool = False
    labelled_view: str = ""
    warning: str | None = None
    error: str = ""


def view_check(recording: Recording) -> ViewCheck | None:
    """The classifier's view and a warning for a 2D echo clip; None without a model or for MRI/stacks."""
    if recording.modality != "echo" or recording.is_stack:
        return None
    from app.ml.view import classify_view, model_installed

    if not model_installed():
        return None
    try:
        pred = classify_view(recording)
    except Exception as exc:  # noqa: BLE001 - a broken optional check must never stop the analysis
        return ViewCheck(error=" ".join(f"{type(exc).__name__}: {exc}".split()))
    return ViewCheck(
        view=pred.view,
        probability=round(pred.probability, 4),
        probabilities=tuple(pred.probabilities.items()),
        frames_used=tuple(pred.frames_used),
        data=pred.data_by_view.get(pred.view, "none"),
        trusted=pred.trusted,
        labelled_view=recording.view,
        warning=view_warning(recording.view, pred.view, pred.probability, pred.data_by_view),
    )


def view_json(check: ViewCheck | None) -> dict[str, Any]:
    """`view_predicted` ({view, probability} or None) and `view_warning` (str or None) for analyze --json."""
    predicted = None
    if check is not None and check.view:
        predicted = {"view": check.view, "probability": check.probability, "training_data": check.data}
    out = {"view_predicted": predicted, "view_warning": None if check is None else check.warning}
    if check is not None and check.error:
        out["view_check_error"] = check.error
    return out


def view_note(analysis: RecordingAnalysis | None) -> str:
    """The warning of a RecordingAnalysis (for the viewer's measurements panel), '' when there is none."""
    check = None if analysis is None else analysis.view_check
    return str(check.warning or "") if check is not None else ""
