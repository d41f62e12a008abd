"""The one backend protocol: a request in, an iterator of events out.

Renderers, `--json`, the log and `review` all consume the same events, whatever produced them (the
DeepSeek API, an OpenAI-compatible server, llama.cpp in-process). Backends know nothing about
repositories: they receive finished messages.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal, Protocol, Union

from v4cli.errors import V4Error

Thinking = Literal["off", "low", "high", "max"]


@dataclass(frozen=True)
class Message:
    role: Literal["system", "user", "assistant"]
    content: str


@dataclass(frozen=True)
class Request:
    messages: tuple[Message, ...]
    model: str
    max_output: int | None = None  # None: the backend's default
    thinking: Thinking = "high"  # "off" disables thinking; others set the reasoning effort
    temperature: float | None = None
    stream: bool = True


# Events ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReasoningDelta:
    """A piece of the chain of thought (DeepSeek's `reasoning_content`)."""

    text: str


@dataclass(frozen=True)
class TextDelta:
    """A piece of the answer."""

    text: str


@dataclass(frozen=True)
class Usage:
    input_tokens: int = 0
    cache_hit_tokens: int = 0  # part of input_tokens read from the prefix cache (API) or a restored KV state (local)
    cache_miss_tokens: int = 0
    output_tokens: int = 0  # includes reasoning tokens
    reasoning_tokens: int = 0


@dataclass(frozen=True)
class Notice:
    """Something the user should see on stderr that is not part of the answer (a retry, a fallback)."""

    text: str


@dataclass(frozen=True)
class Finish:
    reason: str  # "stop", "length", "content_filter", ... as reported by the backend
    model: str = ""  # the model that actually answered, when the backend says


Event = Union[ReasoningDelta, TextDelta, Usage, Notice, Finish]


class Backend(Protocol):
    name: str

    def stream(self, request: Request) -> Iterator[Event]:
        """Events for one request. Raises BackendError (or a subclass) on failure; a stream that breaks
        after some events raises StreamCut, so the caller keeps what already arrived."""
        ...


# Errors ------------------------------------------------------------------------------------------------


class BackendError(V4Error):
    """A backend failure the user can act on (exit 1)."""


class AuthError(BackendError):
    """401/403: missing or rejected key."""


class InsufficientBalance(BackendError):
    """402: the account has no balance left."""


class BadRequest(BackendError):
    """400/422: the request itself was refused (never retried)."""


class RateLimited(BackendError):
    """429 after the retries were used up."""


class ServerUnavailable(BackendError):
    """5xx, connection failures or timeouts after the retries were used up."""


@dataclass
class StreamCut(BackendError):
    """The stream broke after it had started; what arrived was already yielded as events."""

    message: str
    hint: str | None = None
    received_chars: int = 0
    details: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.message, self.hint)
