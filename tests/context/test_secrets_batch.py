"""Redacting many texts in a child process gives exactly what `redact` gives, and falls back to it on failure."""

from __future__ import annotations

import time

import pytest

from tests.context.secrets_corpus import look_alike_files, true_secret_files
from v4cli.context.secrets import batch, redact

CORPUS = [f.text for seed in range(2) for f in true_secret_files(seed) + look_alike_files(seed)]
EXPECTED = [(text, tuple(found)) for text, found in map(redact, CORPUS)]


def _no_scan_here(monkeypatch) -> None:
    def fail(text):
        raise AssertionError("scanned in this process")

    monkeypatch.setattr(batch, "redact", fail)


def test_the_child_scans_and_its_answer_equals_redact(monkeypatch):
    assert any(found for _, found in EXPECTED) and any(not found for _, found in EXPECTED)
    _no_scan_here(monkeypatch)  # the child imports its own, untouched module
    with batch.PendingRedactions(CORPUS, background=True) as scan:
        assert scan.result() == EXPECTED


def test_unchanged_texts_come_back_as_the_same_objects(monkeypatch):
    _no_scan_here(monkeypatch)
    with batch.PendingRedactions(CORPUS, background=True) as scan:
        results = scan.result()
    assert all(text is original for (text, found), original in zip(results, CORPUS) if not found)


def test_without_background_the_texts_are_scanned_here():
    with batch.PendingRedactions(CORPUS, background=False) as scan:
        assert scan._child is None
        assert scan.result() == EXPECTED


@pytest.mark.parametrize(
    "child",
    [
        "import sys; sys.exit(3)",  # fails
        "import sys; sys.stdout.write('not a pickle')",  # answers nonsense
        "import pickle, sys; sys.stdin.buffer.read(); sys.stdout.buffer.write(pickle.dumps([(10**6, 'x', [])]))",
        "import pickle, sys; sys.stdout.buffer.write(pickle.dumps([(0, 'x', [('1', 'k')])]))",
    ],
)
def test_a_failed_or_confused_child_means_scanning_here(monkeypatch, child):
    monkeypatch.setattr(batch, "_CHILD", child)
    with batch.PendingRedactions(CORPUS, background=True) as scan:
        assert scan.result() == EXPECTED


def test_a_child_that_cannot_start_means_scanning_here(monkeypatch, tmp_path):
    monkeypatch.setattr(batch.sys, "executable", str(tmp_path / "no-such-python"))
    with batch.PendingRedactions(CORPUS, background=True) as scan:
        assert scan.result() == EXPECTED


def test_leaving_early_stops_the_child(monkeypatch):
    monkeypatch.setattr(batch, "_CHILD", "import time; time.sleep(60)")
    with pytest.raises(KeyboardInterrupt), batch.PendingRedactions(CORPUS, background=True) as scan:
        child = scan._child
        raise KeyboardInterrupt
    assert child.poll() is not None


def test_texts_added_while_the_child_scans_are_all_answered_in_order(monkeypatch):
    _no_scan_here(monkeypatch)
    with batch.PendingRedactions(CORPUS[:3], background=True) as scan:
        for start in range(3, len(CORPUS), 5):
            scan.add(CORPUS[start : start + 5])
        scan.add([])
        assert scan.result() == EXPECTED


def _wait_until_answered(scan, count: int) -> None:
    deadline = time.monotonic() + 60
    while scan._covered < count and time.monotonic() < deadline:
        time.sleep(0.01)


def test_texts_found_to_hold_secrets_are_handed_out_once_each_while_the_scan_goes_on(monkeypatch):
    _no_scan_here(monkeypatch)
    taken = []
    with batch.PendingRedactions(CORPUS[:4], background=True) as scan:
        for start in range(4, len(CORPUS), 6):
            scan.add(CORPUS[start : start + 6])
            taken += scan.take_found()
        _wait_until_answered(scan, len(CORPUS))
        taken += scan.take_found()
        assert scan.take_found() == []
        assert scan.result() == EXPECTED
    assert taken == [(i, text, found) for i, (text, found) in enumerate(EXPECTED) if found]


def test_a_child_that_fails_after_answering_part_means_scanning_here(monkeypatch):
    """Its first answer is well formed (and wrong); the end result is still exactly `redact`'s."""
    first_secret = next(i for i, (_, found) in enumerate(EXPECTED) if found)
    monkeypatch.setattr(batch, "_CHILD", (
        "import pickle, sys; texts = pickle.load(sys.stdin.buffer); "
        f"pickle.dump((len(texts), [({first_secret}, 'wrong', [(1, 'fake')])]), sys.stdout.buffer); "
        "sys.stdout.buffer.flush(); sys.exit(1)"))
    with batch.PendingRedactions(CORPUS, background=True) as scan:
        _wait_until_answered(scan, 1)
        assert [text for _, text, _ in scan.take_found()] == ["wrong"]
        assert scan.result() == EXPECTED


def test_the_answer_is_complete_at_the_childs_last_word_not_at_its_exit(monkeypatch):
    _no_scan_here(monkeypatch)
    monkeypatch.setattr(batch, "_CHILD", batch._CHILD + "; import time; time.sleep(60)")
    with batch.PendingRedactions(CORPUS, background=True) as scan:
        assert scan.result() == EXPECTED
        assert scan._child.poll() is None  # still lingering after its last answer: not waited for
    assert scan._child.poll() is not None  # and stopped on the way out
