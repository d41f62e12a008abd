"""Stored contexts are reused only while every input is provably unchanged."""

from __future__ import annotations

import time

import pytest

from tests.conftest import make_git_repo, write_tree
from v4cli.context import snapshot
from v4cli.context.cache import Cache
from v4cli.context.sources import SourceOptions
from v4cli.errors import UsageError

FILES = {"a.py": "x = 1\n", "pkg/b.py": "def f():\n    return 2\n", "notes.md": "# notes\n"}


def _pack(repo, cache, **kw):
    return snapshot.pack_paths([str(repo)], SourceOptions(), stdin=None, budget=kw.get("budget", 100_000),
                               fmt=kw.get("fmt", "xml"), redact=True, cache=cache)


def _counting_reads(monkeypatch):
    calls = []
    real = snapshot.read_plan

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(snapshot, "read_plan", counted)
    return calls


def test_unchanged_inputs_reuse_the_stored_context(tmp_path, monkeypatch):
    repo = make_git_repo(tmp_path / "repo", FILES)
    cache = Cache(tmp_path / "cache")
    reads = _counting_reads(monkeypatch)
    racy = _pack(repo, cache)  # files written this very second: never trusted, packed normally
    time.sleep(2.1)
    first = _pack(repo, cache)
    second = _pack(repo, cache)
    assert len(reads) == 2  # the racy run and the first settled run read files; the third did not
    assert second.text == first.text == racy.text
    cache.close()  # the stored manifest is read when first asked for, through a connection of its own
    assert second.manifest() == first.manifest()


def test_a_stored_context_is_copied_out_whole_to_a_file_a_pipe_or_a_buffer(tmp_path):
    import hashlib
    import io
    import subprocess
    import sys

    repo = make_git_repo(tmp_path / "repo", {**FILES, "big.txt": "line of text\n" * 200_000})
    cache = Cache(tmp_path / "cache")
    time.sleep(2.1)
    expected = _pack(repo, cache).text.encode()
    with open(tmp_path / "out.xml", "wb") as out:
        out.write(b"head:")  # what was written before goes first (the copy flushes the buffer)
        _pack(repo, cache).parts.write_utf8(out)
    assert (tmp_path / "out.xml").read_bytes() == b"head:" + expected
    buffer = io.BytesIO()  # no file descriptor: copied through Python
    _pack(repo, cache).parts.write_utf8(buffer)
    assert buffer.getvalue() == expected
    digest = "import hashlib, sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())"
    reader = subprocess.Popen([sys.executable, "-c", digest], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    with reader.stdin:
        _pack(repo, cache).parts.write_utf8(reader.stdin)  # a pipe, as for `v4 pack | ...`
    assert reader.stdout.read().decode().strip() == hashlib.sha256(expected).hexdigest() and reader.wait() == 0


def test_any_change_is_seen(tmp_path, monkeypatch):
    repo = make_git_repo(tmp_path / "repo", FILES)
    cache = Cache(tmp_path / "cache")
    time.sleep(2.1)
    before = _pack(repo, cache)
    write_tree(repo, {"pkg/b.py": "def f():\n    return 3\n"})  # same size, new content
    after = _pack(repo, cache)
    assert "return 3" in after.text and "return 3" not in before.text
    other_budget = _pack(repo, cache, budget=60)  # options are part of the fingerprint
    assert other_budget.tokens <= 60 and other_budget.text != after.text


def test_a_damaged_stored_context_is_ignored(tmp_path, monkeypatch):
    repo = make_git_repo(tmp_path / "repo", FILES)
    cache = Cache(tmp_path / "cache")
    time.sleep(2.1)
    good = _pack(repo, cache).text
    for stored in (tmp_path / "cache" / "contexts").glob("*.txt"):
        stored.write_bytes(b"\xff\xfe not utf-8 \xff")
    reads = _counting_reads(monkeypatch)
    again = _pack(repo, cache)
    assert again.text == good and reads == [1]


def test_a_ranked_context_is_stored_per_question_and_one_that_fits_serves_every_question(tmp_path, monkeypatch):
    from v4cli.context.pack import Selection

    files = {**FILES, **{f"pkg/mod_{i}.py": "".join(f"def f{i}_{j}(x):\n    return x * {j}\n\n\n" for j in range(40))
                         for i in range(4)}}
    repo = make_git_repo(tmp_path / "repo", files)
    cache = Cache(tmp_path / "cache")
    time.sleep(2.1)  # files written within the last two seconds are never trusted
    reads = _counting_reads(monkeypatch)

    def run(question, budget):
        return snapshot.pack_paths([str(repo)], SourceOptions(), stdin=None, budget=budget, fmt="xml", redact=True,
                                   cache=cache, selection=Selection(question))

    fits = [run(q, 100_000) for q in ("first?", "second?", "first?")]
    assert len(reads) == 1 and fits[0].text == fits[1].text == fits[2].text and fits[0].prefix_chars is None
    ranked = [run(q, 1_200) for q in ("what does f2_7 do?", "what does f1_3 do?", "what does f2_7 do?")]
    assert len(reads) == 3  # one pack per distinct question; the repeat is answered from the store
    assert ranked[2].text == ranked[0].text and ranked[2].prefix_chars == ranked[0].prefix_chars is not None
    assert ranked[2].manifest() == ranked[0].manifest()
    cache.close()


def test_a_new_rule_in_an_ignore_file_git_hides_is_seen(tmp_path, monkeypatch):
    """.v4ignore kept out of git (.git/info/exclude) is found through git's listing, never by probing: an
    edit to it must still reach the stored context."""
    repo = make_git_repo(tmp_path / "repo", FILES)
    (repo / ".git" / "info" / "exclude").write_text(".v4ignore\n")
    write_tree(repo, {"pkg/.v4ignore": "# nothing yet\n"})
    cache = Cache(tmp_path / "cache")
    time.sleep(2.1)
    before = _pack(repo, cache)
    assert "return 2" in before.text and ".v4ignore" not in before.text
    (repo / "pkg" / ".v4ignore").write_text("b.py\n")
    after = _pack(repo, cache)
    assert "return 2" not in after.text
    assert {s.path: s.reason for s in after.skipped} == {"pkg/b.py": "ignored"}


def test_a_stored_manifest_needs_no_cache_once_loaded_and_copies_work_without_sendfile(tmp_path, monkeypatch):
    import sqlite3

    repo = make_git_repo(tmp_path / "repo", FILES)
    cache = Cache(tmp_path / "cache")
    time.sleep(2.1)
    first = _pack(repo, cache)
    stored = _pack(repo, cache)
    holder = sqlite3.connect(tmp_path / "cache" / "cache.sqlite", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another run holding the cache cannot hold up the manifest any more
    try:
        assert stored.manifest() == first.manifest()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    monkeypatch.setattr(snapshot, "_SENDFILE_ANY", False)  # macOS, Windows: copied through Python
    with open(tmp_path / "out.xml", "wb") as out:
        _pack(repo, cache).parts.write_utf8(out)
    assert (tmp_path / "out.xml").read_text() == first.text


def test_options_pack_would_refuse_are_refused_before_any_file_is_read(tmp_path, monkeypatch):
    import pytest

    from v4cli.errors import UsageError

    repo = make_git_repo(tmp_path / "repo", FILES)
    reads = _counting_reads(monkeypatch)
    with pytest.raises(UsageError, match="unknown format"):
        _pack(repo, Cache(None), fmt="yaml")
    with pytest.raises(UsageError, match="budget must be"):
        _pack(repo, Cache(None), budget=0)
    assert reads == []


def test_the_cycle_collector_is_paused_while_packing_and_restored_after(tmp_path, monkeypatch):
    import gc

    seen = []
    real = snapshot.pack

    def pack(*args, **kwargs):
        seen.append(gc.isenabled())
        return real(*args, **kwargs)

    monkeypatch.setattr(snapshot, "pack", pack)
    repo = write_tree(tmp_path / "tree", FILES)
    assert gc.isenabled()
    _pack(repo, Cache(None))
    assert seen == [False] and gc.isenabled()
    gc.disable()  # a caller that had paused it keeps it paused
    try:
        _pack(repo, Cache(None))
        assert not gc.isenabled()
    finally:
        gc.enable()


def _workers_started(monkeypatch, built_here: bool):
    """Record the workers started ahead; `built_here`: whether this process's tokenizer counts as built."""
    from v4cli.context import tokens

    monkeypatch.setattr(tokens, "usable_cpus", lambda: 2)
    monkeypatch.setattr(tokens, "is_built", lambda: built_here)
    started = []
    real = snapshot.start_worker_ahead

    def spy(redact):
        started.append(real(redact))
        return started[-1]

    monkeypatch.setattr(snapshot, "start_worker_ahead", spy)
    return started


def _nothing_done_here(monkeypatch) -> None:
    """Fail if this process scans or counts: a first run leaves both to the worker."""
    from v4cli.context import secrets, tokens

    monkeypatch.setattr(secrets, "redact", lambda text: pytest.fail("scanned here"))
    monkeypatch.setattr(tokens, "get_tokenizer", lambda: pytest.fail("counted here"))


@pytest.mark.parametrize("large", [True, False])
def test_a_first_run_scans_and_counts_in_a_worker_started_before_planning(tmp_path, monkeypatch, large):
    """A large input, or any input while the tokenizer is not built here: the worker does all the counting,
    the frames of the files included, and the tokenizer is never built in this process."""
    from v4cli.context import prepare

    secret = 'token = "ghp_R8x2Lm4Qp7Vn1Kt9Zs3Wd6Yh0Bc5Jf2Ga8Ne"\n'
    repo = make_git_repo(tmp_path / "repo", {**FILES, "conf.py": secret, "big.txt": "word " * 50_000 + "\n"})
    expected = _pack(repo, Cache(None))
    started = _workers_started(monkeypatch, built_here=large)
    monkeypatch.setattr(prepare, "_WORKER_CHARS", 100_000 if large else 10**12)
    _nothing_done_here(monkeypatch)
    result = _pack(repo, Cache(tmp_path / "cache"))
    assert len(started) == 1 and started[0].counted == 5  # every file went to the worker
    assert started[0]._child.wait(timeout=60) == 0  # and it ends, at the end of its input
    assert result.text == expected.text and result.tokens == expected.tokens
    assert "[REDACTED:github-token]" in result.text and "ghp_R8x2" not in result.text


def test_a_worker_started_ahead_is_stopped_when_the_input_is_small_or_cannot_be_read(tmp_path, monkeypatch):
    started = _workers_started(monkeypatch, built_here=True)
    repo = make_git_repo(tmp_path / "repo", FILES)
    result = _pack(repo, Cache(tmp_path / "cache"))
    assert "def f():" in result.text
    with pytest.raises(UsageError):
        snapshot.pack_paths([str(tmp_path / "missing")], SourceOptions(), stdin=None, budget=1000, fmt="xml",
                            redact=True, cache=Cache(tmp_path / "other-cache"))
    assert len(started) == 2
    assert all(w._child.wait(timeout=60) is not None and w.counted == 0 for w in started)  # all ended
    _pack(repo, Cache(tmp_path / "cache"))  # no longer a first run: nothing started ahead
    assert len(started) == 2
