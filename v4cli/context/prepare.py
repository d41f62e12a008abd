"""Turn documents into what will be sent: secrets redacted, tokens counted, both cached by content digest.

A warm run on an unchanged repository finds every count in the cache and never builds the tokenizer;
only files whose cached entry says they hold secrets are scanned again to rebuild their redacted text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass

from v4cli.context.cache import Cache
from v4cli.context.sources import Document

# Bump when the meaning of a cached count changes (tokenizer or counting rules).
COUNT_VERSION = "dsv4-1"

# From this many characters to scan, the secret scan runs in a second process while this one counts.
_BACKGROUND_SCAN_CHARS = 2_000_000
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
    """Prepared documents in the input order.

    Documents the cache does not know are counted as they were read while the secret scan runs (in a child
    process when there is much to scan); the few texts that redaction changes are then counted again.
    """
    from v4cli.context import secrets

    variant = f"{COUNT_VERSION}:{secrets.SCANNER_VERSION if redact else 'raw'}"
    keys = [f"doc:{d.digest}:{variant}" for d in documents]
    cached = cache.get_many(keys)

    results: list[Prepared | None] = [None] * len(documents)
    missing: list[int] = []
    for i, (doc, key) in enumerate(zip(documents, keys)):
        hit = cached.get(key)
        if not _valid(hit):
            missing.append(i)
        elif hit["r"] and redact:
            text, redactions = secrets.redact(doc.text)
            results[i] = Prepared(doc, text, hit["t"], tuple(redactions))
        else:
            results[i] = Prepared(doc, doc.text, hit["t"], ())
    if not missing:
        return results  # type: ignore[return-value]

    from v4cli.context.secrets.batch import PendingRedactions
    from v4cli.context.tokens import get_tokenizer, usable_cpus

    texts = [documents[i].text for i in missing]
    background = redact and sum(map(len, texts)) >= _BACKGROUND_SCAN_CHARS and usable_cpus() > 1
    with PendingRedactions(texts, background=background) if redact else nullcontext() as scan:
        counts = get_tokenizer().count_many(
            texts, progress=(lambda done: progress("counting tokens", done, len(texts))) if progress else None
        )
        redacted = scan.result() if scan else [(text, ()) for text in texts]
    changed = [k for k, (_, found) in enumerate(redacted) if found]
    for k, tokens in zip(changed, get_tokenizer().count_many([redacted[k][0] for k in changed])):
        counts[k] = tokens
    fresh = {}
    for k, i in enumerate(missing):
        text, found = redacted[k]
        results[i] = Prepared(documents[i], text, counts[k], found)
        fresh[keys[i]] = {"t": counts[k], "r": [[r.line, r.kind] for r in found]}
    cache.put_many(fresh)
    return results  # type: ignore[return-value]


def _valid(hit: object) -> bool:
    return isinstance(hit, dict) and isinstance(hit.get("t"), int) and isinstance(hit.get("r"), list)


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
