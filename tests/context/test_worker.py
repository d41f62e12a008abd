"""The worker process scans and counts exactly as this process would, and is simply not used when it fails."""

from __future__ import annotations

import pytest

from tests.context.secrets_corpus import look_alike_files, true_secret_files
from v4cli.context import secrets, tokens, worker

CORPUS = [f.text for seed in range(2) for f in true_secret_files(seed) + look_alike_files(seed)]
ODD = ["", "x\ud800y", "<｜User｜>hi<think>", "</dsml:", "  \n\t" * 50, "中文 テキスト 🎉 123456"]


def _expected(texts: list[str], redact: bool) -> list[tuple]:
    tokenizer = tokens.get_tokenizer()
    prepared = []
    for text in texts:
        after, found = secrets.redact(text) if redact else (text, [])
        prepared.append((after, tuple(found), tokenizer.count(after)))
    return prepared


def _nothing_here(monkeypatch) -> None:
    """Fail if this process scans or counts: the child imports its own, untouched modules."""
    monkeypatch.setattr(secrets, "redact", lambda text: pytest.fail("scanned here"))
    monkeypatch.setattr(tokens, "get_tokenizer", lambda: pytest.fail("counted here"))


@pytest.mark.parametrize("redact", [True, False])
def test_the_child_scans_and_counts_as_this_process_would(monkeypatch, redact):
    expected = _expected(CORPUS + ODD, redact)
    assert any(found for _, found, _ in expected) == redact and any(not found for _, found, _ in expected)
    _nothing_here(monkeypatch)
    with worker.Worker(redact=redact) as w:
        w.add(CORPUS + ODD)
        results = w.results()
    assert results == expected
    # texts without secrets come back as the very objects given: the parent keeps one copy of each
    assert all(text is original for (text, found, _), original in zip(results, CORPUS + ODD) if not found)


def test_texts_added_in_batches_are_answered_since_the_last_call(monkeypatch):
    expected = _expected(CORPUS, True)
    _nothing_here(monkeypatch)
    monkeypatch.setattr(worker, "_BATCH", 3)  # each addition crosses several messages ...
    monkeypatch.setattr(worker, "_CHILD", worker._CHILD.replace("import serve;", "import serve; "
                        "from v4cli.context import tokens; tokens.PART_CHARS = 500;"))  # ... and counting parts
    with worker.Worker(redact=True) as w:
        for start in range(0, 20, 7):
            w.add(CORPUS[start : start + 7])
        w.add([])
        assert w.results() == expected[:21]
        w.add(CORPUS[21:])
        assert w.results() == expected[21:]
        assert w.results() == []
        assert w.counted == len(CORPUS)


def test_strings_asked_for_are_counted_by_the_child(monkeypatch):
    expected = [tokens.get_tokenizer().count(text) for text in ODD + CORPUS]
    _nothing_here(monkeypatch)
    with worker.Worker(redact=False) as w:
        assert w.count(ODD) == expected[: len(ODD)]
        w.add(CORPUS[:5])
        assert w.count(CORPUS) == expected[len(ODD) :]  # answered after the texts given before it
        assert [n for _, _, n in w.results()] == expected[len(ODD) : len(ODD) + 5]
        assert w.count([]) == []


def test_the_caller_is_called_back_while_it_waits(monkeypatch):
    """For progress: a child that takes half a second before it starts keeps the caller waiting that long."""
    expected = _expected(CORPUS[:3], True)
    monkeypatch.setattr(worker, "_CHILD", "import time; time.sleep(0.5); " + worker._CHILD)
    calls = []
    with worker.Worker(redact=True) as w:
        w.add(CORPUS[:3])
        assert w.results(lambda: calls.append(w.counted)) == expected
    assert calls and all(n <= 3 for n in calls)


_BROKEN = [
    "import sys; sys.exit(3)",  # fails at once
    "import sys; sys.stdout.write('not a pickle')",  # answers nonsense
    # well-formed answers that do not fit what was asked
    "import pickle, sys; pickle.load(sys.stdin.buffer); sys.stdout.buffer.write(pickle.dumps(('counted', 10**6, [1])))",
    "import pickle, sys; pickle.load(sys.stdin.buffer); sys.stdout.buffer.write(pickle.dumps(('counted', 0, [-1])))",
    "import pickle, sys; pickle.load(sys.stdin.buffer); "
    "sys.stdout.buffer.write(pickle.dumps(('found', [(0, 'x', [('1', 'k')])])))",
    # counts one part twice
    "import pickle, sys; pickle.load(sys.stdin.buffer); "
    "sys.stdout.buffer.write(pickle.dumps(('counted', 0, [1])) + pickle.dumps(('counted', 0, [1])))",
    # answers part, then fails
    "import pickle, sys; pickle.load(sys.stdin.buffer); sys.stdout.buffer.write(pickle.dumps(('counted', 0, [1])));"
    " sys.stdout.buffer.flush(); sys.exit(1)",
    # its counting fails: the child ends instead of leaving the parent waiting
    "import sys; sys.path.insert(0, sys.argv[1]); from v4cli.context import tokens, worker; "
    "tokens.count_part = lambda texts: 1 / 0; worker.serve()",
]


@pytest.mark.parametrize("child", _BROKEN)
def test_a_failed_or_confused_child_is_not_used(monkeypatch, child):
    monkeypatch.setattr(worker, "_CHILD", child)
    with worker.Worker(redact=True) as w:
        w.add(CORPUS)
        assert w.results() is None
        assert w.count(["x"]) is None


def test_a_child_that_cannot_start_is_not_used(monkeypatch, tmp_path):
    monkeypatch.setattr(worker.sys, "executable", str(tmp_path / "no-such-python"))
    with worker.Worker(redact=True) as w:
        assert w._child is None
        assert w.results() == []  # nothing was given
        w.add(CORPUS)
        assert w.results() is None and w.count(CORPUS) is None


def test_a_child_let_go_ends_by_itself():
    with worker.Worker(redact=False) as w:
        w.add(CORPUS[:2])
        assert w.results() is not None
    assert w._child.wait(timeout=60) == 0  # its input ended: it left on its own, not killed


def test_leaving_early_stops_the_child(monkeypatch):
    monkeypatch.setattr(worker, "_CHILD", "import time; time.sleep(60)")
    with pytest.raises(KeyboardInterrupt), worker.Worker(redact=True) as w:
        w.add(CORPUS)
        child = w._child
        raise KeyboardInterrupt
    assert child.poll() is not None
