"""`v4 logs`: placeholder until the log lands (issue: v4 ask)."""

from __future__ import annotations

from v4cli.errors import V4Error


def logs_command() -> None:
    """List and show past answers."""
    raise V4Error("v4 logs is not available yet")
