"""`UsageError`: bad input from the user on the command line, printed on one line with exit code 2 by app.cli.

Its own module so that the subcommands raise it without importing app.cli, which imports them by name."""

from __future__ import annotations


class UsageError(Exception):
    """Bad input from the user: printed on one line, exit code 2."""
