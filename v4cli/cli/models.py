"""`v4 models`: placeholder until the catalog command lands (issue: v4 ask)."""

from __future__ import annotations

from v4cli.errors import V4Error


def models_command() -> None:
    """The model catalog: names, context, prices."""
    raise V4Error("v4 models is not available yet")
