"""Turn documents into what will be sent: secrets redacted, tokens counted, both cached by content digest.

A warm run on an unchanged repository finds every count in the cache and never builds the tokenizer;
only files whose cached entry says they hold secrets are scanned again to rebuild their redacted text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from v4cli.context.cache import Cache
from v4cli.context.sources import Document

if TYPE_CHECKING:
    from concurrent.futures import Future, ThreadPoolExecutor

    from v4cli.context.secrets.batch import PendingRedactions

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
    """Prepared documents in the input order."""
    with Preparation(cache, redact=redact, progress=progress, expected=len(documents)) as preparation:
        preparation.add(documents)
        return preparation.result(documents)


class Preparation:
    """`prepare`, fed batch by batch as documents are read, so that counting and the secret scan run while
    reading goes on; use as a context manager.

    Documents the cache knows are settled at once. The others are counted in parts on a pool of threads
    (tiktoken releases the GIL) and scanned for secrets, in a child process once there is enough to scan; the
    few texts that redaction changes are counted again at the end.
    """

    def __init__(self, cache: Cache, *, redact: bool = True, progress: Progress | None = None,
                 expected: int = 0) -> None:
        from v4cli.context import secrets

        self.cache, self.redact, self.progress, self.expected = cache, redact, progress, expected
        self.variant = f"{COUNT_VERSION}:{secrets.SCANNER_VERSION if redact else 'raw'}"
        self._settled: dict[int, Prepared] = {}  # by id() of the document
        self._missing: list[Document] = []  # documents the cache did not know, in arrival order
        self._missing_chars = 0
        self._unsent: list[str] = []  # their texts not yet handed to a counting thread
        self._unsent_chars = 0
        self._jobs: list[Future[list[int]]] = []  # counts of consecutive runs of _missing
        self._pool: ThreadPoolExecutor | None = None
        self._scan: PendingRedactions | None = None
        self._skipped = 0

    def add(self, documents: Sequence[Document], skipped: int = 0) -> None:
        """Documents just read (and how many candidates were skipped instead, for progress)."""
        from v4cli.context import secrets

        keys = [self._key(doc) for doc in documents]
        cached = self.cache.get_many(keys)
        missing = []
        for doc, key in zip(documents, keys):
            hit = cached.get(key)
            if not _valid(hit):
                missing.append(doc)
            elif hit["r"] and self.redact:
                text, redactions = secrets.redact(doc.text)
                self._settled[id(doc)] = Prepared(doc, text, hit["t"], tuple(redactions))
            else:
                self._settled[id(doc)] = Prepared(doc, doc.text, hit["t"], ())
        self._skipped += skipped
        if missing:
            self._missing += missing
            self._missing_chars += sum(len(doc.text) for doc in missing)
            self._count([doc.text for doc in missing])
            self._scan_for_secrets(missing)
        self._report()

    def result(self, documents: Sequence[Document]) -> list[Prepared]:
        """Prepared `documents` (every one of them added before), in their order."""
        if self._missing:
            self._settle_missing()
        return [self._settled[id(doc)] for doc in documents]

    def _settle_missing(self) -> None:
        from v4cli.context.secrets.batch import PendingRedactions

        if self._unsent:
            self._submit()
        counts: list[int] = []
        for job in self._jobs:
            counts += job.result()
            self._report()
        if not self.redact:
            redacted = [(doc.text, ()) for doc in self._missing]
        else:
            if self._scan is None:
                self._scan = PendingRedactions([doc.text for doc in self._missing], background=False)
            redacted = self._scan.result()
        changed = [k for k, (_, found) in enumerate(redacted) if found]
        recounted = recount_edited([(self._missing[k].text, redacted[k][0], counts[k]) for k in changed])
        for k, tokens in zip(changed, recounted):
            counts[k] = tokens
        fresh = {}
        for doc, (text, found), tokens in zip(self._missing, redacted, counts):
            self._settled[id(doc)] = Prepared(doc, text, tokens, found)
            fresh[self._key(doc)] = {"t": tokens, "r": [[r.line, r.kind] for r in found]}
        self.cache.put_many(fresh)
        self._missing, self._missing_chars, self._jobs = [], 0, []
        self._report()

    def _count(self, texts: list[str]) -> None:
        from v4cli.context.tokens import PART_CHARS

        for text in texts:  # parts of about PART_CHARS, so that every counting thread keeps busy to the end
            self._unsent.append(text)
            self._unsent_chars += len(text)
            if self._unsent_chars >= PART_CHARS:
                self._submit()

    def _submit(self) -> None:
        from concurrent.futures import ThreadPoolExecutor

        from v4cli.context.tokens import count_part, usable_cpus

        if self._pool is None:
            self._pool = ThreadPoolExecutor(usable_cpus(), thread_name_prefix="v4-tokens")
        self._jobs.append(self._pool.submit(count_part, self._unsent))
        self._unsent, self._unsent_chars = [], 0

    def _scan_for_secrets(self, documents: list[Document]) -> None:
        from v4cli.context.secrets.batch import PendingRedactions
        from v4cli.context.tokens import usable_cpus

        if not self.redact:
            return
        if self._scan is not None:
            self._scan.add(doc.text for doc in documents)
        elif self._missing_chars >= _BACKGROUND_SCAN_CHARS and usable_cpus() > 1:
            self._scan = PendingRedactions([doc.text for doc in self._missing], background=True)

    def _key(self, doc: Document) -> str:
        return f"doc:{doc.digest}:{self.variant}"

    def _report(self) -> None:
        if not self.progress:
            return
        counted = sum(len(job.result()) for job in self._jobs if job.done() and not job.exception())
        done = len(self._settled) + counted + self._skipped
        self.progress("counting tokens", done, max(self.expected, done))

    def __enter__(self) -> Preparation:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
        if self._scan is not None:
            self._scan.__exit__(*exc)


def recount_edited(edits: Sequence[tuple[str, str, int]]) -> list[int]:
    """Token counts of edited texts, each given as (before, after, tokens before): only the stretch between the
    first and the last difference is counted, widened to places where the pre-tokenizer always splits (see
    tokens.first_split), so the unchanged rest keeps its share of the count. A redaction changes a line or
    two of a large test file; counting it all again was the last serial step of a cold pack."""
    from v4cli.context.tokens import get_tokenizer

    stretches = [_changed_stretch(before, after) for before, after, _ in edits]
    pieces = [before[start:end] for (before, _, _), (start, end, _) in zip(edits, stretches)]
    pieces += [after[start:end] for (_, after, _), (start, _, end) in zip(edits, stretches)]
    counted = get_tokenizer().count_many(pieces) if pieces else []
    n = len(edits)
    return [tokens - counted[k] + counted[n + k] for k, (_, _, tokens) in enumerate(edits)]


def _changed_stretch(before: str, after: str) -> tuple[int, int, int]:
    """(start, end in `before`, end in `after`): outside of it the texts are equal, and it starts and ends
    at a text's edge or at a place where the pre-tokenizer always splits."""
    from v4cli.context.tokens import first_split, last_split

    shorter = min(len(before), len(after))
    same_head = _longest(lambda n: before[:n] == after[:n], shorter)
    same_tail = _longest(lambda n: before[len(before) - n :] == after[len(after) - n :], shorter - same_head)
    start = last_split(before, same_head) or 0  # both characters around the split lie in the equal head
    end = first_split(before, len(before) - same_tail) or len(before)  # ... in the equal tail
    return start, end, end + len(after) - len(before)


def _longest(holds: Callable[[int], bool], limit: int) -> int:
    """The largest n <= limit for which holds(n), for a property true up to some n and false after."""
    low, high = 0, limit
    while low < high:
        middle = (low + high + 1) // 2
        if holds(middle):
            low = middle
        else:
            high = middle - 1
    return low


def _valid(hit: object) -> bool:
    return isinstance(hit, dict) and isinstance(hit.get("t"), int) and isinstance(hit.get("r"), list)


def count_cached(texts: Sequence[str], cache: Cache) -> list[int]:
    """Exact token counts of arbitrary strings (wrappers, whole outputs), through the same cache; each distinct
    string is looked up and counted once (every file's closing tag is the same string)."""
    import xxhash

    keys = {t: f"txt:{xxhash.xxh3_128_hexdigest(t.encode('utf-8', 'surrogatepass'))}:{COUNT_VERSION}"
            for t in dict.fromkeys(texts)}
    cached = cache.get_many(keys.values())
    missing = [t for t, key in keys.items() if not isinstance(cached.get(key), int)]
    if missing:
        from v4cli.context.tokens import get_tokenizer

        fresh = {keys[t]: n for t, n in zip(missing, get_tokenizer().count_many(missing))}
        cache.put_many(fresh)
        cached.update(fresh)
    return [cached[keys[t]] for t in texts]
