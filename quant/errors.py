"""Exceptions of the converter; the CLI maps them to exit codes (BadCheckpoint/UnsupportedModel/BadRecipe: 2)."""

from __future__ import annotations


class ConvertError(Exception):
    """A failure the user can act on: a one-line message and an optional hint."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class BadCheckpoint(ConvertError):
    """The input checkpoint is malformed: missing shard, truncated file, wrong shape or dtype, missing scale."""


class UnsupportedModel(ConvertError):
    """The checkpoint is well-formed but its architecture or an option value is not supported."""


class BadRecipe(ConvertError):
    """A quantization recipe file cannot be read or names an unknown type."""


class BadGGUF(ConvertError):
    """A file given to inspect is not a readable GGUF."""


class OutputError(ConvertError):
    """Writing the output failed (no space, permission, interrupted): nothing was left behind."""
