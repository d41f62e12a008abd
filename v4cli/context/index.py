"""What selection needs per file: symbols (definitions, references), outlines (full and compact) with their
counts, and BM25 term stats.

Built only when a context does not fit its budget. Each file's entry is cached by the content digest of what
will be packed (the redacted text when redaction is on), so a second run on an unchanged repository parses
nothing. A cold index of a large repository parses on every core in worker processes: tree-sitter walks and
definition extraction hold the GIL, so threads would not help.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from v4cli.context.cache import Cache
from v4cli.context.prepare import COUNT_VERSION, Prepared, Progress
from v4cli.context.rank import TERMS_VERSION, Terms, term_stats
from v4cli.context.syntax import FileSymbols
from v4cli.context.tokens import usable_cpus  # stdlib-only at import time

# Bump when outlines or the entry's shape change (syntax.SYNTAX_VERSION covers the symbols themselves).
INDEX_VERSION = "idx-3"
_OUTLINE_MAX_SHARE = 0.8  # an outline that saves less than this is not worth showing instead of the file
# ... and a compact outline that saves less than this against the outline (or the file) is not worth a level
_PARALLEL_MIN_CHARS = 1_500_000  # below this, starting worker processes costs more than it saves
_BATCH_CHARS = 400_000

_Built = tuple[FileSymbols, str | None, str | None, Terms]  # what a worker returns per file


@dataclass(frozen=True, slots=True)
class Indexed:
    symbols: FileSymbols
    outline: str | None  # None when the file has no outline shorter than itself
    outline_tokens: int  # 0 without an outline
    compact: str | None  # the compact outline (definition lines only); None when it is not much smaller
    compact_tokens: int  # 0 without a compact outline
    terms: Terms  # the question-independent half of BM25 (rank.term_stats)


def index_files(prepared: Sequence[Prepared], cache: Cache, *, redact: bool, progress: Progress | None = None
                ) -> list[Indexed]:
    """Index entries in the input order."""
    from v4cli.context import secrets, syntax

    variant = (f"{INDEX_VERSION}:{syntax.SYNTAX_VERSION}:{TERMS_VERSION}:{COUNT_VERSION}:"
               f"{secrets.SCANNER_VERSION if redact else 'raw'}")
    keys = [f"idx:{p.doc.digest}:{variant}" for p in prepared]
    cached = cache.get_many(keys)
    results: list[Indexed | None] = [_from_cache(cached.get(k)) for k in keys]
    missing = [i for i, entry in enumerate(results) if entry is None]
    if missing:
        built = _build([(prepared[i].text, prepared[i].doc.language) for i in missing], progress)
        both = _count_outlines([text for _, outline, compact, _ in built for text in (outline, compact)])
        counts, compact_counts = both[0::2], both[1::2]
        fresh = {}
        for i, (symbols, outline, compact, terms), count, compact_count in zip(missing, built, counts,
                                                                                compact_counts):
            if outline is not None and count > prepared[i].tokens * _OUTLINE_MAX_SHARE:
                outline, count = None, 0
            if compact is not None and compact_count > (count or prepared[i].tokens) * _OUTLINE_MAX_SHARE:
                compact, compact_count = None, 0
            results[i] = Indexed(symbols, outline, count, compact, compact_count, terms)
            fresh[keys[i]] = {"s": syntax.to_json(symbols), "o": outline, "n": count, "c": compact,
                              "cn": compact_count, "w": terms.length, "v": terms.table}
        cache.put_many(fresh)
    return results  # type: ignore[return-value]


def _from_cache(hit: object) -> Indexed | None:
    from v4cli.context import syntax

    if not isinstance(hit, dict) or not isinstance(hit.get("n"), int) or not isinstance(hit.get("s"), dict):
        return None
    outline, compact = hit.get("o"), hit.get("c")
    if any(text is not None and not isinstance(text, str) for text in (outline, compact)):
        return None
    if not all(isinstance(hit.get(key), int) for key in ("cn", "w")) or not isinstance(hit.get("v"), str):
        return None
    try:
        return Indexed(syntax.from_json(hit["s"]), outline, hit["n"], compact, hit["cn"], Terms(hit["w"], hit["v"]))
    except ValueError:
        return None  # another syntax version or a damaged entry: build it again


def _count_outlines(outlines: list[str | None]) -> list[int]:
    present = [o for o in outlines if o is not None]
    if not present:
        return [0] * len(outlines)
    from v4cli.context.tokens import get_tokenizer

    counts = iter(get_tokenizer().count_many(present))
    return [next(counts) if o is not None else 0 for o in outlines]


def _build(items: list[tuple[str, str]], progress: Progress | None) -> list[_Built]:
    """(symbols, outline, compact outline, terms) per (text, language), in parallel processes when the work is
    large."""
    total = sum(len(text) for text, _ in items)
    workers = min(usable_cpus(), max(1, total // _PARALLEL_MIN_CHARS))
    if workers < 2:
        return _index_batch(items, progress, len(items))
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    batches: list[list[tuple[str, str]]] = [[]]
    size = 0
    for item in items:
        if size >= _BATCH_CHARS:
            batches.append([])
            size = 0
        batches[-1].append(item)
        size += len(item[0])
    # forkserver: the parent may hold tokenizer threads, which fork must not copy
    context = multiprocessing.get_context("forkserver")
    results: list[_Built] = []
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        for batch in pool.map(_index_batch, batches):
            results.extend(batch)
            if progress:
                progress("indexing", len(results), len(items))
    return results


def _index_batch(items: list[tuple[str, str]], progress: Progress | None = None, total: int = 0) -> list[_Built]:
    from v4cli.context import syntax
    from v4cli.context.outline import outline

    out: list[_Built] = []
    for text, language in items:
        symbols = syntax.analyze(text, language)
        outlined = symbols.parsed and bool(text)
        out.append((symbols, outline(text, symbols) if outlined else None,
                    outline(text, symbols, compact=True) if outlined else None, term_stats(text, symbols)))
        if progress and len(out) % 64 == 0:
            progress("indexing", len(out), total)
    return out
