"""`v4 convert`: a DeepSeek V4 safetensors checkpoint -> GGUF (thin layer over quant.convert)."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

import typer

from v4cli.errors import UsageError, V4Error

TYPE_HELP = ("mxfp4_moe (default: upstream llama.cpp's layout), q8_0, bf16, f16 (streamed), or a K-quant: "
             "q4_k_m, q4_k_s, q5_k_m, q6_k, q3_k_m, q2_k, ... (llama.cpp's quantizer, with the v4-safe recipe).")


def convert_command(
    src: Path = typer.Argument(..., help="Checkpoint directory (config.json, safetensors shards, tokenizer)."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Output GGUF, or a directory for SRC-TYPE.gguf (default: SRC-TYPE.gguf here)."),
    type_: Optional[str] = typer.Option(None, "--type", "-t", help=TYPE_HELP),
    recipe: Optional[str] = typer.Option(None, "--recipe", help="K-quant recipe: a TOML file or a shipped name (v4-q4_k_m, v4-q2_k, v4-safe)."),
    mtp: bool = typer.Option(False, "--mtp", help="Also write the MTP draft head as mtp-OUTPUT (llama.cpp's sidecar)."),
    split_max_size: Optional[str] = typer.Option(None, "--split-max-size", help="Split the output into files of at most this size, e.g. 50G."),
    threads: int = typer.Option(0, "--threads", help="Worker threads (default: all cores)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the plan (tensors, types, sizes) and write nothing."),
) -> None:
    """Convert a DeepSeek V4 safetensors checkpoint to a GGUF that llama.cpp runs."""
    from quant.convert import convert, plan_job
    from quant.errors import ConvertError
    from quant.safetensors_reader import Checkpoint

    from v4cli.units import parse_size

    max_bytes = parse_size(split_max_size) if split_max_size else 0
    default_name = f"{src.resolve().name}-{type_ or 'mxfp4_moe'}.gguf"
    out = output / default_name if output is not None and output.is_dir() else output or Path(default_name)
    try:
        if dry_run:
            with Checkpoint(src) as ckpt:
                job = plan_job(ckpt, out, type=type_, recipe=recipe, mtp=mtp, split_max_size=max_bytes)
            sys.stdout.write(_describe(job))
            return
        with _progress_bar() as progress:
            result = convert(src, out, type=type_, recipe=recipe, mtp=mtp, split_max_size=max_bytes,
                             threads=threads, progress=progress)
    except ConvertError as err:
        raise _to_cli_error(err) from None
    for path in result.outputs:
        sys.stdout.write(f"{path}\n")
    sys.stderr.write(f"v4: wrote {len(result.outputs)} file(s), {result.bytes_written / 1e9:.2f} GB "
                     f"in {result.seconds:.1f} s\n")


def _to_cli_error(err: Exception) -> V4Error:
    from quant.errors import BadCheckpoint, BadGGUF, BadRecipe, UnsupportedModel

    cls = UsageError if isinstance(err, (BadCheckpoint, UnsupportedModel, BadRecipe, BadGGUF)) else V4Error
    return cls(err.message, hint=err.hint)  # type: ignore[attr-defined]


def _describe(job) -> str:
    """The dry-run report: files, tensor counts and bytes by type."""
    lines = []
    stage = " (streamed as mxfp4_moe first)" if job.recipe is not None else ""
    for path, plan in job.plans:
        lines.append(f"{path}{stage}: {len(plan.tensors)} tensors, {plan.data_bytes / 1e9:.3f} GB of tensor data")
        for type_name, (count, size) in plan.bytes_by_type().items():
            lines.append(f"  {type_name:<8} {count:>6} tensors  {size / 1e9:10.3f} GB")
        if plan.skipped:
            lines.append(f"  not converted: {len(plan.skipped)} checkpoint tensors (e.g. {plan.skipped[0]})")
    files = job.shard_files()
    if len(files) > len(job.plans):
        lines.append(f"split into {len(files)} files:")
        lines += [f"  {p.name}  {size / 1e9:.3f} GB" for p, size in files]
    if job.recipe is not None:
        lines.append(f"then llama.cpp quantizes to {job.recipe.file_type.name} with recipe {job.recipe.name} "
                     f"({len(job.recipe.overrides)} tensor overrides)")
    lines.append(f"disk needed: {job.stream_bytes * (2 if job.recipe else 1) / 1e9:.3f} GB")
    return "\n".join(lines) + "\n"


@contextmanager
def _progress_bar() -> Iterator[object]:
    """A (stage, done, total) callback drawing bytes, speed and ETA on stderr when it is a terminal."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import (BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn,
                               TransferSpeedColumn)

    bar = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                   TimeRemainingColumn(), console=Console(stderr=True), transient=True)
    tasks: dict[str, int] = {}

    def update(stage: str, done: int, total: int) -> None:
        if stage not in tasks:
            tasks[stage] = bar.add_task(stage, total=total)
        bar.update(tasks[stage], completed=done, total=total)

    with bar:
        yield update
