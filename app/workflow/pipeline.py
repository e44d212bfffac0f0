"""Moved (issue 32): the analysis is app.workflow.analyse, its segmenting step app.workflow.segment_step.
These two names stay importable for app/workflow/volume_eval.py until it moves out to the lab."""

from app.tasks import run_task as run_to_completion  # noqa: F401
from app.workflow.analyse import analyze_recording  # noqa: F401
