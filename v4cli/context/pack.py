"""Pack documents into one context that never exceeds a token budget, with a manifest of every decision.

Stages: collect (sources) → prepare (redact + count, cached) → select (fit; replaceable) → render.
The rendering is built from parts whose token counts add up exactly (see `_block_tokens`), so the
total is known without counting the whole context again, and it is written out without being joined.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from v4cli.context import formats
from v4cli.context.cache import Cache
from v4cli.context.prepare import Prepared, Progress, count_cached, prepare
from v4cli.context.select import select_within
from v4cli.context.sources import Collection, Skipped
from v4cli.errors import UsageError

STDIN_NAME = "<stdin>"
_MAX_FIT_ROUNDS = 12


@dataclass(frozen=True, slots=True)
class FileEntry:
    """One candidate document and what happened to it."""

    path: str
    language: str
    bytes: int
    tokens: int  # of the whole (redacted) text
    status: str  # "full" | "truncated" | "omitted"
    reason: str  # why it is not full: "over-budget", "truncated-to-fit"; "" when full
    tokens_shown: int
    flags: tuple[str, ...]
    redactions: tuple  # of secrets.Redaction


@dataclass
class PackResult:
    parts: Iterable[str]  # the rendered context in pieces (none for the json format, a manifest only)
    tokens: int  # exact token count of the rendered context
    budget: int
    format: str
    files: list[FileEntry]
    skipped: list[Skipped] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def tree(self) -> str:
        """The file tree with token counts, every candidate and skip marked with what happened to it."""
        rows = [(f.path, f.tokens, "" if f.status == "full" else f"{f.status}: {f.reason}") for f in self.files]
        rows += [(s.path, 0, f"skipped: {s.reason}") for s in self.skipped]
        return formats.render_tree(rows)

    def manifest(self) -> dict:
        status_counts: dict[str, int] = {}
        for f in self.files:
            status_counts[f.status] = status_counts.get(f.status, 0) + 1
        return {
            "manifest_version": 1,
            "context_format": "xml" if self.format == "json" else self.format,
            "budget": self.budget,
            "tokens": self.tokens,
            "files_total": len(self.files),
            "files_by_status": dict(sorted(status_counts.items())),
            "files_skipped": len(self.skipped),
            "files": [
                {
                    "path": f.path,
                    "language": f.language,
                    "bytes": f.bytes,
                    "tokens": f.tokens,
                    "tokens_shown": f.tokens_shown,
                    "status": f.status,
                    "reason": f.reason,
                    "flags": list(f.flags),
                    "redactions": [{"line": r.line, "kind": r.kind} for r in f.redactions],
                }
                for f in self.files
            ],
            "skipped": [{"path": s.path, "reason": s.reason, "detail": s.detail} for s in self.skipped],
        }


def pack(
    collection: Collection,
    *,
    budget: int,
    fmt: str = "xml",
    redact: bool = True,
    cache: Cache | None = None,
    progress: Progress | None = None,
) -> PackResult:
    if fmt not in formats.FORMATS:
        raise UsageError(f"unknown format {fmt!r}", hint=f"choose one of: {', '.join(formats.FORMATS)}")
    if budget <= 0:
        raise UsageError(f"budget must be a positive number of tokens, got {budget}")
    cache = cache or Cache(None)
    render_fmt = "xml" if fmt == "json" else fmt
    prepared = prepare(collection.documents, cache, redact=redact, progress=progress)
    parts, tokens, entries = _fit(prepared, collection.skipped, budget, render_fmt, cache)
    return PackResult(
        parts=[] if fmt == "json" else parts,
        tokens=tokens,
        budget=budget,
        format=fmt,
        files=entries,
        skipped=list(collection.skipped),
    )


def _fit(
    prepared: Sequence[Prepared], skipped: Sequence[Skipped], budget: int, fmt: str, cache: Cache
) -> tuple[list[str], int, list[FileEntry]]:
    whole = [formats.Shown(p.doc.path, p.doc.language, p.text, p.tokens) for p in prepared]
    costs = _block_tokens(fmt, whole, cache)
    paths = [p.doc.path for p in prepared]
    generated = ["generated" in p.doc.flags for p in prepared]
    head_tokens, bare_tail_tokens = count_cached([formats.head(fmt), formats.tail(fmt, [])], cache)
    if head_tokens + bare_tail_tokens >= budget:
        raise UsageError(f"budget of {budget} tokens is too small for the context's own frame")

    footer = bare_tail_tokens  # the coverage report grows with what is left out: learn its size round by round
    compact = False  # when the full report cannot fit, it shrinks to one line per reason
    for _ in range(_MAX_FIT_ROUNDS):
        available = budget - head_tokens - footer
        if available < 0 and not compact:
            compact, footer, available = True, bare_tail_tokens, budget - head_tokens - bare_tail_tokens
        admitted = select_within(costs, paths, generated, available)
        room = available - sum(costs[i] for i in admitted)
        shown, entries, coverage, extra = _arrange(prepared, whole, admitted, skipped, room, fmt, cache, compact)
        (tail_tokens,) = count_cached([formats.tail(fmt, coverage)], cache)
        tokens = head_tokens + sum(costs[i] for i in admitted) + extra + tail_tokens
        if tokens <= budget:
            return list(formats.render_parts(fmt, shown, coverage)), tokens, entries
        footer = max(footer + 1, tail_tokens)  # admitted under too small a footer: choose again
    raise UsageError(f"could not fit the context into {budget} tokens", hint="raise --budget or exclude files")


def _block_tokens(fmt: str, shown: Sequence[formats.Shown], cache: Cache) -> list[int]:
    """Exact tokens each rendered file adds to the context.

    Every part of a rendering ends with a newline and the next part starts with a non-space character,
    where the pre-tokenizer always splits: so the count of the whole is the sum of the parts, and a file
    whose text also starts with a non-space and ends with a newline costs its own (cached) count plus its
    frame. Other files (blank first line, no final newline, empty) are counted as rendered, also cached.
    """
    safe = [bool(s.text) and not s.text[0].isspace() and s.text.endswith("\n") for s in shown]
    opens = count_cached([formats.file_open(fmt, s) for s in shown], cache)
    closes = count_cached([formats.file_close(fmt, s) for s in shown], cache)
    unsafe = [i for i, ok in enumerate(safe) if not ok]
    rendered = dict(zip(unsafe, count_cached([formats.render_file(fmt, shown[i]) for i in unsafe], cache)))
    return [opens[i] + s.tokens + closes[i] if safe[i] else rendered[i] for i, s in enumerate(shown)]


def _arrange(
    prepared: Sequence[Prepared],
    whole: Sequence[formats.Shown],
    admitted: set[int],
    skipped: Sequence[Skipped],
    room: int,
    fmt: str,
    cache: Cache,
    compact: bool = False,
) -> tuple[list[formats.Shown], list[FileEntry], list[str], int]:
    """Shown files in path order, manifest entries, coverage lines, and the tokens of a truncated head.

    A document that was left out is truncated to its head instead when it is `<stdin>` or the only
    document: a single long log or contract is better read in part than not at all.
    """
    truncate_index = None
    if len(prepared) - len(admitted) >= 1 and room > 0:
        for i, p in enumerate(prepared):
            if i not in admitted and (p.doc.path == STDIN_NAME or len(prepared) == 1):
                truncate_index = i
                break

    shown: list[formats.Shown] = []
    entries: list[FileEntry] = []
    left_out: list[tuple[str, str, str]] = []
    redactions: list[tuple[str, int, str]] = []
    truncated: list[tuple[str, int, int]] = []
    extra = 0
    for i, p in enumerate(prepared):
        doc = p.doc
        if i in admitted:
            shown.append(whole[i])
            status, reason, tokens_shown = "full", "", p.tokens
        elif i == truncate_index and (cut := _head(p, room, fmt, cache)) is not None:
            part, extra = cut
            shown.append(part)
            status, reason, tokens_shown = "truncated", "truncated-to-fit", part.tokens
            truncated.append((doc.path, part.tokens, p.tokens))
        else:
            status, reason, tokens_shown = "omitted", "over-budget", 0
            left_out.append(("omitted (over budget)", doc.path, f"{p.tokens} tokens"))
        if status != "omitted":
            redactions.extend((doc.path, r.line, r.kind) for r in p.redactions)
        entries.append(
            FileEntry(doc.path, doc.language, doc.size, p.tokens, status, reason, tokens_shown, doc.flags, p.redactions)
        )
    for s in skipped:
        left_out.append((f"skipped ({s.reason})", s.path, s.detail))
    coverage = formats.coverage_lines(len(shown), len(prepared), left_out, redactions, truncated, compact=compact)
    return shown, entries, coverage, extra


def _head(p: Prepared, room: int, fmt: str, cache: Cache) -> tuple[formats.Shown, int] | None:
    """The longest whole-line head of a document whose rendering fits in `room` tokens, with that rendering's count."""
    from v4cli.context.tokens import get_tokenizer

    tokenizer = get_tokenizer()
    ids = tokenizer.encode(p.text)
    keep = room
    for _ in range(_MAX_FIT_ROUNDS):
        text = tokenizer.decode(ids[: max(keep, 0)])
        cut = text.rfind("\n")
        text = text[: cut + 1] if cut > 0 else text.rstrip("\ufffd")  # never end inside a character
        if not text:
            return None
        part = formats.Shown(p.doc.path, p.doc.language, text, tokenizer.count(text), truncated_from=p.tokens)
        (cost,) = count_cached([formats.render_file(fmt, part)], cache)
        if cost <= room:
            return part, cost
        keep -= cost - room
    return None
