"""`v4 ask`: pack paths and/or stdin, ask DeepSeek V4 (or a local / OpenAI-compatible model), stream the answer."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from v4cli.cli.pack import PATHS_HELP


def ask_command(
    args: List[str] = typer.Argument(..., help="[PATH...] QUESTION. " + PATHS_HELP, show_default=False),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Model name (see `v4 models`)."),
    backend: Optional[str] = typer.Option(None, "--backend", help="deepseek, openai (any OpenAI-compatible server) or local."),
    base_url: Optional[str] = typer.Option(None, "--base-url", help="OpenAI-compatible server URL (implies --backend openai)."),
    model_path: Optional[Path] = typer.Option(None, "--model-path", help="GGUF file for the local backend."),
    n_ctx: Optional[int] = typer.Option(None, "--n-ctx", help="Local backend: context size (default: the model's, capped)."),
    threads: Optional[int] = typer.Option(None, "--threads", help="Local backend: CPU threads."),
    gpu_layers: Optional[int] = typer.Option(None, "--gpu-layers", help="Local backend: layers to offload to the GPU."),
    rpc: Optional[str] = typer.Option(None, "--rpc", help="Local backend: llama.cpp RPC workers host:port,..."),
    budget: Optional[str] = typer.Option(None, "--budget", "-b", help="Token budget for the context, e.g. 128k."),
    thinking: Optional[str] = typer.Option(None, "--thinking", help="off, low, high or max (default: high)."),
    max_output: Optional[int] = typer.Option(None, "--max-output", help="Most tokens the answer may use."),
    system: Optional[str] = typer.Option(None, "--system", help="Replace the system instructions."),
    question_file: Optional[Path] = typer.Option(None, "--question-file", help="Read the question from a file."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would be sent and its estimated cost; send nothing."),
    max_cost: Optional[float] = typer.Option(None, "--max-cost", help="Refuse when the estimated cost in USD is higher."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object: answer, reasoning, usage, cost, files."),
    no_stream: bool = typer.Option(False, "--no-stream", help="Wait for the whole answer instead of streaming."),
    hide_reasoning: bool = typer.Option(False, "--hide-reasoning", help="Do not show the model's reasoning."),
    continue_: bool = typer.Option(False, "--continue", "-c", help="Continue the last conversation, same context."),
    include: List[str] = typer.Option([], "--include", "-i", help="Only files matching this glob (repeatable)."),
    exclude: List[str] = typer.Option([], "--exclude", "-e", help="Leave out files matching this glob (repeatable)."),
    no_redact: bool = typer.Option(False, "--no-redact", help="Send secrets unredacted (they are redacted by default)."),
) -> None:
    """Ask a question about paths and/or stdin: the packed context goes first, the question last."""
    from v4cli.cli.ask_flow import AskOptions, run_ask

    options = AskOptions(
        args=list(args), model=model, backend=backend, base_url=base_url, model_path=model_path, n_ctx=n_ctx,
        threads=threads, gpu_layers=gpu_layers, rpc=rpc, budget=budget, thinking=thinking, max_output=max_output,
        system=system, question_file=question_file, dry_run=dry_run, max_cost=max_cost, as_json=as_json,
        stream=not no_stream, show_reasoning=not hide_reasoning, continue_=continue_, include=tuple(include),
        exclude=tuple(exclude), redact=not no_redact,
    )
    raise typer.Exit(run_ask(options))
