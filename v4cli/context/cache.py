"""Content-addressed cache of per-file work (token counts, redactions, later parse results) in SQLite.

Keys are content digests plus the version of whatever produced the value, so an edited file or a new
tokenizer simply misses. The cache is an accelerator, never a source of truth: a corrupt, foreign or
locked database is rebuilt or bypassed, and a failure to write is ignored. WAL mode plus one short
transaction per batch lets concurrent `v4` runs share it without corrupting it.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

SCHEMA = "v4-cache-1"
_BUSY_TIMEOUT_MS = 5_000
_QUICK_BUSY_RETRIES = 5
# One encoder for every value: json.dumps with options builds a new one per call, which cost more than the
# SQLite insert itself when a cold pack stores ~10k small values.
_encode = json.JSONEncoder(ensure_ascii=True, separators=(",", ":")).encode


def default_cache_dir() -> Path:
    """`$V4_CACHE_DIR`, else the XDG cache dir (`~/.cache/v4` on Linux)."""
    override = os.environ.get("V4_CACHE_DIR")
    if override:
        return Path(override)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("v4", appauthor=False))


class Cache:
    """A key → JSON value store. `Cache(None)` is a disabled cache that remembers nothing."""

    def __init__(self, directory: Path | None) -> None:
        self._db: sqlite3.Connection | None = None
        self.path = directory / "cache.sqlite" if directory is not None else None
        if self.path is not None:
            self._db = self._open_or_rebuild(self.path)

    def get_many(self, keys: Iterable[str]) -> dict[str, object]:
        """Values for the keys present; missing keys are simply absent."""
        keys = list(keys)
        if self._db is None or not keys:
            return {}
        found: dict[str, object] = {}
        try:
            for start in range(0, len(keys), 500):  # SQLite caps bound parameters per statement
                chunk = keys[start : start + 500]
                marks = ",".join("?" * len(chunk))
                for key, value in self._db.execute(f"SELECT key, value FROM entries WHERE key IN ({marks})", chunk):
                    found[key] = json.loads(value)
        except (sqlite3.Error, ValueError):
            return found  # a damaged row or a locked database costs a recomputation, nothing more
        return found

    def get_text(self, key: str) -> str | None:
        """The stored JSON text of one value, unparsed (for a caller that parses it only if it needs it)."""
        if self._db is None:
            return None
        try:
            row = self._db.execute("SELECT value FROM entries WHERE key = ?", (key,)).fetchone()
        except sqlite3.Error:
            return None
        return row[0] if row else None

    def is_empty(self) -> bool:
        """Whether nothing is stored (a new cache, or a disabled one): then every count is still to compute."""
        if self._db is None:
            return True
        try:
            return self._db.execute("SELECT 1 FROM entries LIMIT 1").fetchone() is None
        except sqlite3.Error:
            return False

    def put_many(self, items: Mapping[str, object]) -> None:
        if self._db is None or not items:
            return
        rows = [(key, _encode(value)) for key, value in items.items()]
        try:
            with self._db:
                self._db.executemany("INSERT OR REPLACE INTO entries(key, value) VALUES (?, ?)", rows)
        except sqlite3.Error:
            pass  # best effort: another run holding the lock, a full disk, a read-only directory

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    @staticmethod
    def _open_or_rebuild(path: Path) -> sqlite3.Connection | None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError:
            return None
        rebuilt = False
        for quick_retry in range(_QUICK_BUSY_RETRIES + 1):
            started = time.monotonic()
            try:
                return _connect(path)
            except sqlite3.DatabaseError as err:
                if _busy(err):
                    # Runs creating a new cache at the same moment can be refused at once (SQLite does not wait
                    # where waiting could deadlock): try again shortly. Held past the timeout: work without the
                    # cache and delete nothing.
                    if time.monotonic() - started < _BUSY_TIMEOUT_MS / 2000 and quick_retry < _QUICK_BUSY_RETRIES:
                        time.sleep(0.05 * (quick_retry + 1))
                        continue
                    return None
                if rebuilt:
                    return None
                _remove_database(path)  # corrupt or foreign: start over once
                rebuilt = True
        return None


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, timeout=_BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False)
    try:
        db.execute(f"PRAGMA busy_timeout={_BUSY_TIMEOUT_MS}")
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.isolation_level = "DEFERRED"
        with db:
            db.execute("CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            db.execute("CREATE TABLE IF NOT EXISTS entries(key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            db.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('schema', ?)", (SCHEMA,))
        (schema,) = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        if schema != SCHEMA:
            raise sqlite3.DatabaseError(f"foreign cache schema {schema!r}")
        db.execute("SELECT key, value FROM entries LIMIT 1").fetchall()  # a foreign table fails here
        return db
    except BaseException:
        db.close()
        raise


def _busy(err: sqlite3.DatabaseError) -> bool:
    """A database locked or busy (another run's transaction), as opposed to a damaged or foreign one."""
    code = getattr(err, "sqlite_errorcode", None)  # Python 3.11+
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return isinstance(err, sqlite3.OperationalError) and ("locked" in str(err) or "busy" in str(err))


def _remove_database(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        try:
            os.unlink(f"{path}{suffix}")
        except FileNotFoundError:
            pass
        except OSError:
            return
