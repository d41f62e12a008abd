"""A tiny client that applies a RetryPolicy around a transport."""

from __future__ import annotations

import time
from collections.abc import Callable

from fetcher.policy import RetryPolicy

Transport = Callable[[str], tuple[int, bytes, dict]]


class FetchError(Exception):
    pass


class Client:
    def __init__(self, transport: Transport, policy: RetryPolicy | None = None, sleep=time.sleep) -> None:
        self.transport = transport
        self.policy = policy or RetryPolicy()
        self.sleep = sleep

    def get(self, url: str) -> bytes:
        attempt = 0
        while True:
            attempt += 1
            try:
                status, body, headers = self.transport(url)
            except ConnectionError:
                status, body, headers = None, b"", {}
            if status is not None and status < 400:
                return body
            if not self.policy.should_retry(attempt, status):
                raise FetchError(f"GET {url} failed with {status} after {attempt} attempts")
            retry_after = headers.get("Retry-After")
            self.sleep(self.policy.delay(attempt, float(retry_after) if retry_after else None))
