"""Shared option parsing for commands that read paths and stdin (pack, ask, review)."""

from __future__ import annotations

import os
import stat
import sys

from v4cli.errors import UsageError

STDIN_LIMIT_BYTES = 256 * 1024 * 1024  # far beyond any context; keeps a runaway pipe from eating memory
_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "kib": 1024, "m": 1000**2, "mb": 1000**2, "mib": 1024**2,
          "g": 1000**3, "gb": 1000**3, "gib": 1024**3}


def parse_size(text: str) -> int:
    """'1MB', '500k', '2MiB', '1000' -> bytes."""
    raw = text.strip().lower().replace("_", "")
    number = raw.rstrip("abcdefghijklmnopqrstuvwxyz")
    unit = raw[len(number):]
    try:
        value = float(number)
    except ValueError:
        value = -1
    if value < 0 or unit not in _UNITS:
        raise UsageError(f"not a size: {text!r}", hint="use a number of bytes or a unit such as 500k, 2MB, 1GiB")
    return int(value * _UNITS[unit])


def parse_count(text: str) -> int:
    """'128k', '1m', '32000' -> a count (k and m are powers of 1000, as in token budgets)."""
    raw = text.strip().lower().replace("_", "").replace(",", "")
    scale = {"k": 1000, "m": 1_000_000}.get(raw[-1:], 1)
    try:
        value = float(raw[:-1] if scale > 1 else raw)
    except ValueError:
        raise UsageError(f"not a token count: {text!r}", hint="use a number such as 32000, 128k or 1m") from None
    if value <= 0:
        raise UsageError(f"token count must be positive: {text!r}")
    return int(value * scale)


def split_stdin_marker(paths: list[str]) -> tuple[list[str], bool]:
    """Paths without `-`, and whether `-` asked for stdin explicitly."""
    return [p for p in paths if p != "-"], "-" in paths


def piped_stdin() -> bool:
    """True when stdin is a pipe or a redirected file: a terminal, /dev/null or a closed stdin never is."""
    try:
        mode = os.fstat(sys.stdin.fileno()).st_mode
    except (OSError, ValueError, AttributeError):
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISREG(mode)


def read_stdin() -> bytes:
    data = sys.stdin.buffer.read(STDIN_LIMIT_BYTES + 1)
    if len(data) > STDIN_LIMIT_BYTES:
        sys.stderr.write(f"v4: warning: stdin is longer than {STDIN_LIMIT_BYTES >> 20} MiB; only its head is used\n")
        data = data[:STDIN_LIMIT_BYTES]
    return data
