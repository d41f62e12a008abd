"""The cache is an accelerator: damaged, foreign, shared or unavailable, it never breaks a run."""

from __future__ import annotations

import multiprocessing
import sqlite3

from v4cli.context.cache import Cache


def test_round_trip_and_missing_keys(tmp_path):
    cache = Cache(tmp_path)
    assert cache.is_empty()
    cache.put_many({"a": {"t": 1, "r": []}, "b": 2})
    assert not cache.is_empty()
    assert cache.get_many(["a", "b", "c"]) == {"a": {"t": 1, "r": []}, "b": 2}
    cache.close()
    assert Cache(tmp_path).get_many(["b"]) == {"b": 2}


def test_disabled_cache_remembers_nothing():
    cache = Cache(None)
    cache.put_many({"a": 1})
    assert cache.get_many(["a"]) == {}
    assert cache.is_empty()


def test_corrupt_file_is_rebuilt(tmp_path):
    (tmp_path / "cache.sqlite").write_bytes(b"this is not a database" * 100)
    cache = Cache(tmp_path)
    cache.put_many({"k": 1})
    assert cache.get_many(["k"]) == {"k": 1}


def test_foreign_database_is_rebuilt(tmp_path):
    db = sqlite3.connect(tmp_path / "cache.sqlite")
    db.execute("CREATE TABLE entries(id INTEGER, payload BLOB)")
    db.commit()
    db.close()
    cache = Cache(tmp_path)
    cache.put_many({"k": 1})
    assert cache.get_many(["k"]) == {"k": 1}


def test_other_schema_version_is_rebuilt(tmp_path):
    Cache(tmp_path).put_many({"old": 1})
    db = sqlite3.connect(tmp_path / "cache.sqlite")
    db.execute("UPDATE meta SET value = 'v4-cache-0' WHERE key = 'schema'")
    db.commit()
    db.close()
    assert Cache(tmp_path).get_many(["old"]) == {}


def test_unusable_directory_disables_the_cache(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    cache = Cache(blocker / "sub")  # a path below a regular file can never be created
    cache.put_many({"k": 1})
    assert cache.get_many(["k"]) == {}


def _writer(directory: str, worker: int) -> None:
    cache = Cache(__import__("pathlib").Path(directory))
    for batch in range(20):
        cache.put_many({f"w{worker}-{batch}-{i}": {"t": i} for i in range(50)})
        cache.get_many([f"w{(worker + 1) % 4}-{batch}-{i}" for i in range(50)])
    cache.close()


def test_concurrent_processes_do_not_corrupt_it(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(tmp_path), w)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    db = sqlite3.connect(tmp_path / "cache.sqlite")
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    written = db.execute("SELECT count(*) FROM entries").fetchone()[0]
    # a write that lost a lock race is allowed to be dropped, but most land and none is damaged
    assert written > 4 * 20 * 50 * 0.9


def test_a_database_another_run_holds_locked_is_bypassed_not_deleted(tmp_path, monkeypatch):
    from v4cli.context import cache as cache_module

    monkeypatch.setattr(cache_module, "_BUSY_TIMEOUT_MS", 100)
    first = Cache(tmp_path)
    first.put_many({"kept": 1})
    first.close()
    holder = sqlite3.connect(tmp_path / "cache.sqlite", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        blocked = Cache(tmp_path)
        assert blocked.get_many(["kept"]) == {}  # this run works without the cache
        blocked.put_many({"other": 2})
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert Cache(tmp_path).get_many(["kept", "other"]) == {"kept": 1}


def test_a_cache_refused_at_once_by_a_run_creating_it_too_is_opened_on_a_second_try(tmp_path, monkeypatch):
    from v4cli.context import cache as cache_module

    real, refusals = cache_module._connect, []

    def connect(path):
        if not refusals:  # SQLite answers "busy" without waiting where waiting could deadlock
            refusals.append(path)
            raise sqlite3.OperationalError("database is locked")
        return real(path)

    monkeypatch.setattr(cache_module, "_connect", connect)
    cache = Cache(tmp_path)
    cache.put_many({"k": 1})
    assert refusals and cache.get_many(["k"]) == {"k": 1}
