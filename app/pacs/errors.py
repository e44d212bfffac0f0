"""The one error type of app/pacs: a node that does not answer, refuses, or sends something unusable."""

from __future__ import annotations


class PacsError(Exception):
    """One clear line for the user (the CLI prints it and exits 2; the viewer shows it)."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))


class RetrieveCancelled(Exception):  # noqa: N818 - a cancellation, not an error
    """The user cancelled a retrieval; nothing of it is kept."""
