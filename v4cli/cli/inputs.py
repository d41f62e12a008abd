"""Paths and stdin as commands that read them (pack, ask, review) take them."""

from __future__ import annotations

import os
import stat
import sys


STDIN_LIMIT_BYTES = 256 * 1024 * 1024  # far beyond any context; keeps a runaway pipe from eating memory


def paths_and_stdin(args: list[str]) -> tuple[list[str], bytes | None]:
    """Paths without `-`, and stdin's bytes when `-` asks for them or stdin is piped.

    An empty pipe counts as no stdin (scripts and CI often run with one), unless `-` asked for it explicitly;
    the caller defaults to `.` only when it gets neither paths nor stdin."""
    paths = [a for a in args if a != "-"]
    asked = len(paths) < len(args)
    if not (asked or piped_stdin()):
        return paths, None
    data = read_stdin()
    return paths, data if data or asked else None


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
