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

_BATCH_CHARS = 2_000_000  # big enough to keep every core busy, small enough to start counting early
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
    misses = sum(not _valid(cached.get(key)) for key in keys)
    counter = _Counter(progress, misses) if misses else None  # counts batches while the scan goes on
    batch: list[int] = []
    batch_chars = 0
    texts: dict[int, str] = {}
    found: dict[int, tuple] = {}
    for i, (doc, key) in enumerate(zip(documents, keys)):
        hit = cached.get(key)
        if _valid(hit):
            if hit["r"] and redact:
                text, redactions = secrets.redact(doc.text)
            else:
                text, redactions = doc.text, ()
            results[i] = Prepared(doc, text, hit["t"], tuple(redactions))
            continue
        text, redactions = secrets.redact(doc.text) if redact else (doc.text, [])
        texts[i], found[i] = text, tuple(redactions)
        batch.append(i)
        batch_chars += len(text)
        if batch_chars >= _BATCH_CHARS:
            counter.submit(batch, [texts[j] for j in batch])
            batch, batch_chars = [], 0
        if progress:
            progress("scanning", len(texts), misses)
    if counter is not None:
        if batch:
            counter.submit(batch, [texts[j] for j in batch])
        fresh = {}
        for i, tokens in counter.results():
            results[i] = Prepared(documents[i], texts[i], tokens, found[i])
            fresh[keys[i]] = {"t": tokens, "r": [[r.line, r.kind] for r in found[i]]}
        cache.put_many(fresh)
    return results  # type: ignore[return-value]


def _valid(hit: object) -> bool:
    return isinstance(hit, dict) and isinstance(hit.get("t"), int) and isinstance(hit.get("r"), list)


class _Counter:
    """Counts batches of texts on background threads while the main thread keeps scanning for secrets.

    The scan holds the GIL; tiktoken releases it, so the two overlap. The tokenizer itself is built on the
    first batch's thread, which also overlaps with the scan."""

    def __init__(self, progress: Progress | None, total: int) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="v4-count")
        self._jobs: list = []
        self._progress = progress
        self._total = total
        self._done = 0

    def submit(self, indices: list[int], texts: list[str]) -> None:
        self._jobs.append((indices, self._pool.submit(_count_batch, texts)))

    def results(self):
        try:
            for indices, job in self._jobs:
                yield from zip(indices, job.result())
                self._done += len(indices)
                if self._progress:
                    self._progress("counting tokens", self._done, self._total)
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)


def _count_batch(texts: list[str]) -> list[int]:
    from v4cli.context.tokens import get_tokenizer

    return get_tokenizer().count_many(texts)  # spreads a large batch over every core itself


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
