"""When to retry a failed request, and how long to wait before the next attempt."""

from __future__ import annotations

import random
from dataclasses import dataclass

RETRYABLE_STATUS = {429, 500, 502, 503, 504}


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0

    def should_retry(self, attempt: int, status: int | None) -> bool:
        """attempt counts from 1; status is None when the connection failed."""
        if attempt > self.max_attempts:
            return False
        return status is None or status in RETRYABLE_STATUS

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        if retry_after is not None:
            return retry_after
        backoff = self.base_delay * 2 ** attempt
        return min(self.max_delay, backoff) * random.uniform(0.5, 1.0)
