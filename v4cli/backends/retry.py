"""How long to wait before retrying an HTTP request: the server's Retry-After, or full-jitter backoff."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds asked for by a Retry-After header (a number of seconds or an HTTP date); None if absent or unreadable."""
    if not value or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # HTTP dates are GMT
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - (now or datetime.now(timezone.utc))).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None


def backoff_delay(attempt: int, base: float, cap: float, rng: Callable[[], float] = random.random) -> float:
    """Full jitter: uniform in [0, min(cap, base * 2**attempt)] for the attempt-th retry (0-based).

    Spreading retries over the whole window keeps many clients from hitting a recovering server in step.
    """
    return rng() * min(cap, base * 2.0 ** min(attempt, 62))
