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
    (tiktoken releases the GIL) and scanned for secrets, in a child process once there is enough to scan. The
    few texts that redaction changes are counted again where they changed, as soon as the scan reports them.
    """

    def __init__(self, cache: Cache, *, redact: bool = True, progress: Progress | None = None,
                 expected: int = 0, scan: PendingRedactions | None = None, expected_chars: int = 0) -> None:
        """`expected`: how many documents will be added (for progress). `scan`: a background scan started ahead
        (see scan_ahead), which this preparation owns from now on; it is stopped at once, and the texts are
        scanned here, unless `expected_chars` are enough to make a second process worth it."""
        from v4cli.context import secrets

        if scan is not None and (not redact or expected_chars < _BACKGROUND_SCAN_CHARS):
            scan.__exit__(None, None, None)
            scan = None

        self.cache, self.redact, self.progress, self.expected = cache, redact, progress, expected
        self.variant = f"{COUNT_VERSION}:{secrets.SCANNER_VERSION if redact else 'raw'}"
        self._settled: dict[int, Prepared] = {}  # by id() of the document
        self._missing: list[Document] = []  # documents the cache did not know, in arrival order
        self._missing_chars = 0
        self._unsent: list[str] = []  # their texts not yet handed to a counting thread
        self._unsent_chars = 0
        self._jobs: list[Future[list[int]]] = []  # counts of consecutive runs of _missing
        # recounts of redacted texts: [(index in _missing, redacted text)], and their stretch_pieces' sizes and counts
        self._recounts: list[tuple[list[tuple[int, str]], list[int], Future[list[int]]]] = []
        self._pool: ThreadPoolExecutor | None = None
        self._scan: PendingRedactions | None = scan
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
        self._recount_found()
        self._report()

    def result(self, documents: Sequence[Document]) -> list[Prepared]:
        """Prepared `documents` (every one of them added before), in their order."""
        if self._missing:
            self._settle_missing()
        return [self._settled[id(doc)] for doc in documents]

    def _settle_missing(self) -> None:
        if self._unsent:
            self._submit()
        counts: list[int] = []
        for job in self._jobs:
            self._recount_found()  # while counting goes on, so that few recounts are left for the end
            counts += job.result()
            self._report()
        redacted = self._redacted()
        recounted = self._recounted()
        changed = [k for k, (_, found) in enumerate(redacted) if found]
        late = [k for k in changed if k not in recounted or recounted[k][0] != redacted[k][0]]
        if late:  # found at the very end, or without a background scan
            for k, (before, after) in zip(late, count_stretches([(self._missing[k].text, redacted[k][0])
                                                                  for k in late])):
                recounted[k] = (redacted[k][0], before, after)
        for k in changed:
            _, before, after = recounted[k]
            counts[k] += after - before
        fresh = {}
        for doc, (text, found), tokens in zip(self._missing, redacted, counts):
            self._settled[id(doc)] = Prepared(doc, text, tokens, found)
            fresh[self._key(doc)] = {"t": tokens, "r": [[r.line, r.kind] for r in found]}
        self.cache.put_many(fresh)
        if self._scan is not None:  # done: documents added after this are scanned anew
            self._scan.__exit__(None, None, None)
        self._missing, self._missing_chars, self._jobs, self._recounts, self._scan = [], 0, [], [], None
        self._report()

    def _redacted(self) -> list[tuple[str, tuple]]:
        """(text to pack, redactions) of each missing document."""
        from v4cli.context.secrets.batch import redact_all

        if not self.redact:
            return [(doc.text, ()) for doc in self._missing]
        if self._scan is None:
            return redact_all(doc.text for doc in self._missing)
        self._recount_found()
        return self._scan.result()

    def _recount_found(self) -> None:
        """Count, on the counting threads, the changed stretches of the texts that the scan in the background
        has found secrets in since the last call (see recount_edited)."""
        from v4cli.context.tokens import count_part

        found = [(k, text) for k, text, _ in self._scan.take_found()] if self._scan is not None else []
        if found:
            pieces, sizes = stretch_pieces([(self._missing[k].text, text) for k, text in found])
            self._recounts.append((found, sizes, self._pool_for().submit(count_part, pieces)))

    def _recounted(self) -> dict[int, tuple[str, int, int]]:
        """The recounts so far: index in _missing -> (redacted text, tokens of its changed stretch before, after)."""
        recounted = {}
        for found, sizes, job in self._recounts:
            for (k, text), (before, after) in zip(found, _paired(job.result(), sizes)):
                recounted[k] = (text, before, after)
        return recounted

    def _count(self, texts: list[str]) -> None:
        from v4cli.context.tokens import PART_CHARS

        for text in texts:  # parts of about PART_CHARS, so that every counting thread keeps busy to the end
            self._unsent.append(text)
            self._unsent_chars += len(text)
            if self._unsent_chars >= PART_CHARS:
                self._submit()

    def _submit(self) -> None:
        from v4cli.context.tokens import count_part

        self._jobs.append(self._pool_for().submit(count_part, self._unsent))
        self._unsent, self._unsent_chars = [], 0

    def _pool_for(self) -> ThreadPoolExecutor:
        from concurrent.futures import ThreadPoolExecutor

        from v4cli.context.tokens import usable_cpus

        if self._pool is None:
            self._pool = ThreadPoolExecutor(usable_cpus(), thread_name_prefix="v4-tokens")
        return self._pool

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


def scan_ahead() -> PendingRedactions | None:
    """The secret scan's child process, started before the first text is read, for a run sure to scan many
    (a first run: no file is cached): it starts while planning leaves the second core idle."""
    from v4cli.context.secrets.batch import PendingRedactions
    from v4cli.context.tokens import usable_cpus

    return PendingRedactions(background=True) if usable_cpus() > 1 else None


def recount_edited(edits: Sequence[tuple[str, str, int]]) -> list[int]:
    """Token counts of edited texts, each given as (before, after, tokens before): only the stretches where they
    differ are counted, widened to places where the pre-tokenizer always splits (see tokens.first_split), so the
    unchanged rest keeps its share of the count. Redactions change a few lines of large test files; counting
    those files again was the last serial step of a cold pack."""
    counted = count_stretches([(before, after) for before, after, _ in edits])
    return [tokens - before + after for (_, _, tokens), (before, after) in zip(edits, counted)]


def count_stretches(pairs: Sequence[tuple[str, str]]) -> list[tuple[int, int]]:
    """For each (before, after) pair of texts, the tokens of the stretches where they differ: (in before, in after)."""
    from v4cli.context.tokens import get_tokenizer

    pieces, sizes = stretch_pieces(pairs)
    return _paired(get_tokenizer().count_many(pieces) if pieces else [], sizes)


def stretch_pieces(pairs: Sequence[tuple[str, str]]) -> tuple[list[str], list[int]]:
    """The stretches where (before, after) pairs differ, pair after pair: those of the before, then those of the
    after; and how many stretches each pair has."""
    pieces, sizes = [], []
    for before, after in pairs:
        stretches = _changed_stretches(before, after)
        pieces += [before[start:end] for start, end, _, _ in stretches]
        pieces += [after[start:end] for _, _, start, end in stretches]
        sizes.append(len(stretches))
    return pieces, sizes


def _paired(counted: list[int], sizes: list[int]) -> list[tuple[int, int]]:
    """Counts of stretch_pieces as (before, after) sums, one per pair."""
    sums, at = [], 0
    for size in sizes:
        sums.append((sum(counted[at : at + size]), sum(counted[at + size : at + 2 * size])))
        at += 2 * size
    return sums


def _changed_stretches(before: str, after: str) -> list[tuple[int, int, int, int]]:
    """Where two texts differ, as (start, end in `before`, start, end in `after`), in order: outside of these
    stretches the texts are equal, and each starts and ends at a text's edge or at a place where the
    pre-tokenizer always splits. Found line by line when both have as many lines (a redaction replaces a value
    within its line), so that changes far apart in a large file are each counted again on their own; else one
    stretch runs from the first difference to the last."""
    from v4cli.context.tokens import first_split, last_split

    lines_before, lines_after = before.splitlines(keepends=True), after.splitlines(keepends=True)
    if len(lines_before) != len(lines_after):
        start, end, end_after = _changed_stretch(before, after)
        return [(start, end, start, end_after)]
    stretches: list[list[int]] = []
    at, at_after = 0, 0
    for line, line_after in zip(lines_before, lines_after):
        if line != line_after:
            shift, shift_after = at_after - at, at_after + len(line_after) - at - len(line)
            start = last_split(before, at) or 0  # both characters around it lie in the equal text before the line
            end = first_split(before, at + len(line)) or len(before)  # ... after the line
            if stretches and start <= stretches[-1][1]:  # reaches back into the last stretch: one stretch
                stretches[-1][1] = max(stretches[-1][1], end)
                stretches[-1][3] = stretches[-1][1] + shift_after
            else:
                stretches.append([start, end, start + shift, end + shift_after])
        at, at_after = at + len(line), at_after + len(line_after)
    return [tuple(stretch) for stretch in stretches]


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


def count_cached_together(texts: Sequence[str], cache: Cache) -> list[int]:
    """Exact token counts of many small strings (the frames and edges of every file of a context), stored as
    one cache entry for the whole list: one lookup instead of ten thousand. A list that changes is counted
    again whole, which for small strings costs less than storing and fetching each of them."""
    from array import array

    import xxhash

    data = [text.encode("utf-8", "surrogatepass") for text in texts]
    digest = xxhash.xxh3_128(array("Q", map(len, data)).tobytes())
    digest.update(b"".join(data))
    key = f"txts:{digest.hexdigest()}:{COUNT_VERSION}"
    hit = cache.get_many([key]).get(key)
    if isinstance(hit, list) and len(hit) == len(texts) and all(isinstance(n, int) for n in hit):
        return hit
    from v4cli.context.tokens import get_tokenizer

    distinct = list(dict.fromkeys(texts))  # every file's closing tag is the same string, as are empty edges
    counted = dict(zip(distinct, get_tokenizer().count_many(distinct)))
    counts = [counted[text] for text in texts]
    cache.put_many({key: counts})
    return counts
