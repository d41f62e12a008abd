"""The scan behind `redact`: the byte views of the text, the rules in order, and the markers written."""

from __future__ import annotations

import bisect
import re

from v4cli.context.secrets import Redaction
from v4cli.context.secrets._hit import MARKER_PREFIX, Hit
from v4cli.context.secrets._names import find_named_values
from v4cli.context.secrets._shapes import WORD_TABLE, find_private_keys, find_tokens
from v4cli.context.secrets._triggers import AZURE_ANCHOR, KEYWORDS, PRIVATE_KEY_ANCHOR, VIEW_TABLE, find_triggers

_MARKER = "[REDACTED:{}]"
_MARKER_FOUND = re.compile(r"\[REDACTED:[a-z0-9-]{1,40}\]")


def scan(text: str) -> tuple[str, list[Redaction]]:
    """`redact`: ``text`` with each secret value replaced by its marker, and the redactions in order."""
    ascii_view = text.encode("ascii", "replace")  # one byte per character: offsets match the text's
    words = ascii_view.translate(WORD_TABLE)  # b"a" for [A-Za-z0-9_-], b" " for everything else
    view = ascii_view.translate(VIEW_TABLE)  # letter classes, ":", "/" and " " (see _triggers)
    triggers = find_triggers(ascii_view, view)
    markers = [(m.start(), m.end()) for m in _MARKER_FOUND.finditer(text)] if triggers[MARKER_PREFIX] else []
    if markers:
        words, view = _masked(markers, words, view)
    hits = find_tokens(text, words, azure=bool(triggers[AZURE_ANCHOR]))
    if triggers[PRIVATE_KEY_ANCHOR]:
        hits += find_private_keys(text)
    # Known shapes are masked before names are read, as their markers will be on a second pass: that way
    # "ghp_..._key: value" reads the same before and after redaction, and redaction stays idempotent.
    if hits:
        words, view = _masked([(h.start, h.end) for h in hits], words, view)
    keywords = [triggers[keyword] for keyword in KEYWORDS]
    if markers or hits:  # a keyword partly masked is no longer one
        keywords = [[p for p in found if b" " not in view[p : p + len(keyword)]]
                    for keyword, found in zip(KEYWORDS, keywords)]
    hits += find_named_values(text, view, words, keywords)
    if markers:  # a marker is never redacted again
        marker_starts = [start for start, _ in markers]
        hits = [h for h in hits if not _overlaps(markers, marker_starts, h)]
    if not hits:
        return text, []
    parts: list[str] = []
    redactions: list[Redaction] = []
    pos = 0
    line = 1
    counted = 0
    for hit in _merge(hits):
        line += text.count("\n", counted, hit.anchor)
        counted = hit.anchor
        redactions.append(Redaction(line, hit.kind))
        parts.append(text[pos : hit.start])
        parts.append(_MARKER.format(hit.kind))
        pos = hit.end
    parts.append(text[pos:])
    return "".join(parts), redactions


def _overlaps(spans: list[tuple[int, int]], starts: list[int], hit: Hit) -> bool:
    """Whether ``hit`` overlaps one of ``spans`` (sorted, disjoint; ``starts`` are their starts)."""
    i = bisect.bisect_left(starts, hit.end) - 1
    return i >= 0 and spans[i][1] > hit.start


def _masked(spans: list[tuple[int, int]], *views: bytes) -> list[bytearray]:
    """Copies of the byte views with ``spans`` blanked out, so that no keyword or word is found inside them."""
    copies = [bytearray(view) for view in views]
    for start, end in spans:
        for view in copies:
            view[start:end] = b" " * (end - start)
    return copies


def _merge(hits: list[Hit]) -> list[Hit]:
    """Sort hits and fold overlapping ones into their union, keeping the most specific kind."""
    hits.sort(key=lambda h: (h.start, h.rank))
    merged: list[Hit] = []
    for hit in hits:
        if merged and hit.start < merged[-1].end:
            last = merged[-1]
            best = last if last.rank <= hit.rank else hit
            merged[-1] = Hit(last.start, max(last.end, hit.end), best.kind, best.rank, min(last.anchor, hit.anchor))
        else:
            merged.append(hit)
    return merged


