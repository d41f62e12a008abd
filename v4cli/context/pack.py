"""Pack documents into one context that never exceeds a token budget, with a manifest of every decision.

Stages: collect (sources) → prepare (redact + count, cached) → select (fit; replaceable) → render → verify.
Token counts of parts do not add up exactly (BPE merges can differ at a join), so the final text is
counted exactly once more (cached by its digest) and the fit is tightened until it holds.
"""

from __future__ import annotations

from collections.abc import Sequence
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
    text: str  # the rendered context ("" for the json format, which is a manifest only)
    tokens: int  # exact token count of the rendered context
    budget: int
    format: str
    files: list[FileEntry]
    skipped: list[Skipped] = field(default_factory=list)

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
    fitted = _fit(prepared, collection.skipped, budget, render_fmt, cache)
    text, tokens, entries = fitted
    return PackResult(
        text="" if fmt == "json" else text,
        tokens=tokens,
        budget=budget,
        format=fmt,
        files=entries,
        skipped=list(collection.skipped),
    )


def _fit(
    prepared: Sequence[Prepared], skipped: Sequence[Skipped], budget: int, fmt: str, cache: Cache
) -> tuple[str, int, list[FileEntry]]:
    whole = [formats.Shown(p.doc.path, p.doc.language, p.text, p.tokens) for p in prepared]
    costs = [
        p.tokens + w for p, w in zip(prepared, count_cached([formats.wrapper(fmt, s) for s in whole], cache))
    ]
    paths = [p.doc.path for p in prepared]
    generated = ["generated" in p.doc.flags for p in prepared]
    head_tokens, bare_tail_tokens = count_cached([formats.head(fmt), formats.tail(fmt, [])], cache)
    fixed = head_tokens + bare_tail_tokens
    if fixed >= budget:
        raise UsageError(f"budget of {budget} tokens is too small for the context's own frame ({fixed} tokens)")

    footer = 0  # tokens of the coverage report, learned round by round (it grows with what is left out)
    slack = 0  # tokens gained at joins between parts, learned from the exact count of an attempt
    for _ in range(_MAX_FIT_ROUNDS):
        available = budget - fixed - footer - slack
        admitted = select_within(costs, paths, generated, available)
        room = available - sum(costs[i] for i in admitted)
        shown, entries, coverage = _arrange(prepared, whole, admitted, skipped, room, fmt, cache)
        (tail_tokens,) = count_cached([formats.tail(fmt, coverage)], cache)
        if tail_tokens - bare_tail_tokens > footer:
            footer = tail_tokens - bare_tail_tokens  # admitted under a smaller footer: choose again
            continue
        text = formats.render(fmt, shown, coverage)
        (tokens,) = count_cached([text], cache)
        if tokens <= budget:
            return text, tokens, entries
        slack += tokens - budget
    raise UsageError(f"could not fit the context into {budget} tokens", hint="raise --budget or exclude files")


def _arrange(
    prepared: Sequence[Prepared],
    whole: Sequence[formats.Shown],
    admitted: set[int],
    skipped: Sequence[Skipped],
    room: int,
    fmt: str,
    cache: Cache,
) -> tuple[list[formats.Shown], list[FileEntry], list[str]]:
    """Shown files in path order, manifest entries and coverage lines for one admission set.

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
    for i, p in enumerate(prepared):
        doc = p.doc
        if i in admitted:
            shown.append(whole[i])
            status, reason, tokens_shown = "full", "", p.tokens
        elif i == truncate_index and (part := _head(p, room, fmt, cache)) is not None:
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
    coverage = formats.coverage_lines(len(shown), len(prepared), left_out, redactions, truncated)
    return shown, entries, coverage


def _head(p: Prepared, room: int, fmt: str, cache: Cache) -> formats.Shown | None:
    """The longest whole-line head of a document whose rendering fits in `room` tokens, if any."""
    from v4cli.context.tokens import get_tokenizer

    tokenizer = get_tokenizer()
    probe = formats.Shown(p.doc.path, p.doc.language, "", 0, truncated_from=p.tokens)
    frame = count_cached([formats.wrapper(fmt, probe)], cache)[0] + 8  # digits of the count may grow
    keep = room - frame
    if keep <= 0:
        return None
    ids = tokenizer.encode(p.text)
    text = tokenizer.decode(ids[:keep])
    cut = text.rfind("\n")
    text = text[: cut + 1] if cut > 0 else text.rstrip("\ufffd")  # never end inside a character
    if not text:
        return None
    return formats.Shown(p.doc.path, p.doc.language, text, tokenizer.count(text), truncated_from=p.tokens)
