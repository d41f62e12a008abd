"""Scan for secrets and count tokens in a second Python process.

Two parts of preparing texts hold the GIL for long: building the tokenizer (~0.3 s: tiktoken takes its 128k
vocabulary entries into its own tables with the GIL held) and the secret scan (pure Python). In this process they
would take turns with planning and reading; in a child they run on a core of their own, from before the first
file is read. The child counts each text as it will be packed (redacted first), on threads of its own, and
later counts the small strings that frame the files, so that a first run never builds the tokenizer here.

The results are always those of scanning and counting here: a child that cannot start, fails or answers
anything unexpected is simply not used (`results` and `count` answer None, and the caller works here).
"""

from __future__ import annotations

import pickle
import queue
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from v4cli.context.secrets import Redaction

# The child imports this same v4cli, not whatever a `v4cli` in its working directory would be.
_ROOT = str(Path(__file__).resolve().parents[2])
_CHILD = "import sys; sys.path.insert(0, sys.argv[1]); from v4cli.context.worker import serve; serve()"

_BATCH = 256  # texts per message sent to the child
Result = tuple[str, tuple[Redaction, ...], int]  # (text to pack, redactions, its tokens)


class Worker:
    """The child process and the two threads that talk to it; use as a context manager.

    Texts given with `add` are scanned (when `redact`) and counted as they arrive; `results` waits for those
    given since its last call. `count` asks for the counts of more texts, answered after those."""

    def __init__(self, *, redact: bool) -> None:
        self._texts: list[str] = []  # every text given, in order
        self._counts: list[int | None] = []  # their counts, as the child's answers come (in any order)
        self._found: dict[int, tuple[str, tuple[Redaction, ...]]] = {}  # index -> redacted text, redactions
        self._sent = 0  # texts written to the child
        self._counted = 0  # texts the child has counted
        self._returned = 0  # texts `results` has answered for
        self._outbox: queue.SimpleQueue[tuple[str, list[str]] | None] = queue.SimpleQueue()
        self._answers: queue.SimpleQueue[list[int] | None] = queue.SimpleQueue()  # to `count`, in order
        self._changed = threading.Condition()  # notified as counts come and when the receiver stops
        self._ended = False  # the receiver has stopped: the child failed, answered nonsense or was stopped
        self._child: subprocess.Popen | None = None
        self._threads: list[threading.Thread] = []
        if sys.executable and not getattr(sys, "frozen", False):  # a frozen app runs no Python code
            try:
                self._child = subprocess.Popen(
                    [sys.executable, "-c", _CHILD, _ROOT, "redact" if redact else "count"],
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                )
            except OSError:
                pass
        if self._child is None:
            self._ended = True
            return
        # Two threads: the answers are read while texts are still being written, so that neither pipe can fill
        # up and block the other.
        self._threads = [threading.Thread(target=self._send, name="v4-worker-send", daemon=True),
                         threading.Thread(target=self._receive, name="v4-worker-receive", daemon=True)]
        for thread in self._threads:
            thread.start()

    @property
    def counted(self) -> int:
        """How many of the texts given so far are counted (for progress)."""
        return self._counted

    def add(self, texts: Iterable[str]) -> None:
        """More texts to prepare; they are sent to the child at once."""
        texts = list(texts)
        if texts:
            self._texts += texts
            self._counts += [None] * len(texts)
            self._outbox.put(("texts", texts))

    def results(self, waiting: Callable[[], None] | None = None) -> list[Result] | None:
        """(text to pack, redactions, tokens) of each text given since the last call, in order; None if the
        child did not answer for all of them. `waiting()` is called every tenth of a second until then (progress)."""
        while True:
            with self._changed:
                if self._changed.wait_for(lambda: self._ended or self._counted == len(self._texts), timeout=0.1):
                    break
            if waiting:
                waiting()
        if self._counted != len(self._texts):
            return None
        start, self._returned = self._returned, len(self._texts)
        return [(*self._found.get(i, (self._texts[i], ())), self._counts[i]) for i in range(start, len(self._texts))]

    def count(self, texts: Sequence[str]) -> list[int] | None:
        """Token counts of `texts`, counted by the child; None if it cannot answer."""
        if self._ended:
            return None
        self._outbox.put(("count", list(texts)))
        return self._answers.get()  # None once the receiver has stopped

    def _send(self) -> None:
        """Write each message as it comes, large ones a batch of texts at a time (neither side holds a second copy
        of them all)."""
        child = self._child
        try:
            with child.stdin:
                while (message := self._outbox.get()) is not None:
                    kind, texts = message
                    if kind == "count":
                        pickle.dump(message, child.stdin, protocol=pickle.HIGHEST_PROTOCOL)
                    else:
                        for start in range(0, len(texts), _BATCH):
                            chunk = texts[start : start + _BATCH]
                            self._sent += len(chunk)  # before the write: the answer may come before it returns
                            pickle.dump((kind, chunk), child.stdin, protocol=pickle.HIGHEST_PROTOCOL)
                    child.stdin.flush()  # the child answers what it has: none may wait in our buffer
        except (OSError, ValueError):  # the child is gone: the receiver sees it end
            pass

    def _receive(self) -> None:
        """Read the child's answers until it ends; anything unexpected stops it being used."""
        try:
            with self._child.stdout as answers:
                while self._accept(pickle.load(answers)):
                    pass
        except Exception:  # the child ended, or a damaged answer of any shape
            pass
        finally:
            with self._changed:
                self._ended = True
                self._changed.notify_all()
            self._answers.put(None)

    def _accept(self, message: object) -> bool:
        """Record one answer: ("counted", first index, counts), ("found", [(index, redacted text, [(line, kind)])])
        or ("answer", counts) to a `count`."""
        if not isinstance(message, tuple) or not message:
            return False
        if message[0] == "counted" and len(message) == 3:
            _, start, counts = message
            if not (isinstance(start, int) and _are_counts(counts) and 0 <= start
                    and start + len(counts) <= self._sent and all(n is None for n in self._counts[start : start + len(counts)])):
                return False
            self._counts[start : start + len(counts)] = counts
            with self._changed:
                self._counted += len(counts)
                self._changed.notify_all()
            return True
        if message[0] == "found" and len(message) == 2 and isinstance(message[1], list):
            for change in message[1]:
                if not (isinstance(change, tuple) and len(change) == 3 and isinstance(change[0], int)
                        and 0 <= change[0] < self._sent and isinstance(change[1], str) and isinstance(change[2], list)
                        and all(isinstance(line, int) and isinstance(kind, str) for line, kind in change[2])):
                    return False
                index, text, found = change
                self._found[index] = (text, tuple(Redaction(line, kind) for line, kind in found))
            return True
        if message[0] == "answer" and len(message) == 2 and _are_counts(message[1]):
            self._answers.put(message[1])
            return True
        return False

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        self.close(interrupted=exc_type is not None)

    def close(self, *, interrupted: bool = False) -> None:
        """Let the child go: the end of its input ends it, without this process waiting for its exit (its
        tables take a moment to free); `interrupted`: stop it at once, whatever it is still doing."""
        self._outbox.put(None)  # the sender closes the child's input once it has sent what it holds
        if interrupted and self._child is not None and self._child.poll() is None:
            self._child.kill()
            self._child.wait()


def _are_counts(counts: object) -> bool:
    return isinstance(counts, list) and all(isinstance(n, int) and n >= 0 for n in counts)


def serve() -> None:
    """The child: messages on stdin until its end, answers on stdout (see Worker._accept). Any failure ends it,
    which the parent sees."""
    import os

    try:
        _serve(redact=sys.argv[2] == "redact")
    except BaseException:
        os._exit(1)  # a counting thread may still run: end at once, without waiting for it


def _serve(redact: bool) -> None:
    import os
    from concurrent.futures import ThreadPoolExecutor

    from v4cli.context import tokens
    from v4cli.context.secrets import redact as redact_text

    tokens.build_in_background()  # while the parent plans: the first texts come in a moment
    out, lock = sys.stdout.buffer, threading.Lock()

    def answer(message: tuple) -> None:
        with lock:
            pickle.dump(message, out, protocol=pickle.HIGHEST_PROTOCOL)
            out.flush()

    def count(start: int, texts: list[str]) -> None:
        try:
            answer(("counted", start, tokens.count_part(texts)))
        except BaseException:
            os._exit(1)  # never leave the parent waiting for counts that will not come

    pool = ThreadPoolExecutor(tokens.usable_cpus(), thread_name_prefix="v4-tokens")
    index = 0
    while True:
        try:
            kind, texts = pickle.load(sys.stdin.buffer)
        except EOFError:
            break
        if kind == "count":
            answer(("answer", tokens.get_tokenizer().count_many(texts)))
            continue
        if redact:
            changes = []
            for k, text in enumerate(texts):
                redacted, found = redact_text(text)
                if found:
                    texts[k] = redacted  # counted as it will be packed
                    changes.append((index + k, redacted, [(r.line, r.kind) for r in found]))
            if changes:
                answer(("found", changes))  # before the counts: complete counts mean complete finds
        for start, part in _parts(texts):
            pool.submit(count, index + start, part)
        index += len(texts)
    os._exit(0)


def _parts(texts: list[str]) -> Iterable[tuple[int, list[str]]]:
    """Consecutive runs of `texts` of about tokens.PART_CHARS characters, with the index of each run's first
    text: small enough that both counting threads keep busy to the end."""
    from v4cli.context.tokens import PART_CHARS, _contiguous_batches

    total, start = sum(map(len, texts)), 0
    for part in _contiguous_batches(texts, total, parts=max(1, total // PART_CHARS)):
        yield start, part
        start += len(part)
