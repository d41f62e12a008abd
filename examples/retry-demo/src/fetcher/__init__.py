"""fetcher: download URLs with retries."""

from fetcher.client import Client
from fetcher.policy import RetryPolicy

__all__ = ["Client", "RetryPolicy"]
