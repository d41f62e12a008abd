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

    from v4cli.context.worker import Worker

# Bump when the meaning of a cached count changes (tokenizer or counting rules).
COUNT_VERSION = "dsv4-1"

# From this many characters to prepare, they are scanned and counted in a second process (see worker.py).
_WORKER_CHARS = 2_000_000
Progress = Callable[[str, int, int], None]  # (stage, done, total)

# The worker of the preparation under way, which counts what count_cached is asked for while it runs.
_counting_worker: Worker | None = None


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

    Documents the cache knows are settled at once. The others go to a worker process (see worker.py) once there
    are enough of them; until then, and if it fails, they are counted here in parts on a pool of threads
    (tiktoken releases the GIL) and scanned at the end, and the few texts that redaction changes are counted
    again where they changed. While a worker runs, count_cached and count_cached_together count through it.
    """

    def __init__(self, cache: Cache, *, redact: bool = True, progress: Progress | None = None,
                 expected: int = 0, worker: Worker | None = None, expected_chars: int = 0) -> None:
        """`expected`: how many documents will be added (for progress). `worker`: one started ahead (see
        start_worker_ahead), which this preparation owns from now on; it is stopped at once, and the documents
        are prepared here, when `expected_chars` are too few to make a second process worth it and the tokenizer
        is already built here."""
        from v4cli.context import secrets, tokens

        if worker is not None and expected_chars < _WORKER_CHARS and tokens.is_built():
            worker.close()
            worker = None

        self.cache, self.redact, self.progress, self.expected = cache, redact, progress, expected
        self.variant = f"{COUNT_VERSION}:{secrets.SCANNER_VERSION if redact else 'raw'}"
        self._settled: dict[int, Prepared] = {}  # by id() of the document
        self._missing: list[Document] = []  # documents the cache did not know, in arrival order
        self._missing_chars = 0
        self._worker: Worker | None = None
        self._worker_base = 0  # texts the worker had been given when _missing was last emptied
        self._unsent: list[str] = []  # without a worker: texts not yet handed to a counting thread
        self._unsent_chars = 0
        self._jobs: list[Future[list[int]]] = []  # ... and counts of consecutive runs of _missing
        self._pool: ThreadPoolExecutor | None = None
        self._skipped = 0
        self._reported = 0
        if worker is not None:
            self._use(worker)

    def add(self, documents: Sequence[Document], skipped: int = 0) -> None:
        """Documents just read (and how many candidates were skipped instead, for progress)."""
        from v4cli.context import secrets
        from v4cli.context.tokens import usable_cpus

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
            if self._worker is not None:
                self._worker.add(doc.text for doc in missing)
            elif self._missing_chars >= _WORKER_CHARS and usable_cpus() > 1:
                from v4cli.context.worker import Worker

                self._use(Worker(redact=self.redact))  # takes over all that is missing, counted here or not
            else:
                self._count([doc.text for doc in missing])
        self._report()

    def result(self, documents: Sequence[Document]) -> list[Prepared]:
        """Prepared `documents` (every one of them added before), in their order."""
        if self._missing:
            self._settle_missing()
        return [self._settled[id(doc)] for doc in documents]

    def _use(self, worker: Worker) -> None:
        """Hand the missing documents, and those to come, to `worker` (counting here stops)."""
        global _counting_worker
        for job in self._jobs:
            job.cancel()
        self._jobs, self._unsent, self._unsent_chars = [], [], 0
        self._worker = _counting_worker = worker
        self._worker_base = worker.counted
        worker.add(doc.text for doc in self._missing)

    def _settle_missing(self) -> None:
        prepared = self._worker.results(self._report) if self._worker is not None else None
        if prepared is None:  # no worker, or it failed
            prepared = self._prepare_here()
        fresh = {}
        for doc, (text, found, tokens) in zip(self._missing, prepared):
            self._settled[id(doc)] = Prepared(doc, text, tokens, found)
            fresh[self._key(doc)] = {"t": tokens, "r": [[r.line, r.kind] for r in found]}
        self.cache.put_many(fresh)
        self._missing, self._missing_chars, self._jobs = [], 0, []
        self._worker_base = self._worker.counted if self._worker is not None else 0
        self._report()

    def _prepare_here(self) -> list[tuple[str, tuple, int]]:
        """(text to pack, redactions, tokens) of each missing document, scanned and counted in this process."""
        from v4cli.context.secrets import redact
        from v4cli.context.tokens import get_tokenizer

        texts = [doc.text for doc in self._missing]
        if self._worker is None:
            if self._unsent:
                self._submit()
            counts = [n for job in self._jobs for n in job.result()]
        else:  # the worker failed: what it was given is all counted here
            counts = get_tokenizer().count_many(texts)
        if not self.redact:
            return [(text, (), n) for text, n in zip(texts, counts)]
        redacted = [(after, tuple(found)) for after, found in map(redact, texts)]
        changed = [k for k, (_, found) in enumerate(redacted) if found]
        for k, recounted in zip(changed, recount_edited([(texts[k], redacted[k][0], counts[k]) for k in changed])):
            counts[k] = recounted
        return [(text, found, n) for (text, found), n in zip(redacted, counts)]

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

    def _key(self, doc: Document) -> str:
        return f"doc:{doc.digest}:{self.variant}"

    def _report(self) -> None:
        if not self.progress:
            return
        if self._worker is not None:
            counted = self._worker.counted - self._worker_base
        else:
            counted = sum(len(job.result()) for job in self._jobs if job.done() and not job.cancelled()
                          and not job.exception())
        # never backwards, though the count starts over when a worker takes over
        self._reported = max(self._reported, len(self._settled) + min(counted, len(self._missing)) + self._skipped)
        self.progress("counting tokens", self._reported, max(self.expected, self._reported))

    def __enter__(self) -> Preparation:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        global _counting_worker
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
        if self._worker is not None:
            if _counting_worker is self._worker:
                _counting_worker = None
            self._worker.close(interrupted=exc_type is not None)


def start_worker_ahead(redact: bool) -> Worker | None:
    """A worker process started before the first text is read, for a run sure to prepare many (a first run: no
    file is cached): it starts, and builds its tokenizer, while planning leaves the second core idle."""
    from v4cli.context.tokens import usable_cpus
    from v4cli.context.worker import Worker

    return Worker(redact=redact) if usable_cpus() > 1 else None


def recount_edited(edits: Sequence[tuple[str, str, int]]) -> list[int]:
    """Token counts of edited texts, each given as (before, after, tokens before): only the stretches where they
    differ are counted, widened to places where the pre-tokenizer always splits (see tokens.first_split), so the
    unchanged rest keeps its share of the count. Redactions change a few lines of large test files; counting
    those files again whole would cost as much as counting them the first time."""
    from v4cli.context.tokens import get_tokenizer

    pieces, sizes = [], []  # edit after edit: its stretches in before, then in after
    for before, after, _ in edits:
        stretches = _changed_stretches(before, after)
        pieces += [before[start:end] for start, end, _, _ in stretches]
        pieces += [after[start:end] for _, _, start, end in stretches]
        sizes.append(len(stretches))
    counted = get_tokenizer().count_many(pieces) if pieces else []
    recounted, at = [], 0
    for (_, _, tokens), size in zip(edits, sizes):
        recounted.append(tokens - sum(counted[at : at + size]) + sum(counted[at + size : at + 2 * size]))
        at += 2 * size
    return recounted


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
        fresh = {keys[t]: n for t, n in zip(missing, _count_many(missing))}
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
    distinct = list(dict.fromkeys(texts))  # every file's closing tag is the same string, as are empty edges
    counted = dict(zip(distinct, _count_many(distinct)))
    counts = [counted[text] for text in texts]
    cache.put_many({key: counts})
    return counts


def _count_many(texts: list[str]) -> list[int]:
    """Token counts, from the worker while one runs (its tokenizer is built; this process's may not be)."""
    from v4cli.context.tokens import get_tokenizer

    counts = _counting_worker.count(texts) if _counting_worker is not None else None
    return counts if counts is not None else get_tokenizer().count_many(texts)
