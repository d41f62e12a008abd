"""`v4 config`: placeholder until settings commands land (issue: v4 ask)."""

from __future__ import annotations

from v4cli.errors import V4Error


def config_command() -> None:
    """Show, set and locate settings."""
    raise V4Error("v4 config is not available yet")
