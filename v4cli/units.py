"""Human-friendly sizes and counts on the command line and in the config: '1MB', '128k'."""

from __future__ import annotations

from v4cli.errors import UsageError

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
