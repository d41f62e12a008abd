"""A real HTTP server on 127.0.0.1 that speaks the DeepSeek chat API, with faults injected on demand.

`POST /chat/completions` answers with server-sent events (`stream: true`) or one JSON document, with
`reasoning_content` unless thinking is disabled, and usage with DeepSeek's cache fields (or OpenAI's
`prompt_tokens_details.cached_tokens`). `GET /models` lists models. Every request is recorded so tests can assert
what was sent. Faults are consumed one per chat request, in the order injected; requests beyond them get a
clean answer:

    with FakeDeepSeek(api_key="sk-test") as server:
        server.inject(status(503), disconnect(after=3))
"""

from __future__ import annotations

import json
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Answer:
    """What a clean reply contains."""

    reasoning: str = "The question asks for the entry point; main.py defines main()."
    text: str = "The entry point is `main()` in main.py:1, called from the `__main__` guard at main.py:9."
    model: str = "deepseek-flash"
    finish_reason: str = "stop"
    prompt_tokens: int = 1200
    cache_hit_tokens: int = 1024
    completion_tokens: int = 40
    reasoning_tokens: int = 12
    usage_style: str = "deepseek"  # "deepseek": prompt_cache_hit/miss_tokens; "openai": prompt_tokens_details
    chunk_chars: int = 7  # characters per streamed delta


@dataclass(frozen=True)
class Fault:
    kind: str
    status: int = 0
    message: str = ""
    retry_after: str | None = None
    seconds: float = 0.0
    every: float = 0.0
    after: int = 0  # deltas sent before the fault takes effect
    line: str = ""


def status(code: int, message: str = "", retry_after: str | None = None) -> Fault:
    """An error status with DeepSeek's JSON error body."""
    return Fault("status", status=code, message=message or _REASONS.get(code, "error"), retry_after=retry_after)


def silence(seconds: float) -> Fault:
    """Nothing at all, not even headers, for `seconds`; then a clean answer."""
    return Fault("silence", seconds=seconds)


def queued(seconds: float, every: float) -> Fault:
    """Headers, then `: keep-alive` comments (streaming) or blank lines (not streaming) every `every` seconds
    for `seconds`, as DeepSeek does while a request waits in its queue; then a clean answer."""
    return Fault("queued", seconds=seconds, every=every)


def stall(after: int, seconds: float) -> Fault:
    """`after` deltas, then silence for `seconds`, then the rest."""
    return Fault("stall", after=after, seconds=seconds)


def disconnect(after: int) -> Fault:
    """`after` deltas (or, not streaming, half the JSON), then the socket is closed mid-body."""
    return Fault("disconnect", after=after)


def truncate(after: int) -> Fault:
    """`after` deltas, then a clean end of the body: no finish reason, no [DONE]."""
    return Fault("truncate", after=after)


def malformed(after: int, line: str = "data: {not json") -> Fault:
    """A raw line that is not a valid event, slipped in after `after` deltas."""
    return Fault("malformed", after=after, line=line)


def drip(every: float) -> Fault:
    """A pause of `every` seconds between deltas."""
    return Fault("drip", every=every)


def framing() -> Fault:
    """CRLF line endings, each event's JSON split over two `data:` lines, `event:`/`id:` fields mixed in."""
    return Fault("framing")


def web_page() -> Fault:
    """An HTML page with status 200, as from a base URL that points at a web UI instead of the API."""
    return Fault("web_page")


def json_reply() -> Fault:
    """One JSON document in answer to a streaming request, as some servers do."""
    return Fault("json_reply")


def stream_error(after: int, message: str) -> Fault:
    """An `{"error": ...}` event after `after` deltas (vLLM reports failures this way), then [DONE]."""
    return Fault("stream_error", after=after, message=message)


_REASONS = {
    400: "Invalid request: messages must not be empty",
    401: "Authentication Fails, Your api key is invalid",
    402: "Insufficient Balance",
    403: "Forbidden",
    404: "Not Found",
    422: "Invalid Parameters: max_tokens must be <= 393216",
    429: "Rate Limit Reached",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Server Overloaded",
    504: "Gateway Timeout",
}


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: dict | None


@dataclass
class FakeDeepSeek:
    api_key: str | None = None  # when set, requests without `Authorization: Bearer <api_key>` get 401
    answer: Answer = field(default_factory=Answer)
    models: tuple[str, ...] = ("deepseek-flash", "deepseek-pro")
    requests: list[Recorded] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._faults: list[Fault | tuple[Fault, ...]] = []
        self._lock = threading.Lock()
        self.stopping = threading.Event()
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.fake = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.02,), name="fake-deepseek",
                                        daemon=True)  # a short poll interval keeps shutdown (and teardown) quick

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def inject(self, *faults: Fault | tuple[Fault, ...]) -> None:
        """One entry per coming chat request; a tuple combines faults (e.g. framing and drip) in one reply."""
        with self._lock:
            self._faults.extend(faults)

    def next_faults(self) -> tuple[Fault, ...]:
        with self._lock:
            if not self._faults:
                return ()
            item = self._faults.pop(0)
        return item if isinstance(item, tuple) else (item,)

    @property
    def chat_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    def __enter__(self) -> FakeDeepSeek:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()  # wakes replies that are waiting out a stall or a drip
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    fake: FakeDeepSeek


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # each event goes out when written, as from a real streaming server
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # quiet; and a log must never hold a key
        pass

    def handle(self) -> None:
        try:
            super().handle()
        except (BrokenPipeError, ConnectionResetError, _Stopped):
            pass  # the client went away (a timeout it chose) or the server is shutting down

    # Routing ---------------------------------------------------------------------------------------

    def do_GET(self) -> None:
        fake = self._record(None)
        if not self._authorized(fake):
            return
        if self.path.rstrip("/").endswith("/models"):
            data = [{"id": m, "object": "model", "owned_by": "deepseek"} for m in fake.models]
            self._send_json(200, {"object": "list", "data": data})
        else:
            self._send_error(404, "Not Found")

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length)
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        fake = self._record(body)
        if not self._authorized(fake):
            return
        if not self.path.endswith("/chat/completions"):
            self._send_error(404, "Not Found")
            return
        if not isinstance(body, dict) or not body.get("messages"):
            self._send_error(400, _REASONS[400])
            return
        faults = {f.kind: f for f in fake.next_faults()}
        if "status" in faults:
            f = faults["status"]
            self._send_error(f.status, f.message, f.retry_after)
            return
        if "web_page" in faults:
            page = b"<!doctype html><html><body>Chat UI</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)
            return
        if "silence" in faults:
            self._wait(faults["silence"].seconds)
        thinking = (body.get("thinking") or {}).get("type") != "disabled"
        if body.get("stream") and "json_reply" not in faults:
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            self._stream(fake.answer, thinking, include_usage, faults)
        else:
            self._whole(fake.answer, thinking, faults)

    # Replies ---------------------------------------------------------------------------------------

    def _stream(self, answer: Answer, thinking: bool, include_usage: bool, faults: dict[str, Fault]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        newline = "\r\n" if "framing" in faults else "\n"
        if "queued" in faults:
            self._keep_alive(f": keep-alive{newline}{newline}", faults["queued"])

        deltas = [("reasoning_content", piece) for piece in _pieces(answer.reasoning if thinking else "",
                                                                     answer.chunk_chars)]
        deltas += [("content", piece) for piece in _pieces(answer.text, answer.chunk_chars)]
        base = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1795000000,
                "model": answer.model}

        def event(payload: dict) -> None:
            data = json.dumps(payload)
            if "framing" in faults:
                # One JSON document over two data lines is still one event (joined by a newline: whitespace).
                middle = max(data.find(', "choices"'), data.find(', "error"')) + 1
                text = f"event: message{newline}id: 1{newline}data: {data[:middle]}{newline}data:{data[middle:]}"
            else:
                text = f"data: {data}"
            self._chunk(text + newline + newline)

        event({**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""},
                                    "finish_reason": None}]})
        for sent, (kind, piece) in enumerate(deltas):
            for name in ("disconnect", "truncate", "stall", "malformed", "stream_error"):
                fault = faults.get(name)
                if fault is None or fault.after != sent:
                    continue
                if name == "disconnect":
                    self._disconnect()
                if name == "truncate":
                    self._end()
                    return
                if name == "stall":
                    self._wait(fault.seconds)
                if name == "malformed":
                    self._chunk(fault.line + newline + newline)
                if name == "stream_error":
                    event({"error": {"message": fault.message, "type": "server_error", "code": 500}})
                    self._chunk(f"data: [DONE]{newline}{newline}")
                    self._end()
                    return
            if "drip" in faults and sent:
                self._wait(faults["drip"].every)
            event({**base, "choices": [{"index": 0, "delta": {kind: piece}, "finish_reason": None}]})
        event({**base, "choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": answer.finish_reason}]})
        if include_usage:
            event({**base, "choices": [], "usage": _usage(answer, thinking)})
        self._chunk(f"data: [DONE]{newline}{newline}")
        self._end()

    def _whole(self, answer: Answer, thinking: bool, faults: dict[str, Fault]) -> None:
        message = {"role": "assistant", "content": answer.text}
        if thinking:
            message["reasoning_content"] = answer.reasoning
        payload = json.dumps({
            "id": "chatcmpl-fake", "object": "chat.completion", "created": 1795000000, "model": answer.model,
            "choices": [{"index": 0, "message": message, "finish_reason": answer.finish_reason}],
            "usage": _usage(answer, thinking),
        }).encode()
        if not faults.keys() & {"queued", "disconnect"}:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        if "queued" in faults:
            self._keep_alive("\n", faults["queued"])
        if "disconnect" in faults:
            self._chunk(payload[: len(payload) // 2].decode())
            self._disconnect()
        self._chunk(payload.decode())
        self._end()

    # Plumbing --------------------------------------------------------------------------------------

    def _record(self, body: dict | None) -> FakeDeepSeek:
        fake = self.server.fake
        fake.requests.append(Recorded(self.command, self.path, {k.lower(): v for k, v in self.headers.items()},
                                      body))
        return fake

    def _authorized(self, fake: FakeDeepSeek) -> bool:
        if fake.api_key is None or self.headers.get("authorization") == f"Bearer {fake.api_key}":
            return True
        self._send_error(401, _REASONS[401])
        return False

    def _send_json(self, code: int, payload: dict, extra: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _send_error(self, code: int, message: str, retry_after: str | None = None) -> None:
        error = {"error": {"message": message, "type": "invalid_request_error", "param": None, "code": code}}
        self._send_json(code, error, {"Retry-After": retry_after} if retry_after is not None else None)

    def _keep_alive(self, text: str, fault: Fault) -> None:
        for _ in range(max(1, round(fault.seconds / fault.every))):
            self._wait(fault.every)
            self._chunk(text)

    def _chunk(self, text: str) -> None:
        data = text.encode()
        self.wfile.write(b"%X\r\n%s\r\n" % (len(data), data))

    def _end(self) -> None:
        self.wfile.write(b"0\r\n\r\n")

    def _disconnect(self) -> None:
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_RDWR)
        raise _Stopped

    def _wait(self, seconds: float) -> None:
        if self.server.fake.stopping.wait(seconds):
            raise _Stopped


class _Stopped(Exception):
    """Ends a reply early: the server is shutting down, or a fault closed the connection."""


def _pieces(text: str, size: int) -> list[str]:
    return [text[i: i + size] for i in range(0, len(text), size)]


def _usage(answer: Answer, thinking: bool) -> dict:
    usage = {
        "prompt_tokens": answer.prompt_tokens,
        "completion_tokens": answer.completion_tokens,
        "total_tokens": answer.prompt_tokens + answer.completion_tokens,
        "completion_tokens_details": {"reasoning_tokens": answer.reasoning_tokens if thinking else 0},
    }
    if answer.usage_style == "deepseek":
        usage["prompt_cache_hit_tokens"] = answer.cache_hit_tokens
        usage["prompt_cache_miss_tokens"] = answer.prompt_tokens - answer.cache_hit_tokens
    else:
        usage["prompt_tokens_details"] = {"cached_tokens": answer.cache_hit_tokens}
    return usage
