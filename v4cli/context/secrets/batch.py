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


class PendingRedactions:
    """`redact` of every text given (at construction and through `add`), computed in a child process when
    `background`, as the texts arrive; use as a context manager."""

    def __init__(self, texts: Iterable[str] = (), *, background: bool) -> None:
        self._texts: list[str] = []
        self._child: subprocess.Popen | None = None
        self._thread: threading.Thread | None = None
        self._queue: queue.SimpleQueue[list[str] | None] = queue.SimpleQueue()
        self._reply: bytes | None = None
        if background and sys.executable and not getattr(sys, "frozen", False):  # a frozen app runs no Python code
            try:
                self._child = subprocess.Popen(
                    [sys.executable, "-c", _CHILD, _ROOT],
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                )
            except OSError:
                pass
            else:
                self._thread = threading.Thread(target=self._exchange, name="v4-redact", daemon=True)
                self._thread.start()
        self.add(texts)

    def add(self, texts: Iterable[str]) -> None:
        """More texts to scan; in the background they are sent to the child at once."""
        texts = list(texts)
        self._texts.extend(texts)
        if self._thread is not None and texts:
            self._queue.put(texts)

    def _exchange(self) -> None:
        """Send the texts a batch at a time as they come (neither side holds a second copy of them all), then
        read the answer: the child answers only once it has read everything, so the pipes never block each other."""
        child = self._child
        try:
            with child.stdin:
                while (texts := self._queue.get()) is not None:
                    for start in range(0, len(texts), _BATCH):
                        pickle.dump(texts[start : start + _BATCH], child.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            reply = child.stdout.read()
        except (OSError, ValueError):  # the child is gone: scan here
            reply = None
        finally:
            child.stdout.close()
        if child.wait() == 0:
            self._reply = reply

    def result(self) -> list[Redacted]:
        """(text to pack, redactions) for each text, in order."""
        if self._thread is not None:
            self._queue.put(None)  # no more texts
            self._thread.join()
            changes = _changes(self._reply, len(self._texts))
            if changes is not None:
                results: list[Redacted] = [(text, ()) for text in self._texts]
                for i, text, found in changes:
                    results[i] = (text, tuple(Redaction(line, kind) for line, kind in found))
                return results
        return [(text, tuple(found)) for text, found in map(redact, self._texts)]

    def __enter__(self) -> PendingRedactions:
        return self

    def __exit__(self, *exc: object) -> None:
        self._queue.put(None)  # the sender stops waiting for texts
        if self._child is not None and self._child.poll() is None:
            self._child.kill()  # interrupted: no scan outlives the command
            self._child.wait()


def _changes(reply: bytes | None, count: int) -> list[tuple[int, str, list[tuple[int, str]]]] | None:
    """The child's answer, or None when there is none or it is not what `serve` writes."""
    if reply is None:
        return None
    try:
        changes = pickle.loads(reply)
        ok = isinstance(changes, list) and all(
            0 <= i < count and isinstance(text, str)
            and all(isinstance(line, int) and isinstance(kind, str) for line, kind in found)
            for i, text, found in changes
        )
    except Exception:  # a damaged reply of any shape: scan here instead
        return None
    return changes if ok else None


def serve() -> None:
    """The child: pickled lists of texts on stdin until its end; on stdout, (index, redacted text,
    [(line, kind)]) for each text that holds a secret, indices counted across the lists."""
    changes = []
    index = 0
    while True:
        try:
            texts = pickle.load(sys.stdin.buffer)
        except EOFError:
            break
        for text in texts:
            redacted, found = redact(text)
            if found:
                changes.append((index, redacted, [(r.line, r.kind) for r in found]))
            index += 1
    sys.stdout.buffer.write(pickle.dumps(changes, protocol=pickle.HIGHEST_PROTOCOL))
