"""Excerpts: the parts of one oversize document that matter for a question, when only a part can be shown.

A long contract, log or module piped in alone does not fit; its head alone often misses what was asked
("every termination clause" sits in section 14). The document is cut into chunks at syntactic boundaries
(chunk.py: definitions stay whole; plain text breaks at blank lines), the chunks are ranked by BM25 against
the question, and the opening chunk plus the best ones are shown in document order, each under a marker
with its line range and the definitions it sits in, so citations keep their real line numbers.
"""

from __future__ import annotations

from collections.abc import Callable

from v4cli.context.chunk import Chunk, chunk
from v4cli.context.syntax import FileSymbols

_CHUNKS_PER_ROOM = 8  # chunk size = room / this: small enough to choose among, big enough to read
_MIN_CHUNK_TOKENS = 128
_MAX_CHUNK_TOKENS = 2_048
_MARKER_TOKENS = 40  # a generous bound on one marker line's tokens, kept aside per chunk while choosing


def excerpt(text: str, symbols: FileSymbols, question: str, room: int, count: Callable[[str], int]) -> str | None:
    """The excerpt text (markers + chunks, in document order) fitting about `room` tokens, or None when the
    question matches nothing (the caller then shows the head)."""
    from v4cli.context.rank import Candidate, bm25, query_terms

    terms = query_terms(question)
    size = max(_MIN_CHUNK_TOKENS, min(_MAX_CHUNK_TOKENS, room // _CHUNKS_PER_ROOM))
    if not terms or room < size:
        return None
    chunks = chunk(text, symbols, size, count)
    scores = bm25([Candidate("", c.text, 0, None, ()) for c in chunks], terms)  # no path: it would match digits
    if len(chunks) < 2 or not scores.max() > 0:
        return None
    costs = [count(c.text) + _MARKER_TOKENS for c in chunks]
    chosen = {0} if costs[0] <= room // 2 else set()  # the opening says what the document is
    used = sum(costs[i] for i in chosen)
    for i in sorted(range(len(chunks)), key=lambda i: (-scores[i], i)):
        if scores[i] <= 0:
            break
        if i not in chosen and used + costs[i] <= room:
            chosen.add(i)
            used += costs[i]
    if len(chosen) <= 1 and 0 in chosen:
        return None
    total_lines = chunks[-1].end_line
    return "".join(_marker(chunks[i], total_lines) + _ended(chunks[i].text) for i in sorted(chosen))


def _marker(piece: Chunk, total_lines: int) -> str:
    inside = f" in {' / '.join(h.splitlines()[0].strip() for h in piece.headers)}" if piece.headers else ""
    return f"[… excerpt: lines {piece.start_line}-{piece.end_line} of {total_lines}{inside}]\n"


def _ended(text: str) -> str:
    return text if text.endswith("\n") else text + "\n"
