"""Turn documents into what will be sent: secrets redacted, tokens counted, both cached by content digest.

A warm run on an unchanged repository finds every count in the cache and never builds the tokenizer;
only files whose cached entry says they hold secrets are scanned again to rebuild their redacted text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from v4cli.context.cache import Cache
from v4cli.context.sources import Document

# Bump when the meaning of a cached count changes (tokenizer or counting rules).
COUNT_VERSION = "dsv4-1"

_BATCH_CHARS = 8_000_000  # large enough to keep every core busy, small enough for a lively progress bar
Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass(frozen=True, slots=True)
class Prepared:
    doc: Document
    text: str  # the text that will be packed: redacted unless redaction is off
    tokens: int  # exact DeepSeek V4 token count of `text`
    redactions: tuple  # of secrets.Redaction, in text order


def prepare(
    documents: Sequence[Document],
    cache: Cache,
    *,
    redact: bool = True,
    progress: Progress | None = None,
) -> list[Prepared]:
    """Prepared documents in the input order."""
    from v4cli.context import secrets

    variant = f"{COUNT_VERSION}:{secrets.SCANNER_VERSION if redact else 'raw'}"
    keys = [f"doc:{d.digest}:{variant}" for d in documents]
    cached = cache.get_many(keys)

    results: list[Prepared | None] = [None] * len(documents)
    to_count: list[int] = []
    texts: list[str] = []
    found: list[tuple] = []
    for i, (doc, key) in enumerate(zip(documents, keys)):
        hit = cached.get(key)
        if isinstance(hit, dict) and isinstance(hit.get("t"), int) and isinstance(hit.get("r"), list):
            if hit["r"] and redact:
                text, redactions = secrets.redact(doc.text)
            else:
                text, redactions = doc.text, ()
            results[i] = Prepared(doc, text, hit["t"], tuple(redactions))
            continue
        text, redactions = secrets.redact(doc.text) if redact else (doc.text, [])
        to_count.append(i)
        texts.append(text)
        found.append(tuple(redactions))
        if progress:
            progress("scanning", len(to_count), len(documents))

    if to_count:
        from v4cli.context.tokens import get_tokenizer

        counts = _count_in_batches(get_tokenizer(), texts, progress)
        fresh = {}
        for i, text, redactions, tokens in zip(to_count, texts, found, counts):
            results[i] = Prepared(documents[i], text, tokens, redactions)
            fresh[keys[i]] = {"t": tokens, "r": [[r.line, r.kind] for r in redactions]}
        cache.put_many(fresh)
    return results  # type: ignore[return-value]


def _count_in_batches(tokenizer, texts: Sequence[str], progress: Progress | None) -> list[int]:
    """count_many over slices of about _BATCH_CHARS characters, reporting progress between slices."""
    counts: list[int] = []
    start = 0
    while start < len(texts):
        end, size = start, 0
        while end < len(texts) and (size < _BATCH_CHARS or end == start):
            size += len(texts[end])
            end += 1
        counts.extend(tokenizer.count_many(texts[start:end]))
        start = end
        if progress:
            progress("counting tokens", start, len(texts))
    return counts


def count_cached(texts: Sequence[str], cache: Cache) -> list[int]:
    """Exact token counts of arbitrary strings (wrappers, whole outputs), through the same cache."""
    import xxhash

    keys = [f"txt:{xxhash.xxh3_128_hexdigest(t.encode('utf-8', 'surrogatepass'))}:{COUNT_VERSION}" for t in texts]
    cached = cache.get_many(keys)
    missing = [i for i, k in enumerate(keys) if not isinstance(cached.get(k), int)]
    if missing:
        from v4cli.context.tokens import get_tokenizer

        counts = get_tokenizer().count_many([texts[i] for i in missing])
        fresh = {keys[i]: n for i, n in zip(missing, counts)}
        cache.put_many(fresh)
        cached.update(fresh)
    return [cached[k] for k in keys]
