"""The HTTP backend against a real server on 127.0.0.1 that speaks the DeepSeek protocol and injects faults.

Backoff sleeps are recorded instead of slept; timeouts and deadlines run for real, with wide margins between
the gaps the server leaves and the limits the client sets.
"""

from __future__ import annotations

import socket
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from tests.backends.fake_server import (
    Answer,
    FakeDeepSeek,
    disconnect,
    drip,
    framing,
    json_reply,
    malformed,
    queued,
    silence,
    stall,
    status,
    stream_error,
    truncate,
    web_page,
)
from v4cli.backends.base import (
    AuthError,
    BackendError,
    BadRequest,
    Finish,
    InsufficientBalance,
    Message,
    Notice,
    RateLimited,
    ReasoningDelta,
    Request,
    ServerUnavailable,
    StreamCut,
    TextDelta,
    Usage,
)
from v4cli.backends.deepseek import OpenAICompatibleBackend, deepseek_backend, usage_from
from v4cli.backends.retry import backoff_delay, retry_after_seconds
from v4cli.backends.sse import iter_sse_data

KEY = "sk-test-5f1c9e0d2b7a4c68a1e3d9f07b2c6e54"
MESSAGES = (
    Message("system", "Answer from the context; cite path:line."),
    Message("user", "<context>main.py: def main(): ...</context>"),
    Message("assistant", "I have read the context."),
    Message("user", "Where is the entry point?"),
)


@pytest.fixture
def server():
    with FakeDeepSeek(api_key=KEY) as fake:
        yield fake


class Sleeps(list):
    """Stands in for time.sleep: records each backoff instead of waiting it out."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def backend(server: FakeDeepSeek, **kw) -> OpenAICompatibleBackend:
    kw.setdefault("sleep", Sleeps())
    return deepseek_backend(KEY, server.base_url, **kw)


def request(**kw) -> Request:
    return Request(messages=MESSAGES, model="deepseek-flash", **kw)


def collect(events) -> list:
    return list(events)


def text_of(events, kind=TextDelta) -> str:
    return "".join(e.text for e in events if isinstance(e, kind))


def run_until_error(events_iter) -> tuple[list, BaseException]:
    """The events that arrived before the error, and the error."""
    got = []
    with pytest.raises(BackendError) as info:
        for event in events_iter:
            got.append(event)
    return got, info.value


# A clean answer ------------------------------------------------------------------------------------------


def test_streamed_answer_maps_reasoning_text_usage_and_finish(server):
    events = collect(backend(server).stream(request()))
    answer = server.answer
    assert text_of(events, ReasoningDelta) == answer.reasoning
    assert text_of(events) == answer.text
    kinds = [type(e) for e in events]
    assert kinds.index(TextDelta) > max(i for i, k in enumerate(kinds) if k is ReasoningDelta)
    assert events[-2:] == [
        Usage(input_tokens=1200, cache_hit_tokens=1024, cache_miss_tokens=176, output_tokens=40, reasoning_tokens=12),
        Finish("stop", "deepseek-flash"),
    ]
    assert not any(isinstance(e, Notice) for e in events)


def test_request_body_and_headers(server):
    collect(backend(server).stream(request(max_output=2048, thinking="max", temperature=0.2)))
    (sent,) = server.chat_requests
    assert sent.body == {
        "model": "deepseek-flash",
        "messages": [{"role": m.role, "content": m.content} for m in MESSAGES],
        "stream": True,
        "stream_options": {"include_usage": True},
        "max_tokens": 2048,
        "temperature": 0.2,
        "thinking": {"type": "enabled"},
        "reasoning_effort": "max",
    }
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    assert sent.headers["accept"] == "text/event-stream"
    assert sent.headers["user-agent"].startswith("v4cli/")


@pytest.mark.parametrize("effort", ["low", "high"])
def test_thinking_effort_is_sent(server, effort):
    collect(backend(server).stream(request(thinking=effort)))
    body = server.chat_requests[0].body
    assert body["thinking"] == {"type": "enabled"} and body["reasoning_effort"] == effort
    assert "max_tokens" not in body and "temperature" not in body


def test_thinking_off_disables_it_and_no_reasoning_arrives(server):
    events = collect(backend(server).stream(request(thinking="off")))
    body = server.chat_requests[0].body
    assert body["thinking"] == {"type": "disabled"} and "reasoning_effort" not in body
    assert not any(isinstance(e, ReasoningDelta) for e in events)
    assert text_of(events) == server.answer.text
    assert [e for e in events if isinstance(e, Usage)][0].reasoning_tokens == 0


def test_openai_flavour_sends_no_thinking_params_and_reads_cached_tokens():
    answer = Answer(usage_style="openai", model="served-v4", prompt_tokens=5000, cache_hit_tokens=4096)
    with FakeDeepSeek(api_key=None, answer=answer) as server:
        openai = OpenAICompatibleBackend(server.base_url + "/", None, name="openai", sleep=Sleeps())
        events = collect(openai.stream(request(thinking="off")))
    body = server.chat_requests[0].body
    assert not {"thinking", "reasoning_effort"} & body.keys()
    assert "authorization" not in server.chat_requests[0].headers
    # The server still thinks (it was asked nothing); its reasoning_content is read all the same.
    assert text_of(events, ReasoningDelta) == answer.reasoning
    assert text_of(events) == answer.text
    assert Usage(5000, 4096, 904, 40, 12) in events
    assert events[-1] == Finish("stop", "served-v4")


def test_usage_from_deepseek_and_openai_fields():
    deepseek = {"prompt_tokens": 10, "prompt_cache_hit_tokens": 6, "prompt_cache_miss_tokens": 4,
                "completion_tokens": 7, "completion_tokens_details": {"reasoning_tokens": 3}}
    assert usage_from(deepseek) == Usage(10, 6, 4, 7, 3)
    assert usage_from({"prompt_tokens": 10, "prompt_tokens_details": {"cached_tokens": 8},
                       "completion_tokens": 2}) == Usage(10, 8, 2, 2, 0)
    assert usage_from({"prompt_tokens": 32, "completion_tokens": 8, "total_tokens": 40}) == Usage(32, 0, 32, 8, 0)


def test_non_streaming_gives_the_same_events(server):
    streamed = collect(backend(server).stream(request()))
    whole = collect(backend(server).stream(request(stream=False)))
    body = server.chat_requests[1].body
    assert body["stream"] is False and "stream_options" not in body
    assert text_of(whole, ReasoningDelta) == text_of(streamed, ReasoningDelta)
    assert text_of(whole) == text_of(streamed)
    assert whole[-2:] == streamed[-2:]  # usage, finish


def test_a_json_reply_to_a_streaming_request_is_read_whole(server):
    server.inject(json_reply())
    events = collect(backend(server).stream(request()))
    assert text_of(events, ReasoningDelta) == server.answer.reasoning and text_of(events) == server.answer.text
    assert events[-1] == Finish("stop", "deepseek-flash")


@pytest.mark.parametrize("stream", [True, False])
def test_a_web_page_instead_of_the_api(server, stream):
    server.inject(web_page())
    _, error = run_until_error(backend(server).stream(request(stream=stream)))
    assert "not a JSON object: <!doctype html>" in error.message and "--base-url" in error.hint
    assert len(server.chat_requests) == 1


def test_a_redirect_is_reported_not_followed(server):
    server.inject(status(308))
    _, error = run_until_error(backend(server).stream(request()))
    assert "redirects" in error.message and "(308)" in error.message and "--base-url" in error.hint
    assert len(server.chat_requests) == 1


def test_non_streaming_tolerates_blank_lines_while_queued(server):
    server.inject(queued(seconds=0.3, every=0.05))
    events = collect(backend(server).stream(request(stream=False)))
    assert text_of(events) == server.answer.text
    assert len(server.chat_requests) == 1


def test_list_models(server):
    assert backend(server).list_models() == ["deepseek-flash", "deepseek-pro"]
    assert server.requests[-1].method == "GET" and server.requests[-1].path == "/models"
    assert server.requests[-1].headers["authorization"] == f"Bearer {KEY}"


def test_list_models_with_a_bad_key_is_an_auth_error(server):
    with pytest.raises(AuthError):
        deepseek_backend("sk-wrong", server.base_url).list_models()


# Retries --------------------------------------------------------------------------------------------------


def test_429_honours_retry_after_seconds(server):
    server.inject(status(429, retry_after="7"))
    sleeps = Sleeps()
    events = collect(backend(server, sleep=sleeps).stream(request()))
    assert sleeps == [7.0]
    notices = [e.text for e in events if isinstance(e, Notice)]
    assert notices == ["retrying in 7.0s after 429 Too Many Requests (attempt 2 of 6)"]
    assert isinstance(events[0], Notice)  # announced before the wait, ahead of the answer
    assert text_of(events) == server.answer.text
    assert len(server.chat_requests) == 2


def test_retry_after_as_an_http_date(server):
    soon = datetime.now(timezone.utc) + timedelta(seconds=30)
    server.inject(status(503, retry_after=format_datetime(soon, usegmt=True)))
    sleeps = Sleeps()
    collect(backend(server, sleep=sleeps).stream(request()))
    assert len(sleeps) == 1 and 0 < sleeps[0] <= 30


def test_retry_after_beyond_the_cap_gives_up_at_once(server):
    server.inject(status(429, retry_after="3600"))
    sleeps = Sleeps()
    _, error = run_until_error(backend(server, sleep=sleeps).stream(request()))
    assert isinstance(error, RateLimited) and sleeps == []
    assert "after 1 attempt" in error.message


@pytest.mark.parametrize("code", [500, 502, 503, 504])
def test_server_errors_are_retried_with_capped_full_jitter(server, code):
    server.inject(status(code), status(code), status(code))
    sleeps = Sleeps()
    events = collect(backend(server, sleep=sleeps, backoff_base=0.5, backoff_cap=1.5).stream(request()))
    assert len(sleeps) == 3 and all(0 <= s <= cap for s, cap in zip(sleeps, [0.5, 1.0, 1.5]))
    assert [e.text.split(" after ")[1] for e in events if isinstance(e, Notice)][0].startswith(str(code))
    assert text_of(events) == server.answer.text
    assert len(server.chat_requests) == 4


def test_retries_used_up(server):
    server.inject(*[status(503)] * 3)
    sleeps = Sleeps()
    events, error = run_until_error(backend(server, sleep=sleeps, max_retries=2).stream(request()))
    assert isinstance(error, ServerUnavailable)
    assert "503" in error.message and "after 3 attempts" in error.message and "Server Overloaded" in error.message
    assert len(sleeps) == 2 and [type(e) for e in events] == [Notice, Notice]
    assert len(server.chat_requests) == 3


def test_rate_limit_used_up(server):
    server.inject(status(429), status(429))
    _, error = run_until_error(backend(server, max_retries=1).stream(request()))
    assert isinstance(error, RateLimited) and "429" in error.message


@pytest.mark.parametrize("code, kind, says", [
    (400, BadRequest, "messages must not be empty"),
    (401, AuthError, "set DEEPSEEK_API_KEY to a valid key"),
    (402, InsufficientBalance, "top up your balance at platform.deepseek.com"),
    (403, AuthError, "DEEPSEEK_API_KEY"),
    (404, BackendError, "--base-url"),
    (422, BadRequest, "max_tokens must be <= 393216"),
])
def test_client_errors_are_never_retried(server, code, kind, says):
    server.inject(status(code), status(code))
    sleeps = Sleeps()
    events, error = run_until_error(backend(server, sleep=sleeps).stream(request()))
    assert type(error) is kind
    assert says in f"{error.message} {error.hint}"
    assert str(code) in error.message
    assert events == [] and sleeps == [] and len(server.chat_requests) == 1


def test_openai_flavour_hints_name_its_key_variable_and_provider(server):
    other = OpenAICompatibleBackend(server.base_url, "sk-wrong", name="openai", key_env="VLLM_API_KEY")
    with pytest.raises(AuthError) as info:
        collect(other.stream(request()))
    assert info.value.hint == "set VLLM_API_KEY to a valid key"
    assert info.value.message.startswith(server.base_url.removeprefix("http://"))
    server.inject(status(402))
    with pytest.raises(InsufficientBalance) as info:
        collect(OpenAICompatibleBackend(server.base_url, KEY, name="openai").stream(request()))
    assert info.value.hint == "top up your balance with the provider"


def test_a_wrong_key_is_refused_by_the_server(server):
    with pytest.raises(AuthError) as info:
        collect(deepseek_backend("sk-not-the-right-one", server.base_url).stream(request()))
    assert "Authentication Fails" in info.value.message


def test_connection_refused_is_retried_then_reported():
    with socket.socket() as probe:  # a port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sleeps = Sleeps()
    dead = deepseek_backend(KEY, f"http://127.0.0.1:{port}", sleep=sleeps, max_retries=2)
    events, error = run_until_error(dead.stream(request()))
    assert isinstance(error, ServerUnavailable)
    assert f"cannot connect to 127.0.0.1:{port}" in error.message and "after 3 attempts" in error.message
    assert len(events) == 2 and len(sleeps) == 2


# Faults in the stream ------------------------------------------------------------------------------------


def test_keep_alives_count_as_activity(server):
    """Keep-alives for 2.5 s against an idle timeout of 1 s: each one resets it, so the request succeeds."""
    server.inject(queued(seconds=2.5, every=0.1))
    events = collect(backend(server, idle_timeout=1.0, max_retries=0).stream(request()))
    assert text_of(events) == server.answer.text
    assert len(server.chat_requests) == 1


def test_silence_before_the_first_byte_is_retried(server):
    server.inject(silence(30))
    sleeps = Sleeps()
    events = collect(backend(server, idle_timeout=0.5, sleep=sleeps).stream(request()))
    assert [e.text for e in events if isinstance(e, Notice)][0].endswith("after no data for 0.5s (attempt 2 of 6)")
    assert text_of(events) == server.answer.text
    assert len(server.chat_requests) == 2


def test_silence_with_no_retries_left(server):
    server.inject(silence(30))
    _, error = run_until_error(backend(server, idle_timeout=0.5, max_retries=0).stream(request()))
    assert isinstance(error, ServerUnavailable) and "no data for 0.5s" in error.message


def test_stall_mid_answer_is_a_stream_cut_that_keeps_the_partial_answer(server):
    deltas_of_reasoning = -(-len(server.answer.reasoning) // server.answer.chunk_chars)
    server.inject(stall(after=deltas_of_reasoning + 3, seconds=30))
    events, error = run_until_error(backend(server, idle_timeout=0.5).stream(request()))
    partial = text_of(events)
    assert partial == server.answer.text[: 3 * server.answer.chunk_chars]
    assert isinstance(error, StreamCut) and error.received_chars == len(partial)
    assert error.details["reasoning_chars"] == len(server.answer.reasoning)
    assert "no data for 0.5s" in error.message and "ask again" in error.hint
    assert len(server.chat_requests) == 1  # never retried once content was out


def test_disconnect_mid_stream_keeps_what_arrived(server):
    server.inject(disconnect(after=4))
    events, error = run_until_error(backend(server).stream(request(thinking="off")))
    assert isinstance(error, StreamCut)
    assert text_of(events) == server.answer.text[: 4 * server.answer.chunk_chars]
    assert error.received_chars == 4 * server.answer.chunk_chars
    assert "closed the connection" in error.message
    assert len(server.chat_requests) == 1


def test_disconnect_during_reasoning_is_a_stream_cut_too(server):
    server.inject(disconnect(after=2))
    events, error = run_until_error(backend(server).stream(request()))
    assert isinstance(error, StreamCut) and error.received_chars == 0
    assert "during the reasoning" in error.message
    assert text_of(events, ReasoningDelta) == server.answer.reasoning[: 2 * server.answer.chunk_chars]


def test_disconnect_before_any_content_is_retried(server):
    server.inject(disconnect(after=0))
    events = collect(backend(server).stream(request()))
    assert "closed the connection" in [e for e in events if isinstance(e, Notice)][0].text
    assert text_of(events) == server.answer.text


def test_non_streaming_disconnect_is_retried(server):
    server.inject(disconnect(after=0))
    events = collect(backend(server).stream(request(stream=False)))
    assert text_of(events) == server.answer.text and len(server.chat_requests) == 2


def test_stream_ending_without_finish_or_done_is_a_stream_cut(server):
    server.inject(truncate(after=3))
    events, error = run_until_error(backend(server).stream(request(thinking="off")))
    assert isinstance(error, StreamCut) and error.received_chars == len(text_of(events)) > 0
    assert "ended the stream before the answer was complete" in error.message


def test_malformed_line_is_skipped_with_a_notice(server):
    server.inject(malformed(after=5, line='data: {"choices": [{"delta": {"content": "tru'))
    events = collect(backend(server).stream(request()))
    notices = [e.text for e in events if isinstance(e, Notice)]
    assert len(notices) == 1 and notices[0].startswith("skipped a malformed event from DeepSeek: {\"choices\"")
    assert text_of(events) == server.answer.text and events[-1] == Finish("stop", "deepseek-flash")


def test_crlf_multiline_data_and_other_fields(server):
    server.inject(framing())
    events = collect(backend(server).stream(request()))
    assert text_of(events, ReasoningDelta) == server.answer.reasoning
    assert text_of(events) == server.answer.text
    assert not any(isinstance(e, Notice) for e in events)


def test_slow_drip_within_the_idle_timeout_completes(server):
    server.inject(drip(every=0.05))
    events = collect(backend(server, idle_timeout=2.0).stream(request(thinking="off")))
    assert text_of(events) == server.answer.text


def test_deadline_cuts_a_slow_drip(server):
    server.inject(drip(every=0.3))  # 13 deltas: about 4 s in all against a 1 s deadline
    events, error = run_until_error(backend(server, idle_timeout=5, deadline=1.0).stream(request(thinking="off")))
    partial = text_of(events)
    assert isinstance(error, StreamCut) and "deadline of 1s" in error.message
    assert server.answer.text.startswith(partial) and 0 < len(partial) < len(server.answer.text)
    assert error.received_chars == len(partial)


def test_deadline_while_queued_is_not_retried(server):
    server.inject(queued(seconds=30, every=0.1))
    events, error = run_until_error(backend(server, deadline=0.8).stream(request()))
    assert isinstance(error, ServerUnavailable) and "deadline of 0.8s" in error.message
    assert events == [] and len(server.chat_requests) == 1


def test_deadline_against_a_silent_server(server):
    server.inject(silence(30))
    _, error = run_until_error(backend(server, deadline=0.8).stream(request()))
    assert isinstance(error, ServerUnavailable) and "deadline of 0.8s" in error.message
    assert len(server.chat_requests) == 1


def test_error_event_mid_stream(server):
    server.inject(stream_error(after=12, message="CUDA out of memory"))
    events, error = run_until_error(backend(server).stream(request()))
    assert isinstance(error, StreamCut) and "CUDA out of memory" in error.message
    assert text_of(events) == server.answer.text[: 3 * server.answer.chunk_chars]


# The key never leaks -------------------------------------------------------------------------------------


def test_the_key_never_appears_in_errors_notices_or_reprs(server):
    hostile = f"invalid value for field 'max_tokens' (request by {KEY})"
    server.inject(status(503, message=f"overloaded, key {KEY}"), status(422, message=hostile))
    b = backend(server)
    events, error = run_until_error(b.stream(request()))
    seen = [repr(b), str(b), repr(error), str(error), error.message, str(error.hint), repr(error.__cause__)]
    seen += [repr(e) for e in events]
    assert isinstance(error, BadRequest) and "invalid value for field 'max_tokens'" in error.message
    assert all(KEY not in text for text in seen)
    # and the same for a stream cut
    server.inject(disconnect(after=2))
    _, cut = run_until_error(b.stream(request()))
    assert KEY not in repr(cut) and KEY not in str(cut)


# Pure helpers ---------------------------------------------------------------------------------------------


def test_sse_parser_rules():
    lines = [": keep-alive", "", "", "data: one", "", "event: message", "id: 7", "data:{\"a\":", "data:  1}", "",
             "retry: 100", "data: [DONE]"]
    assert list(iter_sse_data(lines)) == ["one", "{\"a\":\n 1}", "[DONE]"]
    assert list(iter_sse_data([": only comments", "", ":", ""])) == []


def test_retry_after_values():
    now = datetime(2026, 11, 29, 12, 0, 0, tzinfo=timezone.utc)
    assert retry_after_seconds("12", now) == 12.0
    assert retry_after_seconds(" 1.5 ", now) == 1.5
    assert retry_after_seconds("Sun, 29 Nov 2026 12:00:42 GMT", now) == 42.0
    assert retry_after_seconds("Sun, 29 Nov 2026 11:00:00 GMT", now) == 0.0  # already past
    assert retry_after_seconds("-3", now) == 0.0
    for unreadable in (None, "", "soon", "inf", "nan"):
        assert retry_after_seconds(unreadable, now) is None


def test_backoff_window_doubles_up_to_the_cap():
    assert [backoff_delay(n, 1.0, 10.0, rng=lambda: 1.0) for n in range(6)] == [1, 2, 4, 8, 10, 10]
    assert backoff_delay(3, 1.0, 10.0, rng=lambda: 0.5) == 4.0
    assert backoff_delay(10_000, 1.0, 60.0, rng=lambda: 1.0) == 60.0
