"""The exchange log: every question, answer, usage and cost in one SQLite file under the XDG data dir.

Unlike the token cache, the log is a source of truth: a damaged or newer-schema file is reported, never
rebuilt. Message contents (which hold whole packed contexts) go into a content-addressed, compressed blob
table, so asking ten questions about the same repository stores its context once. Keys are never stored:
the log takes no key, and the values of key variables found in the environment are scrubbed from every
text before it is written, in case one was pasted into a question. Nothing is pruned.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import sqlite3
import zlib
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from v4cli.errors import V4Error

SCHEMA_VERSION = 1
_BUSY_TIMEOUT_MS = 5_000
_SCRUBBED = "[redacted key]"
_KEY_VARIABLE = re.compile(r"(API_KEY|_TOKEN|_SECRET)$")
_SCHEMA = """
CREATE TABLE exchanges (
    id TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL,
    turn INTEGER NOT NULL,
    created TEXT NOT NULL,
    model TEXT NOT NULL,
    backend TEXT NOT NULL,
    manifest_hash TEXT NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    reasoning TEXT NOT NULL,
    paths TEXT NOT NULL,
    usage TEXT NOT NULL,
    cost REAL,
    status TEXT NOT NULL,
    messages TEXT
);
CREATE INDEX exchanges_conversation ON exchanges (conversation_id, turn);
CREATE TABLE blobs (digest TEXT PRIMARY KEY, data BLOB NOT NULL);
"""
STATUSES = ("ok", "interrupted", "cut", "error")


class LogError(V4Error):
    """The log cannot be opened, read or written."""


@dataclass(frozen=True)
class Exchange:
    id: str
    conversation_id: str
    turn: int  # 1 for the first exchange of a conversation
    created: str  # ISO 8601, UTC
    model: str
    backend: str
    manifest_hash: str
    question: str
    answer: str
    reasoning: str
    paths: list[str]
    usage: dict
    cost: float | None
    status: str
    messages: list[dict] | None = None

    def to_json(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def default_log_path() -> Path:
    """`$V4_DATA_DIR/log.sqlite`, else the XDG data dir (`~/.local/share/v4/log.sqlite` on Linux)."""
    override = os.environ.get("V4_DATA_DIR")
    if override:
        return Path(override) / "log.sqlite"
    from platformdirs import user_data_dir

    return Path(user_data_dir("v4", appauthor=False)) / "log.sqlite"


class ExchangeLog:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_log_path()
        self._db: sqlite3.Connection | None = None

    # writing ------------------------------------------------------------------------------------------

    def record(self, *, conversation_id: str | None, question: str, answer: str, reasoning: str, model: str,
               backend: str, manifest_hash: str, paths: list[str], usage: dict, cost: float | None, status: str,
               messages: list | None = None) -> str:
        """Store one exchange and return its id; `conversation_id=None` starts a new conversation. `messages`:
        dicts with role and content, or base.Message objects (read back as dicts)."""
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, not {status!r}")
        scrub = _scrubber()
        db = self._connect(create=True)
        exchange_id = secrets.token_hex(6)
        try:
            with db:
                db.execute("BEGIN IMMEDIATE")  # the turn number and the insert happen as one step
                conversation_id = conversation_id or exchange_id
                (turn,) = db.execute(
                    "SELECT COALESCE(MAX(turn), 0) + 1 FROM exchanges WHERE conversation_id = ?", (conversation_id,)
                ).fetchone()
                stored_messages = None
                if messages is not None:
                    pairs = [(m["role"], m["content"]) if isinstance(m, dict) else (m.role, m.content) for m in messages]
                    stored_messages = json.dumps(
                        [{"role": role, "blob": self._put_blob(db, scrub(content))} for role, content in pairs]
                    )
                db.execute(
                    "INSERT INTO exchanges VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        exchange_id, conversation_id, turn, datetime.now(timezone.utc).isoformat(timespec="seconds"),
                        model, backend, manifest_hash, scrub(question), scrub(answer), scrub(reasoning),
                        json.dumps([scrub(p) for p in paths]), json.dumps(usage), cost, status, stored_messages,
                    ),
                )
        except sqlite3.Error as err:
            raise LogError(f"cannot write the log {self.path}: {err}", hint="check the disk and the file's permissions; "
                           "set V4_DATA_DIR to log elsewhere") from None
        return exchange_id

    # reading ------------------------------------------------------------------------------------------

    def last(self) -> Exchange | None:
        rows = self._query("SELECT * FROM exchanges ORDER BY rowid DESC LIMIT 1")
        return rows[0] if rows else None

    def get(self, exchange_id: str) -> Exchange:
        """The exchange with this id, or with the one id that starts with it; 'last' is the latest."""
        if exchange_id == "last":
            found = self.last()
            if found is None:
                raise LogError("the log is empty", hint="ask something first: v4 ask \"...\"")
            return found
        if not re.fullmatch(r"[0-9a-f]+", exchange_id):
            raise LogError(f"not an exchange id: {exchange_id!r}", hint="ids are shown by `v4 logs`")
        rows = self._query("SELECT * FROM exchanges WHERE id LIKE ? ORDER BY rowid", (exchange_id + "%",))
        if not rows:
            raise LogError(f"no exchange {exchange_id!r} in the log", hint="ids are shown by `v4 logs`")
        if len(rows) > 1:
            raise LogError(f"{exchange_id!r} matches {len(rows)} exchanges", hint="give more characters of the id")
        return rows[0]

    def list(self, limit: int = 20) -> list[Exchange]:
        """The latest exchanges, newest first."""
        return self._query("SELECT * FROM exchanges ORDER BY rowid DESC LIMIT ?", (limit,))

    def conversation(self, conversation_id: str) -> list[Exchange]:
        """Every turn of one conversation, oldest first, with their messages."""
        return self._query("SELECT * FROM exchanges WHERE conversation_id = ? ORDER BY turn", (conversation_id,))

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def __enter__(self) -> ExchangeLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # internals ----------------------------------------------------------------------------------------

    def _query(self, sql: str, params: tuple = ()) -> list[Exchange]:
        db = self._connect(create=False)
        if db is None:
            return []
        try:
            return [self._exchange(db, row) for row in db.execute(sql, params).fetchall()]
        except (sqlite3.Error, ValueError, zlib.error) as err:
            raise LogError(f"cannot read the log {self.path}: {err}", hint="move the file away to start a new log") from None

    def _exchange(self, db: sqlite3.Connection, row: sqlite3.Row) -> Exchange:
        fields = dict(row)
        messages = None
        if fields["messages"] is not None:
            messages = [{"role": m["role"], "content": self._get_blob(db, m["blob"])} for m in json.loads(fields["messages"])]
        fields.update(paths=json.loads(fields["paths"]), usage=json.loads(fields["usage"]), messages=messages)
        return Exchange(**fields)

    @staticmethod
    def _put_blob(db: sqlite3.Connection, text: str) -> str:
        import xxhash

        data = text.encode("utf-8")
        digest = xxhash.xxh3_128_hexdigest(data)
        db.execute("INSERT OR IGNORE INTO blobs VALUES (?, ?)", (digest, zlib.compress(data, 6)))
        return digest

    @staticmethod
    def _get_blob(db: sqlite3.Connection, digest: str) -> str:
        row = db.execute("SELECT data FROM blobs WHERE digest = ?", (digest,)).fetchone()
        if row is None:
            raise ValueError(f"message blob {digest} is missing")
        return zlib.decompress(row[0]).decode("utf-8")

    def _connect(self, create: bool) -> sqlite3.Connection | None:
        """The open database; None when it does not exist and `create` is False (an empty log)."""
        if self._db is not None:
            return self._db
        if not create and not self.path.exists():
            return None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT_MS / 1000, isolation_level=None)
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA journal_mode=WAL")
            (version,) = db.execute("PRAGMA user_version").fetchone()
            if version == 0:
                with db:
                    db.execute("BEGIN IMMEDIATE")
                    if db.execute("PRAGMA user_version").fetchone()[0] == 0:  # another process may have won the race
                        for statement in filter(str.strip, _SCHEMA.split(";")):
                            db.execute(statement)
                        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            elif version > SCHEMA_VERSION:
                db.close()
                raise LogError(f"the log {self.path} was written by a newer v4 (schema {version})",
                               hint="upgrade v4, or set V4_DATA_DIR to use another log")
        except (sqlite3.Error, OSError) as err:
            raise LogError(f"cannot open the log {self.path}: {err}",
                           hint="move the file away to start a new log, or set V4_DATA_DIR") from None
        self._db = db
        return db


def _scrubber():
    """A function that replaces the values of key variables in the environment by a marker."""
    names = {"DEEPSEEK_API_KEY", os.environ.get("V4_API_KEY_ENV") or "OPENAI_API_KEY"}
    names |= {name for name in os.environ if _KEY_VARIABLE.search(name)}
    values = sorted({os.environ[n] for n in names if len(os.environ.get(n, "")) >= 8}, key=len, reverse=True)
    if not values:
        return lambda text: text
    pattern = re.compile("|".join(re.escape(v) for v in values))
    return lambda text: pattern.sub(_SCRUBBED, text)
