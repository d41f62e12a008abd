"""Paths and stdin as commands that read them (pack, ask, review) take them."""

from __future__ import annotations

import os
import stat
import sys


STDIN_LIMIT_BYTES = 256 * 1024 * 1024  # far beyond any context; keeps a runaway pipe from eating memory


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
