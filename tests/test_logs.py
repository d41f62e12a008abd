"""The exchange log: a real SQLite file, conversations, deduplicated contexts, no keys, and `v4 logs`."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import pytest

from tests.conftest import ROOT, run_v4
from v4cli.logs import ExchangeLog, LogError

CONTEXT = "<file path=\"app.py\">\n" + "def f():\n    return 1\n" * 5000 + "</file>\n"


def _record(log: ExchangeLog, question: str = "what does f do?", conversation_id: str | None = None, **kw) -> str:
    fields = dict(
        conversation_id=conversation_id, question=question, answer=f"Answer to {question}: it returns 1 (app.py:2).",
        reasoning="f returns a constant.", model="deepseek-flash", backend="deepseek", manifest_hash="m1",
        paths=["app.py"], usage={"input_tokens": 1200, "output_tokens": 40}, cost=0.00123, status="ok",
        messages=[{"role": "system", "content": "Cite path:line."}, {"role": "user", "content": CONTEXT},
                  {"role": "assistant", "content": "I have read the context."}, {"role": "user", "content": question}],
    )
    fields.update(kw)
    return log.record(**fields)


def test_record_and_read_back(tmp_path):
    with ExchangeLog(tmp_path / "log.sqlite") as log:
        first = _record(log)
        x = log.get(first)
        assert (x.question, x.model, x.backend, x.status, x.turn) == ("what does f do?", "deepseek-flash", "deepseek", "ok", 1)
        assert x.answer.endswith("(app.py:2).") and x.reasoning == "f returns a constant."
        assert x.usage == {"input_tokens": 1200, "output_tokens": 40} and x.cost == 0.00123 and x.paths == ["app.py"]
        assert x.messages[1] == {"role": "user", "content": CONTEXT}
        assert x.conversation_id == first  # a new conversation is named after its first exchange
        assert x.created.endswith("+00:00")
    # a fresh connection sees the same data: it is on disk
    assert ExchangeLog(tmp_path / "log.sqlite").last().id == first


def test_conversations_number_their_turns_and_keep_them_apart(tmp_path):
    log = ExchangeLog(tmp_path / "log.sqlite")
    a1 = _record(log, "q1")
    b1 = _record(log, "other")
    a2 = _record(log, "q2", conversation_id=a1)
    a3 = _record(log, "q3", conversation_id=log.get(a2).conversation_id)
    turns = log.conversation(a1)
    assert [(t.id, t.turn, t.question) for t in turns] == [(a1, 1, "q1"), (a2, 2, "q2"), (a3, 3, "q3")]
    assert [t.id for t in log.conversation(b1)] == [b1]
    assert [x.id for x in log.list()] == [a3, a2, b1, a1]
    assert [x.id for x in log.list(limit=2)] == [a3, a2]
    assert log.last().id == a3 and log.get("last").id == a3


def test_ids_can_be_shortened_and_bad_ids_say_so(tmp_path):
    log = ExchangeLog(tmp_path / "log.sqlite")
    ids = [_record(log, f"q{i}", messages=None) for i in range(17)]  # 17 ids: two share a first hex digit
    assert log.get(ids[1][:8]).id == ids[1]
    first_digits = [i[0] for i in ids]
    shared = next(d for d in first_digits if first_digits.count(d) > 1)
    with pytest.raises(LogError, match=f"matches {first_digits.count(shared)} exchanges") as err:
        log.get(shared)
    assert "more characters" in err.value.hint
    unused = next(d for d in "0123456789abcdef" if d not in first_digits)
    with pytest.raises(LogError, match="no exchange") as err:
        log.get(unused)
    assert "v4 logs" in err.value.hint
    for bad in ("", "x'; DROP TABLE exchanges; --", "ABC%"):
        with pytest.raises(LogError, match="not an exchange id"):
            log.get(bad)
    assert len(log.list(limit=100)) == 17


def test_an_absent_log_reads_as_empty_without_creating_a_file(tmp_path):
    log = ExchangeLog(tmp_path / "sub" / "log.sqlite")
    assert log.list() == [] and log.last() is None and log.conversation("abc") == []
    assert not (tmp_path / "sub").exists()
    with pytest.raises(LogError, match="empty"):
        log.get("last")


def test_the_file_is_wal_and_versioned_and_a_newer_schema_is_refused(tmp_path):
    path = tmp_path / "log.sqlite"
    with ExchangeLog(path) as log:
        _record(log)
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == 1
    db.execute("PRAGMA user_version = 99")
    db.close()
    with pytest.raises(LogError, match="newer v4") as err:
        ExchangeLog(path).list()
    assert "upgrade" in err.value.hint


def test_a_damaged_log_is_reported_and_left_as_it_is(tmp_path):
    path = tmp_path / "log.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(LogError, match="cannot open the log") as err:
        _record(ExchangeLog(path))
    assert "move the file away" in err.value.hint
    assert path.read_bytes() == b"this is not a database" * 100


def test_the_same_context_is_stored_once(tmp_path):
    from v4cli.backends.base import Message

    path = tmp_path / "log.sqlite"
    with ExchangeLog(path) as log:
        for i in range(9):
            _record(log, f"question {i}")
        as_objects = [Message("system", "Cite path:line."), Message("user", CONTEXT),
                      Message("assistant", "I have read the context."), Message("user", "question 9")]
        _record(log, "question 9", messages=as_objects)
        assert all(x.messages[1]["content"] == CONTEXT for x in log.list())
    db = sqlite3.connect(path)
    # one blob for the shared system prompt, the context and the reply, plus one per question
    assert db.execute("SELECT COUNT(*) FROM blobs").fetchone()[0] == 3 + 10
    db.close()


def test_keys_from_the_environment_never_reach_the_file(tmp_path, monkeypatch):
    deepseek_key = "sk-7f3e9a0c1b2d4e5f8a9b0c1d2e3f4a5b"
    other_key = "tok-live-0123456789abcdef"
    monkeypatch.setenv("DEEPSEEK_API_KEY", deepseek_key)
    monkeypatch.setenv("V4_API_KEY_ENV", "MY_SERVER_KEY")
    monkeypatch.setenv("MY_SERVER_KEY", other_key)
    path = tmp_path / "log.sqlite"
    with ExchangeLog(path) as log:
        leaked = f"my key is {deepseek_key} and {other_key}, why is it rejected?"
        exchange_id = _record(log, leaked, answer=f"Do not share {deepseek_key}.", reasoning=other_key,
                              messages=[{"role": "user", "content": leaked}])
        x = log.get(exchange_id)
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("log.sqlite*"))
    for key in (deepseek_key, other_key):
        assert key.encode() not in stored
        assert key not in json.dumps(x.to_json())
    assert x.question == "my key is [redacted key] and [redacted key], why is it rejected?"


def test_concurrent_writers_each_get_their_own_turn(tmp_path):
    path = tmp_path / "log.sqlite"
    conversation = _record(ExchangeLog(path), "start")
    writer = (
        "import sys\nfrom pathlib import Path\nfrom v4cli.logs import ExchangeLog\n"
        "log = ExchangeLog(Path(sys.argv[1]))\n"
        "for i in range(15):\n"
        "    log.record(conversation_id=sys.argv[2], question=f'{sys.argv[3]}{i}', answer='a', reasoning='', model='m',\n"
        "               backend='b', manifest_hash='h', paths=[], usage={}, cost=None, status='ok')\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", writer, str(path), conversation, name], cwd=ROOT)
             for name in ("a", "b")]
    assert all(p.wait(timeout=120) == 0 for p in procs)
    turns = ExchangeLog(path).conversation(conversation)
    assert [t.turn for t in turns] == list(range(1, 32))
    assert {t.question for t in turns[1:]} == {f"{n}{i}" for n in "ab" for i in range(15)}


def test_a_bad_status_is_a_programming_error(tmp_path):
    with pytest.raises(ValueError):
        _record(ExchangeLog(tmp_path / "log.sqlite"), status="done")


# `v4 logs` ---------------------------------------------------------------------------------------------


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    path = tmp_path / "data"
    monkeypatch.setenv("V4_DATA_DIR", str(path))
    return path


def test_logs_lists_shows_and_prints_json(data_dir):
    log = ExchangeLog()
    first = _record(log, "What does f do in app.py?")
    second = _record(log, "And g?", conversation_id=first, status="interrupted", answer="## G\n\ng is partial",
                     reasoning="thinking about g")
    log.close()
    listing = run_v4("logs")
    assert listing.returncode == 0, listing.stderr
    out = listing.stdout.decode()
    lines = out.splitlines()
    assert lines[0].split() == ["id", "time", "(UTC)", "model", "question", "in", "out", "cost"]
    assert lines[1].startswith(second) and "And g? [interrupted]" in lines[1] and "1,200" in lines[1]
    assert lines[2].startswith(first) and "What does f do in app.py?" in lines[2] and "$0.00123" in lines[2]
    assert "\x1b" not in out

    shown = run_v4("logs", "show", "last")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.decode() == "Q: And g?\n\n## G\n\ng is partial\n"  # not a terminal: the raw Markdown
    assert "interrupted" in shown.stderr.decode() and "turn 2" in shown.stderr.decode()
    with_reasoning = run_v4("logs", "show", second[:6], "--reasoning").stdout.decode()
    assert "Reasoning:\nthinking about g\n\nAnswer:\n## G" in with_reasoning

    as_json = json.loads(run_v4("logs", "--json").stdout)
    assert [x["id"] for x in as_json] == [second, first] and as_json[0]["turn"] == 2
    one = json.loads(run_v4("logs", "show", first, "--json").stdout)
    assert one["answer"].startswith("Answer to What does f do") and "reasoning" not in one
    assert run_v4("logs", "path").stdout.decode().strip() == str(data_dir / "log.sqlite")


def test_logs_errors_are_one_line(data_dir):
    empty = run_v4("logs")
    assert empty.returncode == 0 and empty.stdout == b"" and "empty" in empty.stderr.decode()
    for args, code in ((["show", "last"], 1), (["show", "abc"], 1), (["remove"], 2), (["list", "abc"], 2)):
        proc = run_v4("logs", *args)
        assert proc.returncode == code, (args, proc.stderr)
        err = proc.stderr.decode()
        assert err.startswith("v4: error: ") and "Traceback" not in err
