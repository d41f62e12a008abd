"""Redact many texts at once, optionally in a second Python process.

The scan is pure Python and holds the GIL: run beside the threads that count tokens, it stalls them each
time they need the GIL back, and the two mostly take turns. In a child process it runs on a core of its
own. The results are always those of `redact`: if the child cannot start or fails, the texts are scanned
here instead.
"""

from __future__ import annotations

import pickle
import queue
import subprocess
import sys
import threading
from collections.abc import Iterable
from pathlib import Path

from v4cli.context.secrets import Redaction, redact

# The child imports this same v4cli, not whatever a `v4cli` in its working directory would be.
_ROOT = str(Path(__file__).resolve().parents[3])
_CHILD = "import sys; sys.path.insert(0, sys.argv[1]); from v4cli.context.secrets.batch import serve; serve()"

_BATCH = 256  # texts per pickle sent to the child
Redacted = tuple[str, tuple[Redaction, ...]]
Found = tuple[int, str, tuple[Redaction, ...]]  # (index, redacted text, redactions)


class PendingRedactions:
    """`redact` of every text given (at construction and through `add`), computed in a child process when
    `background`, as the texts arrive; use as a context manager. The child answers batch by batch, so a caller
    can act on the texts found to hold secrets (`take_found`) while the rest are still being scanned."""

    def __init__(self, texts: Iterable[str] = (), *, background: bool) -> None:
        self._texts: list[str] = []
        self._child: subprocess.Popen | None = None
        self._threads: list[threading.Thread] = []
        self._queue: queue.SimpleQueue[list[str] | None] = queue.SimpleQueue()
        self._sent = 0  # texts written to the child
        self._covered = 0  # texts the child has answered for
        self._found: list[Found] = []  # its answers so far: the texts that hold secrets, in order
        self._taken = 0  # how many of them take_found has handed out
        self._complete = False  # the child said it has answered for every text it was given
        self._ended = threading.Event()  # the receiver has stopped: the child is done, failed or was stopped
        if background and sys.executable and not getattr(sys, "frozen", False):  # a frozen app runs no Python code
            try:
                self._child = subprocess.Popen(
                    [sys.executable, "-c", _CHILD, _ROOT],
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                )
            except OSError:
                pass
            else:
                # Two threads: the child's answers are read while texts are still being written to it, so that
                # neither pipe can fill up and block the other.
                self._threads = [threading.Thread(target=self._send, name="v4-redact-send", daemon=True),
                                 threading.Thread(target=self._receive, name="v4-redact-receive", daemon=True)]
                for thread in self._threads:
                    thread.start()
        self.add(texts)

    def add(self, texts: Iterable[str]) -> None:
        """More texts to scan; in the background they are sent to the child at once."""
        texts = list(texts)
        self._texts.extend(texts)
        if self._threads and texts:
            self._queue.put(texts)

    def take_found(self) -> list[Found]:
        """(index, redacted text, redactions) of the texts the child has found secrets in since the last call
        (indices count every text given, in order). Empty when the scan does not run in the background; the
        final word is always `result`'s, which also covers a child that failed after answering some."""
        found = self._found[self._taken :]
        self._taken += len(found)
        return found

    def _send(self) -> None:
        """Write the texts a batch at a time as they come (neither side holds a second copy of them all)."""
        child = self._child
        try:
            with child.stdin:
                while (texts := self._queue.get()) is not None:
                    for start in range(0, len(texts), _BATCH):
                        chunk = texts[start : start + _BATCH]
                        self._sent += len(chunk)  # before the write: the answer may come back before it returns
                        pickle.dump(chunk, child.stdin, protocol=pickle.HIGHEST_PROTOCOL)
                    child.stdin.flush()  # the child answers what it has: none may wait in our buffer
        except (OSError, ValueError):  # the child is gone: the receiver sees it end
            pass

    def _receive(self) -> None:
        """Read the child's answers, one per batch, up to its last word (None); anything unexpected, or an end
        before that word, means scanning here."""
        try:
            with self._child.stdout as answers:
                while (answer := pickle.load(answers)) is not None and self._accept(answer):
                    pass
                self._complete = answer is None  # its exit (tens of milliseconds) is not waited for
        except Exception:  # the child ended early, or a damaged answer of any shape
            pass
        finally:
            self._ended.set()

    def _accept(self, answer: object) -> bool:
        """Record one batch's answer: (texts covered so far, [(index, redacted text, [(line, kind)])])."""
        if not (isinstance(answer, tuple) and len(answer) == 2 and isinstance(answer[1], list)):
            return False
        covered, changes = answer
        if not (isinstance(covered, int) and self._covered < covered <= self._sent):
            return False
        if not all(
            isinstance(change, tuple) and len(change) == 3 and isinstance(change[0], int)
            and self._covered <= change[0] < covered and isinstance(change[1], str) and isinstance(change[2], list)
            and all(isinstance(line, int) and isinstance(kind, str) for line, kind in change[2])
            for change in changes
        ):
            return False
        self._found.extend((i, text, tuple(Redaction(line, kind) for line, kind in found)) for i, text, found in changes)
        self._covered = covered
        return True

    def result(self) -> list[Redacted]:
        """(text to pack, redactions) for each text, in order."""
        if self._threads:
            self._queue.put(None)  # no more texts
            self._ended.wait()
            if self._complete and self._covered == len(self._texts):
                results: list[Redacted] = [(text, ()) for text in self._texts]
                for i, text, found in self._found:
                    results[i] = (text, found)
                return results
        return redact_all(self._texts)

    def __enter__(self) -> PendingRedactions:
        return self

    def __exit__(self, *exc: object) -> None:
        self._queue.put(None)  # the sender stops waiting for texts
        if self._child is not None and self._child.poll() is None:
            self._child.kill()  # interrupted: no scan outlives the command
            self._child.wait()


def redact_all(texts: Iterable[str]) -> list[Redacted]:
    """(text to pack, redactions) for each text, scanned in this process."""
    return [(text, tuple(found)) for text, found in map(redact, texts)]


def serve() -> None:
    """The child: pickled lists of texts on stdin until its end; on stdout, one answer per list, as soon as it
    is scanned: (texts covered so far, [(index, redacted text, [(line, kind)])] for each text of the list that
    holds a secret), indices counted across the lists; then None."""
    index = 0
    out = sys.stdout.buffer
    while True:
        try:
            texts = pickle.load(sys.stdin.buffer)
        except EOFError:
            break
        changes = []
        for text in texts:
            redacted, found = redact(text)
            if found:
                changes.append((index, redacted, [(r.line, r.kind) for r in found]))
            index += 1
        pickle.dump((index, changes), out, protocol=pickle.HIGHEST_PROTOCOL)
        out.flush()
    pickle.dump(None, out)  # all answered: the parent need not wait for this process to exit
    out.flush()
