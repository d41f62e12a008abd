"""Pack documents into one context that never exceeds a token budget, with a manifest of every decision.

Stages: collect (sources) → prepare (redact + count, cached; `snapshot.pack_paths` runs it while collect is
still reading) → fit → render. When everything fits, every
file goes in whole, in path order, whatever the question: the output depends on the files alone. When it
does not, the index (symbols + outlines, cached) and the ranking decide each file's tier: full, outline, or
path only (listed in the coverage footer). Files chosen without the question come first, in path order; the
files chosen for the question follow, also in path order, so a follow-up question keeps the longest prefix.
The rendering is built from parts whose token counts add up exactly (see `_block_tokens`), so the
total is known without counting the whole context again, and it is written out without being joined.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from v4cli.context import formats
from v4cli.context.cache import Cache
from v4cli.context.prepare import Prepared, Progress, count_cached, count_cached_together, prepare
from v4cli.context.sources import STDIN_PATH, Collection, Skipped
from v4cli.errors import UsageError

RANKINGS = ("v4", "bm25")
_MAX_FIT_ROUNDS = 12


@dataclass(frozen=True, slots=True)
class Selection:
    """How to choose when not everything fits; when everything fits it changes nothing."""

    question: str | None = None
    ranking: str = "v4"  # "v4": lexical + structure + cues; "bm25": lexical only (the evaluation's baseline)


@dataclass(frozen=True, slots=True)
class FileEntry:
    """One candidate document and what happened to it."""

    path: str
    language: str
    bytes: int
    tokens: int  # of the whole (redacted) text
    status: str  # "full" | "outline" | "truncated" | "omitted"
    reason: str  # why it is not full: "over-budget", "compact-outline" (an outline of definition lines only),
    # "truncated-to-fit", "excerpts-for-question"; "" when full
    tokens_shown: int
    flags: tuple[str, ...]
    redactions: tuple  # of secrets.Redaction
    section: str = ""  # "stable" (chosen without the question) or "question" when ranked; "" when all fit
    why: str = ""  # the ranking's scores and cues, for --explain; "" when all fit
    score: float | None = None  # the ranking's total score; None when all fit or for piped input


@dataclass
class PackResult:
    parts: Iterable[str]  # the rendered context in pieces (none for the json format, a manifest only)
    tokens: int  # exact token count of the rendered context
    budget: int
    format: str
    files: list[FileEntry]
    skipped: list[Skipped] = field(default_factory=list)
    # when files were chosen for a question: the length of the text before the first of them (the part any
    # question shares); None otherwise
    prefix_chars: int | None = None

    @property
    def text(self) -> str:
        return "".join(self.parts)

    def tree(self) -> str:
        """The file tree with token counts, every candidate and skip marked with what happened to it."""
        rows = [(f.path, f.tokens, "" if f.status == "full" else f"{f.status}: {f.reason}") for f in self.files]
        rows += [(s.path, 0, f"skipped: {s.reason}") for s in self.skipped]
        return formats.render_tree(rows)

    def explain(self) -> str:
        """Why each file got its tier: one row per file, the question-independent section first, best first."""
        if not any(f.section for f in self.files):
            fitted = sum(f.status == "full" for f in self.files)
            return (f"no ranking was needed: {fitted} of {len(self.files)} files in full, in path order "
                    f"({self.tokens:,} of {self.budget:,} tokens); a question changes nothing when everything fits\n")
        order = {"stable": 0, "question": 1}
        rows = sorted(self.files, key=lambda f: (order.get(f.section, 2), f.status == "omitted",
                                                 -(f.score if f.score is not None else float("inf")), f.path))
        width = max(len(f.path) for f in rows)
        lines = [f"{'tier':<9} {'section':<9} {'shown':>8} {'tokens':>8}  {'path':<{width}}  why"]
        for f in rows:
            tier = "path" if f.status == "omitted" else "compact" if f.reason == "compact-outline" else f.status
            section = f.section if f.status != "omitted" else "-"
            lines.append(f"{tier:<9} {section:<9} {f.tokens_shown:>8,} {f.tokens:>8,}  {f.path:<{width}}  {f.why}")
        return "\n".join(lines) + "\n"

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
                    **({"section": f.section, "score": f.score, "why": f.why} if f.section else {}),
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
    selection: Selection = Selection(),
    prepared: Sequence[Prepared] | None = None,
) -> PackResult:
    """The context of `collection` within `budget`; `prepared` (its documents, prepared) when already known."""
    check_options(fmt, selection, budget)
    cache = cache or Cache(None)
    render_fmt = "xml" if fmt == "json" else fmt
    if prepared is None:
        prepared = prepare(collection.documents, cache, redact=redact, progress=progress)
    fitter = _Fitter(prepared, render_fmt, cache, selection, redact, progress)
    parts, tokens, entries, prefix_chars = fitter.fit(collection.skipped, budget)
    return PackResult(
        parts=[] if fmt == "json" else parts,
        tokens=tokens,
        budget=budget,
        format=fmt,
        files=entries,
        skipped=list(collection.skipped),
        prefix_chars=prefix_chars,
    )


def check_options(fmt: str, selection: Selection, budget: int) -> None:
    """Refuse options pack would refuse, before any file is read."""
    if fmt not in formats.FORMATS:
        raise UsageError(f"unknown format {fmt!r}", hint=f"choose one of: {', '.join(formats.FORMATS)}")
    if selection.ranking not in RANKINGS:
        raise UsageError(f"unknown ranking {selection.ranking!r}", hint=f"choose one of: {', '.join(RANKINGS)}")
    if budget <= 0:
        raise UsageError(f"budget must be a positive number of tokens, got {budget}")


@dataclass(slots=True)
class _Choice:
    """What one document becomes: its tier, and the section it goes in when ranked."""

    tier: str  # "full" | "outline" | "compact" | "head" | "path"
    section: str = ""
    why: str = ""
    score: float | None = None
    prefix_view: str | None = None  # tier in the question section, and this smaller view in the stable prefix


class _Fitter:
    def __init__(self, prepared: Sequence[Prepared], fmt: str, cache: Cache, selection: Selection, redact: bool,
                 progress: Progress | None) -> None:
        self.prepared, self.fmt, self.cache, self.selection = prepared, fmt, cache, selection
        self.redact, self.progress = redact, progress
        self.whole = [formats.Shown(p.doc.path, p.doc.language, p.text, p.tokens) for p in prepared]
        self.costs = _block_tokens(fmt, self.whole, cache)
        # built on first need, keyed by document index: each smaller view ("outline", "compact") as shown with
        # the cost of its block, and the ranking's scores
        self.views: dict[str, dict[int, tuple[formats.Shown, int]]] = {"outline": {}, "compact": {}}
        self.scores: dict = {}
        self.parsed: dict = {}  # document index -> syntax.FileSymbols, for excerpts

    def fit(self, skipped: Sequence[Skipped], budget: int) -> tuple[list[str], int, list[FileEntry], int | None]:
        fmt, cache = self.fmt, self.cache
        head_tokens, bare_tail_tokens = count_cached([formats.head(fmt), formats.tail(fmt, [])], cache)
        if head_tokens + bare_tail_tokens >= budget:
            raise UsageError(f"budget of {budget} tokens is too small for the context's own frame")
        footer = bare_tail_tokens  # the coverage report grows with what is left out: learn its size round by round
        compact = False  # when the full report cannot fit, it shrinks to one line per reason
        frame_free = budget - head_tokens - bare_tail_tokens  # what the question-independent shares are cut from
        for round_ in range(_MAX_FIT_ROUNDS):
            if round_ == _MAX_FIT_ROUNDS - 1:
                compact = True  # last round: the one-line-per-reason report is no bigger than any footer learnt
            available = budget - head_tokens - footer
            if available < 0 and not compact:
                compact, footer, available = True, bare_tail_tokens, frame_free
            choices = self._choose(available, frame_free)
            shown, entries, coverage, used, n_stable = self._arrange(choices, skipped, available, compact)
            (tail_tokens,) = count_cached([formats.tail(fmt, coverage)], cache)
            tokens = head_tokens + used + tail_tokens
            if tokens <= budget:
                parts = list(formats.render_parts(fmt, shown, coverage))
                in_question = n_stable < len(shown)
                prefix_chars = sum(map(len, parts[: 1 + 3 * n_stable])) if in_question else None
                return parts, tokens, entries, prefix_chars
            # chosen under too small a footer: choose again with room for at least the overflow (the selection
            # is not monotone in the room it gets, so the report's size is learnt, not solved for)
            footer = max(footer + tokens - budget, tail_tokens)
        raise UsageError(f"could not fit the context into {budget} tokens", hint="raise --budget or exclude files")

    def _choose(self, available: int, frame_free: int) -> list[_Choice]:
        """Each document's tier. `frame_free` (the budget less the context's frame) does not depend on the
        question or on the coverage footer, so the shares cut from it keep the stable prefix stable."""
        n = len(self.prepared)
        if sum(self.costs) <= available:
            return [_Choice("full") for _ in range(n)]
        if n == 1:
            return [_Choice("head")]  # a single long log or contract is better read in part than not at all
        choices = [_Choice("path") for _ in range(n)]
        stdin = next((i for i, p in enumerate(self.prepared) if p.doc.path == STDIN_PATH), None)
        if stdin is not None:  # what the user piped in is served first: whole if it takes at most half, else its head
            reserve = min(self.costs[stdin], frame_free // 2)
            choices[stdin] = _Choice("full" if reserve == self.costs[stdin] else "head", "question", "piped input")
            available, frame_free = available - reserve, frame_free - reserve
        ranked = [i for i in range(n) if i != stdin]
        outline_costs, compact_costs, scores = self._ranking(ranked)
        from v4cli.context.select import STABLE_SHARE, fill

        # the bm25 baseline has no question-independent score: it gets no stable share
        share = STABLE_SHARE if self.selection.ranking == "v4" else 0.0
        placements = fill([self.costs[i] for i in ranked], outline_costs, scores,
                          [self.prepared[i].doc.path for i in ranked], available,
                          question=bool(self.selection.question), stable_budget=int(share * max(frame_free, 0)),
                          compact_costs=compact_costs)
        for i, place, score in zip(ranked, placements, scores):
            also = {"outline": "outline", "compact": "compact outline"}.get(place.prefix_view or "")
            why = _why(score) + (f"; its {also} is also in the stable prefix" if also else "")
            choices[i] = _Choice(place.tier, place.section, why, score.total, place.prefix_view)
        return choices

    def _ranking(self, ranked: list[int]) -> tuple[list[int | None], list[int | None], list]:
        """Outline costs, compact outline costs and scores of the ranked documents; the index and ranking are
        built once per pack."""
        if not self.scores:
            from v4cli.context.index import index_files
            from v4cli.context.rank import Candidate, rank

            docs = [self.prepared[i] for i in ranked]
            indexed = index_files(docs, self.cache, redact=self.redact, progress=self.progress)
            shown = [(i, formats.Shown(p.doc.path, p.doc.language, text, tokens, outline_of=p.tokens, compact=compact))
                     for i, p, x in zip(ranked, docs, indexed)
                     for compact, text, tokens in ((False, x.outline, x.outline_tokens),
                                                   (True, x.compact, x.compact_tokens)) if text is not None]
            costs = _block_tokens(self.fmt, [view for _, view in shown], self.cache)  # one pass for both kinds
            for (i, view), cost in zip(shown, costs):
                self.views["compact" if view.compact else "outline"][i] = (view, cost)
            candidates = [Candidate(p.doc.path, p.text, p.tokens, x.symbols, p.doc.flags, x.terms)
                          for p, x in zip(docs, indexed)]
            scores = rank(candidates, self.selection.question, method=self.selection.ranking)
            self.scores = dict(zip(ranked, scores))
        outline_costs, compact_costs = ([kind[i][1] if i in kind else None for i in ranked]
                                        for kind in (self.views["outline"], self.views["compact"]))
        return outline_costs, compact_costs, [self.scores[i] for i in ranked]

    def _arrange(self, choices: list[_Choice], skipped: Sequence[Skipped], available: int, compact: bool
                 ) -> tuple[list[formats.Shown], list[FileEntry], list[str], int, int]:
        """Shown files (stable section, then question section, each in path order), manifest entries, coverage
        lines, the tokens the shown files take, and how many shown files are in the stable section."""
        shown_at: dict[int, formats.Shown] = {}
        excerpted: dict[int, bool] = {}
        blocks: list[tuple[bool, str, formats.Shown]] = []  # (in the question section, path, block)
        used = 0
        for i, choice in enumerate(choices):
            if choice.tier == "full":
                shown_at[i], used = self.whole[i], used + self.costs[i]
            elif choice.tier in ("outline", "compact"):
                shown_at[i], cost = self._view(i, choice.tier)
                used += cost
            if choice.prefix_view:
                view, cost = self._view(i, choice.prefix_view)
                blocks.append((False, self.prepared[i].doc.path, view))
                used += cost
        for i, choice in enumerate(choices):
            if choice.tier == "head":
                cut = self._partial(i, available - used)
                if cut is not None:
                    shown_at[i], extra, excerpted[i] = cut
                    used += extra
        blocks += [(choices[i].section == "question", self.prepared[i].doc.path, part) for i, part in shown_at.items()]

        entries: list[FileEntry] = []
        redactions: list[tuple[str, int, str]] = []
        truncated: list[tuple[str, int, int, bool]] = []
        for i, (p, choice) in enumerate(zip(self.prepared, choices)):
            doc, part = p.doc, shown_at.get(i)
            if part is None:
                status, reason, tokens_shown = "omitted", "over-budget", 0
            elif part.truncated_from is not None:
                reason = "excerpts-for-question" if excerpted[i] else "truncated-to-fit"
                status, tokens_shown = "truncated", part.tokens
                truncated.append((doc.path, part.tokens, p.tokens, excerpted[i]))
            elif part.outline_of is not None:
                reason = "compact-outline" if part.compact else "over-budget"
                status, tokens_shown = "outline", part.tokens
            else:
                status, reason, tokens_shown = "full", "", p.tokens
            if part is not None:
                redactions.extend((doc.path, r.line, r.kind) for r in p.redactions)
            entries.append(FileEntry(doc.path, doc.language, doc.size, p.tokens, status, reason, tokens_shown,
                                     doc.flags, p.redactions, choice.section, choice.why, choice.score))
        omitted = [i for i in range(len(choices)) if i not in shown_at]
        omitted.sort(key=lambda i: (-self.scores[i].total if i in self.scores else 0.0, self.prepared[i].doc.path))
        left_out = [("omitted (over budget)", self.prepared[i].doc.path, f"{self.prepared[i].tokens} tokens")
                    for i in omitted]
        left_out += [(f"skipped ({s.reason})", s.path, s.detail) for s in skipped]
        outlined = sum(1 for part in shown_at.values() if part.outline_of is not None)
        coverage = formats.coverage_lines(len(shown_at), len(self.prepared), left_out, redactions, truncated,
                                          compact=compact, outlined=outlined)
        blocks.sort(key=lambda block: block[:2])  # the stable section first; path order within each, like sources
        n_stable = sum(not in_question for in_question, _, _ in blocks)
        return [block for _, _, block in blocks], entries, coverage, used, n_stable

    def _partial(self, i: int, room: int) -> tuple[formats.Shown, int, bool] | None:
        """Part of a document that does not fit: excerpts chosen for the question, else its head; with the cost
        of its rendering and whether it is excerpts."""
        p, question = self.prepared[i], self.selection.question
        if question:
            if i not in self.parsed:  # once per pack: fitting may take several rounds
                from v4cli.context import syntax

                self.parsed[i] = syntax.analyze(p.text, p.doc.language)
            cut = _excerpts(p, self.parsed[i], room, self.fmt, self.cache, question)
            if cut is not None:
                return (*cut, True)
        cut = _head(p, room, self.fmt, self.cache)
        return None if cut is None else (*cut, False)

    def _view(self, i: int, tier: str) -> tuple[formats.Shown, int]:
        """Document i's outline or compact outline as shown, with the cost of its block."""
        return self.views[tier][i]


def _excerpts(p: Prepared, symbols, room: int, fmt: str, cache: Cache, question: str
              ) -> tuple[formats.Shown, int] | None:
    from v4cli.context.excerpt import excerpt
    from v4cli.context.tokens import get_tokenizer

    count = get_tokenizer().count
    keep = room
    for _ in range(_MAX_FIT_ROUNDS):
        text = excerpt(p.text, symbols, question, keep, count)
        if text is None:
            return None
        part = formats.Shown(p.doc.path, p.doc.language, text, count(text), truncated_from=p.tokens)
        (cost,) = _block_tokens(fmt, [part], cache)
        if cost <= room:
            return part, cost
        keep -= cost - room
    return None


def _why(score) -> str:
    """One line of the ranking's reasoning for --explain and the manifest."""
    cues = f"; {', '.join(score.cues)}" if score.cues else ""
    return (f"score {score.total:.3f} (lexical {score.lexical:.3f}, structure {score.structure:.3f}, "
            f"stable {score.stable:.3f}){cues}")


def _block_tokens(fmt: str, shown: Sequence[formats.Shown], cache: Cache) -> list[int]:
    """Exact tokens each rendered file adds to the context.

    Every part of a rendering ends with a newline and the next part starts with a non-space character,
    where the pre-tokenizer always splits: so the count of the whole is the sum of the parts, and a file
    whose text also starts with a non-space and ends with a newline costs its own (cached) count plus its
    frame. In other files (blank first line, no final newline) only the edges can merge with the frame: the
    first and last places inside the text where the pre-tokenizer always splits cut it into edges, counted
    again with the frame, and a middle whose count follows from the text's. A text without such a place is
    counted as rendered. All of these counts are cached: each rendering on its own, the frames and edges as one
    list.
    """
    cuts = [_cuts(s.text) for s in shown]
    whole = [i for i, cut in enumerate(cuts) if cut is None]
    costs = dict(zip(whole, count_cached([formats.render_file(fmt, shown[i]) for i in whole], cache)))
    pieces = []
    for s, cut in zip(shown, cuts):
        if cut is not None:
            first, last = cut
            pieces += [formats.file_open(fmt, s) + s.text[:first], s.text[:first], s.text[last:],
                       formats.body(s.text)[last:] + formats.file_close(fmt, s)]
    counted = iter(count_cached_together(pieces, cache))
    for i, cut in enumerate(cuts):
        if cut is not None:
            lead_framed, lead, tail, tail_framed = next(counted), next(counted), next(counted), next(counted)
            costs[i] = lead_framed + shown[i].tokens - lead - tail + tail_framed
    return [costs[i] for i in range(len(shown))]


def _cuts(text: str) -> tuple[int, int] | None:
    """Where a text's edges end: the first and last offsets at which the pre-tokenizer always splits, the
    text's own start or end when its frame meets it at such a place (a newline, then a non-space)."""
    from v4cli.context.tokens import first_split, last_split

    if not text:
        return 0, 0
    first = 0 if not text[0].isspace() else first_split(text)
    last = len(text) if text.endswith("\n") else last_split(text)
    return (first, last) if first is not None and last is not None else None


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
        (cost,) = _block_tokens(fmt, [part], cache)
        if cost <= room:
            return part, cost
        keep -= cost - room
    return None
