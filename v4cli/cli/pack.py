"""`v4 pack`: build the context only, and print it, its manifest or its token tree."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Optional

import typer

PATHS_HELP = "Directories, files or globs to pack (default: . unless stdin is piped); - reads stdin."


def pack_command(
    paths: Optional[List[str]] = typer.Argument(None, help=PATHS_HELP, show_default=False),
    budget: Optional[str] = typer.Option(
        None, "--budget", "-b", help="Token budget, e.g. 128k (default: the model's context minus room for the answer)."
    ),
    model: Optional[str] = typer.Option(None, "--model", "-m", help="Model whose context sets the default budget."),
    fmt: str = typer.Option("xml", "--format", "-f", help="xml, markdown, plain, or json (the manifest)."),
    tree: bool = typer.Option(False, "--tree", help="Print the file tree with token counts instead of the context."),
    question: Optional[str] = typer.Option(
        None, "--question", "-q", help="Rank files for this question when not everything fits the budget."
    ),
    explain: bool = typer.Option(
        False, "--explain", help="Print each file's tier (full, outline, path) and the scores behind it instead."
    ),
    ranking: str = typer.Option("v4", "--ranking", help="v4 (lexical + structure + cues) or bm25 (lexical only)."),
    include: List[str] = typer.Option([], "--include", "-i", help="Only files matching this glob (repeatable)."),
    exclude: List[str] = typer.Option([], "--exclude", "-e", help="Leave out files matching this glob (repeatable)."),
    max_file_size: str = typer.Option("1MB", "--max-file-size", help="Skip files larger than this (0: no limit)."),
    no_default_ignores: bool = typer.Option(False, "--no-default-ignores", help="Do not apply the built-in ignore list."),
    no_gitignore: bool = typer.Option(False, "--no-gitignore", help="Ignore .gitignore, .ignore and .v4ignore rules."),
    follow_symlinks: bool = typer.Option(False, "--follow-symlinks", help="Follow symlinks that leave the root."),
    no_redact: bool = typer.Option(False, "--no-redact", help="Keep secrets in the output (they are redacted by default)."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Do not read or write the token cache."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write to this file instead of stdout."),
) -> None:
    """Pack paths and/or stdin into one context within a token budget, deterministically."""
    from v4cli import units
    from v4cli.cli import inputs
    from v4cli.config import default_budget, resolve_model
    from v4cli.context.cache import Cache, default_cache_dir
    from v4cli.context.pack import Selection
    from v4cli.context.snapshot import pack_paths
    from v4cli.context.sources import SourceOptions
    from v4cli.render.progress import StderrProgress

    targets, stdin = inputs.paths_and_stdin(list(paths or []))
    if not targets and stdin is None:
        targets = ["."]
    tokens_budget = units.parse_count(budget) if budget else default_budget(resolve_model(model))
    options = SourceOptions(
        include=tuple(include),
        exclude=tuple(exclude),
        max_file_bytes=units.parse_size(max_file_size),
        follow_symlinks=follow_symlinks,
        default_ignores=not no_default_ignores,
        use_gitignore=not no_gitignore,
    )
    cache = Cache(None if no_cache else default_cache_dir())
    try:
        with StderrProgress() as progress:
            result = pack_paths(targets, options, stdin=stdin or None, budget=tokens_budget, fmt=fmt,
                                redact=not no_redact, cache=cache, progress=progress,
                                selection=Selection(question or None, ranking))
    finally:
        cache.close()

    if explain:
        _emit([result.explain()], output)
    elif tree:
        _emit([result.tree()], output)
    elif fmt == "json":
        import json

        _emit([json.dumps(result.manifest(), indent=2, ensure_ascii=False) + "\n"], output)
    else:
        _emit(result.parts, output)
    _summary(result)


def _emit(parts: List[str], output: Optional[Path]) -> None:
    """Write the product piece by piece to stdout or, atomically, to a file.

    Only a regular file (or a new one) is replaced atomically; anything else (/dev/null, a FIFO, a terminal, a
    symlink) is written to in place: renaming a temporary file onto it would replace the device or the link."""
    import stat

    from v4cli.errors import UsageError

    if output is None:
        _write(parts, sys.stdout.buffer)
        sys.stdout.buffer.flush()
        return
    try:
        special = output.is_symlink() or output.exists() and not stat.S_ISREG(output.stat().st_mode)
        if special:
            with open(output, "wb") as f:
                _write(parts, f)
            return
    except OSError as err:
        raise UsageError(f"cannot write {output}: {err.strerror}") from None
    partial = output.with_name(f".{output.name}.v4-partial")
    try:
        with open(partial, "wb") as f:
            _write(parts, f)
        partial.replace(output)
    except OSError as err:
        partial.unlink(missing_ok=True)
        raise UsageError(f"cannot write {output}: {err.strerror}") from None


def _write(parts, stream) -> None:
    if hasattr(parts, "write_utf8"):  # a stored context: its bytes are already what we would write
        parts.write_utf8(stream)
        return
    for part in parts:
        stream.write(part.encode("utf-8", "replace"))


def _summary(result) -> None:
    """One line on stderr for a person at a terminal; scripts get a quiet stderr."""
    if not sys.stderr.isatty():
        return
    by_status: dict[str, int] = {}
    for f in result.files:
        by_status[f.status] = by_status.get(f.status, 0) + 1
    parts = [f"{n} {status}" for status, n in sorted(by_status.items())]
    if result.skipped:
        parts.append(f"{len(result.skipped)} skipped")
    redacted = sum(len(f.redactions) for f in result.files if f.status != "omitted")
    if redacted:
        parts.append(f"{redacted} secrets redacted")
    sys.stderr.write(f"v4: {result.tokens:,} of {result.budget:,} tokens; files: {', '.join(parts) or 'none'}\n")
