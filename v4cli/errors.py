"""One exception family for failures users can act on.

Every expected failure (bad path, missing key, malformed checkpoint, ...) is a V4Error: the CLI prints
its one-line message and hint on stderr and exits with its code; `--debug` adds the traceback.
"""

from __future__ import annotations


class V4Error(Exception):
    """A failure with a one-line message, an optional hint, and an exit code (1: runtime failure)."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class UsageError(V4Error):
    """Bad usage or bad input: exit code 2."""

    exit_code = 2
