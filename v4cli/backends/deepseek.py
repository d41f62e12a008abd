"""The DeepSeek API and any OpenAI-compatible server (llama.cpp's llama-server, vLLM, SGLang) over HTTP.

One POST /chat/completions per attempt, read as server-sent events when streaming. Failures before any part of
the answer was yielded (connection errors, timeouts, 429, 5xx) are retried with full-jitter backoff, announced
by a Notice; once a piece of answer has been yielded nothing is retried: a break raises StreamCut and the
caller keeps what arrived. The API key lives only in the Authorization header: never in a message or repr.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from v4cli import __version__
from v4cli.backends.base import (
    AuthError,
    BackendError,
    BadRequest,
    Event,
    Finish,
    InsufficientBalance,
    Notice,
    RateLimited,
    ReasoningDelta,
    Request,
    ServerUnavailable,
    StreamCut,
    TextDelta,
    Usage,
)
from v4cli.backends.retry import backoff_delay, retry_after_seconds
from v4cli.backends.sse import iter_sse_data

DEEPSEEK_URL = "https://api.deepseek.com"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class OpenAICompatibleBackend:
    """`stream()` and `list_models()` against one server; `name` picks the flavour ("deepseek" sends the
    thinking parameters, "openai" sends only what every OpenAI-compatible server accepts)."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        *,
        name: str = "deepseek",
        key_env: str | None = None,
        connect_timeout: float = 10,
        idle_timeout: float = 300,
        deadline: float | None = None,
        max_retries: int = 5,
        backoff_base: float = 1.0,
        backoff_cap: float = 60.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.key_env = key_env or ("DEEPSEEK_API_KEY" if name == "deepseek" else "OPENAI_API_KEY")
        self.connect_timeout = connect_timeout
        self.idle_timeout = idle_timeout
        self.deadline = deadline
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self._api_key = api_key or None
        self._transport = transport
        self._sleep = sleep

    def __repr__(self) -> str:
        return f"OpenAICompatibleBackend(name={self.name!r}, base_url={self.base_url!r})"

    # Public surface -------------------------------------------------------------------------------------

    def stream(self, request: Request) -> Iterator[Event]:
        body = self._body(request)
        clock = _Clock(self.deadline, self.idle_timeout)
        with self._client() as client:
            send = self._streamed if request.stream else self._whole
            yield from self._retrying(lambda progress: send(client, body, clock, progress), clock)

    def list_models(self) -> list[str]:
        """Model ids from GET /models (retried like a chat request; the notices are not shown)."""
        clock = _Clock(self.deadline, self.idle_timeout)
        found: list[str] = []

        def attempt(progress: _Progress) -> Iterator[Event]:
            payload = self._read_json(client, "GET", "/models", None, clock, progress)
            found[:] = [m["id"] for m in payload.get("data") or [] if isinstance(m, dict) and "id" in m]
            return iter(())

        with self._client() as client:
            for _ in self._retrying(attempt, clock):
                pass
        return found

    # Request ------------------------------------------------------------------------------------------

    def _body(self, request: Request) -> dict:
        body: dict = {
            "model": request.model,
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
            "stream": request.stream,
        }
        if request.stream:
            body["stream_options"] = {"include_usage": True}
        if request.max_output is not None:
            body["max_tokens"] = request.max_output
        if request.temperature is not None:
            body["temperature"] = request.temperature
        if self.name == "deepseek":
            if request.thinking == "off":
                body["thinking"] = {"type": "disabled"}
            else:
                body["thinking"] = {"type": "enabled"}
                body["reasoning_effort"] = request.thinking
        return body

    def _client(self) -> httpx.Client:
        headers = {"User-Agent": f"v4cli/{__version__}"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        return httpx.Client(
            base_url=self.base_url,
            headers=headers,
            transport=self._transport,
            # Plain http (a local llama-server, a cluster behind a tunnel) needs no CA bundle: skipping its load
            # saves ~30 ms per command. Redirects are not followed, so this never weakens an https connection.
            verify=urlsplit(self.base_url).scheme != "http",
            timeout=httpx.Timeout(self.idle_timeout, connect=self.connect_timeout),
        )

    # Retries ------------------------------------------------------------------------------------------

    def _retrying(self, attempt: Callable[[_Progress], Iterator[Event]], clock: _Clock) -> Iterator[Event]:
        for number in itertools.count():
            try:
                yield from attempt(_Progress())
                return
            except _Transient as failure:
                attempts = number + 1
                if number >= self.max_retries:
                    raise self._give_up(failure, attempts) from failure.__cause__
                delay = failure.retry_after
                if delay is None:
                    delay = backoff_delay(number, self.backoff_base, self.backoff_cap)
                if delay > self.backoff_cap or not clock.has_time_for(delay):
                    raise self._give_up(failure, attempts) from failure.__cause__
                yield Notice(f"retrying in {delay:.1f}s after {failure.reason} "
                             f"(attempt {attempts + 1} of {self.max_retries + 1})")
                self._sleep(delay)

    def _give_up(self, failure: _Transient, attempts: int) -> BackendError:
        tries = f"after {attempts} attempt{'s' if attempts > 1 else ''}"
        if failure.status == 429:
            return RateLimited(f"{self._who} is rate limiting requests (429) {tries}{failure.detail}",
                               "wait a minute and ask again")
        return ServerUnavailable(f"{self._who} is unavailable: {failure.reason} {tries}{failure.detail}",
                                 "try again later, or raise the timeouts if the server is slow to start answering")

    @property
    def _who(self) -> str:
        return "DeepSeek" if self.name == "deepseek" else urlsplit(self.base_url).netloc or self.base_url

    # One attempt --------------------------------------------------------------------------------------

    def _streamed(self, client: httpx.Client, body: dict, clock: _Clock, progress: _Progress) -> Iterator[Event]:
        state = _StreamState()
        try:
            with client.stream("POST", "/chat/completions", json=body, timeout=clock.timeout(client),
                               headers={"Accept": "text/event-stream"}) as response:
                self._check_status(response)
                if "event-stream" not in response.headers.get("content-type", ""):
                    # Some servers answer a streaming request with one JSON document (errors especially).
                    yield from progress.track(self._completion_events(self._json(response, clock, progress)))
                    return
                lines = clock.watch(response.iter_lines(), progress, self._who)
                for data in iter_sse_data(lines):
                    if data.strip() == "[DONE]":
                        state.done = True
                        break
                    try:
                        chunk = json.loads(data)
                    except ValueError:
                        yield Notice(f"skipped a malformed event from {self._who}: {_clip(self._scrub(data))}")
                        continue
                    yield from progress.track(self._chunk_events(chunk, state, progress))
        except httpx.TransportError as exc:
            # A server that drops the connection after the finish reason instead of sending [DONE] loses
            # nothing but, perhaps, the usage.
            if not state.finish_reason:
                raise self._transport_failure(exc, clock, progress) from exc
        if not state.done and not state.finish_reason:
            reason = "the server ended the stream before the answer was complete"
            if progress.started:
                raise progress.cut(reason)
            raise _Transient(reason)
        yield Finish(state.finish_reason or "unknown", state.model)

    def _whole(self, client: httpx.Client, body: dict, clock: _Clock, progress: _Progress) -> Iterator[Event]:
        payload = self._read_json(client, "POST", "/chat/completions", body, clock, progress)
        yield from progress.track(self._completion_events(payload))

    def _read_json(self, client: httpx.Client, method: str, path: str, body: dict | None, clock: _Clock,
                   progress: _Progress) -> dict:
        try:
            with client.stream(method, path, json=body, timeout=clock.timeout(client)) as response:
                self._check_status(response)
                return self._json(response, clock, progress)
        except httpx.TransportError as exc:
            raise self._transport_failure(exc, clock, progress) from exc

    def _json(self, response: httpx.Response, clock: _Clock, progress: _Progress) -> dict:
        """The whole body as JSON, read piece by piece so that the deadline is checked while the server sends
        blank lines (DeepSeek's keep-alive for non-streaming requests, hence the strip)."""
        raw = b"".join(clock.watch(response.iter_bytes(), progress, self._who)).strip()
        if not raw:
            raise _Transient("the server sent an empty response")
        try:
            payload = json.loads(raw)
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            shown = _clip(self._scrub(raw.decode(errors="replace")))
            raise BackendError(f"{self._who} sent a response that is not a JSON object: {shown}",
                               "check --base-url: it should point at an OpenAI-compatible API (often ending in /v1)")
        return payload

    # Mapping the protocol to events ---------------------------------------------------------------------

    def _chunk_events(self, chunk: dict, state: _StreamState, progress: _Progress) -> Iterator[Event]:
        if chunk.get("error"):
            message = f"{self._who} reported an error: {self._error_text(chunk)}"
            raise progress.cut(message) if progress.started else BackendError(message)
        state.model = chunk.get("model") or state.model
        for choice in chunk.get("choices") or []:
            if choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            reasoning = delta.get("reasoning_content") or delta.get("reasoning")
            if reasoning:
                yield ReasoningDelta(reasoning)
            if delta.get("content"):
                yield TextDelta(delta["content"])
            state.finish_reason = choice.get("finish_reason") or state.finish_reason
        if chunk.get("usage"):
            yield usage_from(chunk["usage"])

    def _completion_events(self, payload: dict) -> Iterator[Event]:
        if payload.get("error"):
            raise BackendError(f"{self._who} reported an error: {self._error_text(payload)}")
        choices = payload.get("choices") or [{}]
        message = choices[0].get("message") or {}
        reasoning = message.get("reasoning_content") or message.get("reasoning")
        if reasoning:
            yield ReasoningDelta(reasoning)
        if message.get("content"):
            yield TextDelta(message["content"])
        if payload.get("usage"):
            yield usage_from(payload["usage"])
        yield Finish(choices[0].get("finish_reason") or "unknown", payload.get("model") or "")

    # Failures -----------------------------------------------------------------------------------------

    def _check_status(self, response: httpx.Response) -> None:
        status = response.status_code
        if status < 300:
            return
        if status < 400:
            where = response.headers.get("location", "another address")
            raise BackendError(f"{self._who} redirects to {where} ({status})", "use that address as --base-url")
        response.read()
        detail = self._error_text(_safe_json(response.content) or response.text)
        said = f": {detail}" if detail else ""
        if status in RETRY_STATUSES:
            raise _Transient(f"{status} {response.reason_phrase}".strip(),
                             retry_after_seconds(response.headers.get("retry-after")), status, said)
        if status == 401:
            raise AuthError(f"{self._who} rejected the API key (401){said}", f"set {self.key_env} to a valid key")
        if status == 403:
            raise AuthError(f"{self._who} refused access (403){said}",
                            f"check that the key in {self.key_env} may use this model")
        if status == 402:
            where = "at platform.deepseek.com" if self.name == "deepseek" else "with the provider"
            raise InsufficientBalance(f"{self._who}: insufficient balance (402){said}", f"top up your balance {where}")
        if status == 404:
            raise BackendError(f"{self._who} has no {response.request.url.path} (404){said}",
                               "check --base-url (OpenAI-compatible servers usually end in /v1) and the model name")
        if status in (400, 422):
            raise BadRequest(f"{self._who} refused the request ({status}){said}",
                             "check the model name and the options (max output, thinking, temperature)")
        raise BackendError(f"{self._who} answered {status} {response.reason_phrase}{said}")

    def _transport_failure(self, exc: httpx.TransportError, clock: _Clock, progress: _Progress) -> Exception:
        timed_out = isinstance(exc, httpx.TimeoutException) and not isinstance(exc, httpx.ConnectTimeout)
        if clock.expired() or (timed_out and clock.read_clipped):
            return clock.deadline_error(progress, self._who)
        if isinstance(exc, httpx.ConnectTimeout):
            reason = f"no connection within {self.connect_timeout:g}s"
        elif isinstance(exc, httpx.ConnectError):
            reason = f"cannot connect to {urlsplit(self.base_url).netloc or self.base_url}"
        elif isinstance(exc, httpx.TimeoutException):
            reason = f"no data for {self.idle_timeout:g}s"
        elif isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError)):  # an early end, or a reset
            reason = "the server closed the connection"
        else:
            reason = f"network error ({type(exc).__name__})"
        if progress.started:
            return progress.cut(reason)
        return _Transient(reason)

    def _error_text(self, payload: object) -> str:
        """The server's own explanation (DeepSeek/OpenAI `error.message`, FastAPI `detail`), one line, no key."""
        text: object = payload
        if isinstance(payload, dict):
            text = payload.get("error") or payload.get("detail") or payload.get("message") or ""
            if isinstance(text, dict):
                text = text.get("message") or text
        if not isinstance(text, str):
            text = json.dumps(text)
        return _clip(self._scrub(text), 300)

    def _scrub(self, text: str) -> str:
        return text.replace(self._api_key, "***") if self._api_key else text


def deepseek_backend(api_key: str, base_url: str = DEEPSEEK_URL, **kw) -> OpenAICompatibleBackend:
    return OpenAICompatibleBackend(base_url, api_key, name="deepseek", key_env="DEEPSEEK_API_KEY", **kw)


def usage_from(usage: dict) -> Usage:
    """DeepSeek's prompt_cache_hit/miss_tokens, or OpenAI's prompt_tokens_details.cached_tokens (vLLM, SGLang)."""
    prompt = int(usage.get("prompt_tokens") or 0)
    hit = usage.get("prompt_cache_hit_tokens")
    if hit is None:
        hit = (usage.get("prompt_tokens_details") or {}).get("cached_tokens")
    hit = int(hit or 0)
    miss = usage.get("prompt_cache_miss_tokens")
    return Usage(
        input_tokens=prompt,
        cache_hit_tokens=hit,
        cache_miss_tokens=int(miss) if miss is not None else max(0, prompt - hit),
        output_tokens=int(usage.get("completion_tokens") or 0),
        reasoning_tokens=int((usage.get("completion_tokens_details") or {}).get("reasoning_tokens") or 0),
    )


# Internals ----------------------------------------------------------------------------------------------


class _Transient(Exception):
    """A failure before anything was yielded that another attempt may not meet."""

    def __init__(self, reason: str, retry_after: float | None = None, status: int | None = None,
                 detail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.status = status
        self.detail = detail


@dataclass
class _StreamState:
    model: str = ""
    finish_reason: str = ""
    done: bool = False


class _Progress:
    """What one attempt has yielded: once a piece of answer is out, failures become StreamCut, not retries."""

    def __init__(self) -> None:
        self.text_chars = 0
        self.reasoning_chars = 0

    @property
    def started(self) -> bool:
        return bool(self.text_chars or self.reasoning_chars)

    def track(self, events: Iterable[Event]) -> Iterator[Event]:
        for event in events:
            if isinstance(event, TextDelta):
                self.text_chars += len(event.text)
            elif isinstance(event, ReasoningDelta):
                self.reasoning_chars += len(event.text)
            yield event

    def cut(self, reason: str) -> StreamCut:
        where = f"after {self.text_chars} characters" if self.text_chars else "during the reasoning"
        return StreamCut(
            f"the answer was cut off {where}: {reason}",
            "what arrived is shown above; ask again to get the whole answer",
            received_chars=self.text_chars,
            details={"reasoning_chars": self.reasoning_chars, "reason": reason},
        )


class _Clock:
    """The absolute deadline over a whole request (all attempts and waits), checked on every line read."""

    def __init__(self, deadline: float | None, idle_timeout: float) -> None:
        self.deadline = deadline
        self.idle_timeout = idle_timeout
        self.ends_at = time.monotonic() + deadline if deadline is not None else None
        self.read_clipped = False  # the last read timeout was shortened to end at the deadline

    def remaining(self) -> float | None:
        return None if self.ends_at is None else self.ends_at - time.monotonic()

    def expired(self) -> bool:
        remaining = self.remaining()
        return remaining is not None and remaining <= 0

    def has_time_for(self, seconds: float) -> bool:
        remaining = self.remaining()
        return remaining is None or seconds < remaining

    def timeout(self, client: httpx.Client) -> httpx.Timeout:
        """The client's timeouts with reads cut short so that a silent server cannot outlive the deadline."""
        remaining = self.remaining()
        self.read_clipped = remaining is not None and remaining < self.idle_timeout
        if remaining is None:
            return client.timeout
        read = max(0.001, min(self.idle_timeout, remaining))
        return httpx.Timeout(read, connect=max(0.001, min(client.timeout.connect or remaining, remaining)))

    def watch(self, pieces: Iterator, progress: _Progress, who: str) -> Iterator:
        for piece in pieces:
            if self.expired():
                raise self.deadline_error(progress, who)
            yield piece

    def deadline_error(self, progress: _Progress, who: str) -> BackendError:
        reason = f"no complete answer within the deadline of {self.deadline:g}s"
        if progress.started:
            return progress.cut(reason)
        return ServerUnavailable(f"{who}: {reason}", "raise the deadline, or try again when the server is less busy")


def _safe_json(raw: bytes) -> object:
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _clip(text: str, limit: int = 80) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 3] + "..."
