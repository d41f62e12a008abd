"""Printable, unique forms of file paths that may hold control characters or undecodable bytes.

Paths travel as bytes (POSIX file names are bytes) and are decoded with surrogateescape. Such a string
cannot be written as UTF-8, and a name with a newline would break any line-based output. A path that needs
it is shown quoted, C style, the way git quotes names: `"bad\\nname"`, `"caf\\xe9.txt"` (the byte 0xE9 of a
Latin-1 name), `"c1\\u0085"` (a real U+0085). A plain path never contains `"`, so every form is unique.
"""

from __future__ import annotations

import os
import re

_NEEDS_QUOTING = re.compile('["\\\\\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]')
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}


def display_path(raw: str) -> str:
    """The printable form of a path decoded with surrogateescape (os.fsdecode)."""
    if not _NEEDS_QUOTING.search(raw):
        return raw
    return '"' + _NEEDS_QUOTING.sub(_escape, raw) + '"'


def display_bytes(raw: bytes) -> str:
    return display_path(os.fsdecode(raw))


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _ESCAPES:
        return _ESCAPES[char]
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte, kept by surrogateescape
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x80:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"
