"""`v4 ask`: placeholder until the command lands (issue: v4 ask)."""

from __future__ import annotations

from v4cli.errors import V4Error


def ask_command() -> None:
    """Ask DeepSeek V4 about paths and/or stdin."""
    raise V4Error("v4 ask is not available yet")
