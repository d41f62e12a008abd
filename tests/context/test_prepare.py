"""prepare: redacted texts with exact counts, the same whether they are prepared here or in a worker process."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.conftest import write_tree
from tests.context.secrets_corpus import look_alike_files, true_secret_files
from v4cli.context import prepare as prepare_module
from v4cli.context import tokens
from v4cli.context.cache import Cache
from v4cli.context.prepare import prepare
from v4cli.context.secrets import redact
from v4cli.context.sources import SourceOptions, collect


@pytest.fixture
def documents(tmp_path):
    files = {f"secret/{i}-{f.name}": f.text for i, f in enumerate(true_secret_files(0))}
    files |= {f"plain/{i}-{f.name}": f.text for i, f in enumerate(look_alike_files(0))}
    return collect([str(write_tree(tmp_path / "src", files))], SourceOptions()).documents


@pytest.mark.parametrize("background", [False, True])
def test_texts_are_redacted_and_counted_exactly(monkeypatch, documents, background):
    monkeypatch.setattr(prepare_module, "_WORKER_CHARS", 0 if background else 10**12)
    monkeypatch.setattr(tokens, "usable_cpus", lambda: 2)
    monkeypatch.setattr(tokens, "_PARALLEL_MIN_CHARS", 0)  # counted on threads, in many parts
    monkeypatch.setattr(tokens, "PART_CHARS", 2_000)
    stages = []
    prepared = prepare(documents, Cache(None), progress=lambda *stage: stages.append(stage))
    tokenizer = tokens.get_tokenizer()
    assert [p.doc for p in prepared] == list(documents)
    for p in prepared:
        text, found = redact(p.doc.text)
        assert (p.text, p.redactions) == (text, tuple(found))
        assert p.tokens == tokenizer.count(text)
    assert any(p.redactions for p in prepared) and any(not p.redactions for p in prepared)
    assert len(stages) > 1 and stages[-1] == ("counting tokens", len(documents), len(documents))
    assert [done for _, done, _ in stages] == sorted(done for _, done, _ in stages)


def test_a_second_run_takes_counts_and_redactions_from_the_cache(tmp_path, monkeypatch, documents):
    cache = Cache(tmp_path / "cache")
    first = prepare(documents, cache)
    monkeypatch.setattr(tokens, "get_tokenizer", lambda: pytest.fail("counted again"))
    again = prepare(documents, cache)
    assert [(p.text, p.tokens, p.redactions) for p in again] == [(p.text, p.tokens, p.redactions) for p in first]


def test_without_redaction_the_texts_are_kept(documents):
    prepared = prepare(documents, Cache(None), redact=False)
    assert all(p.text is p.doc.text and p.redactions == () for p in prepared)
    assert [p.tokens for p in prepared] == tokens.get_tokenizer().count_many([d.text for d in documents])


def test_documents_added_batch_by_batch_are_prepared_as_all_at_once(tmp_path, monkeypatch, documents):
    """The streaming form: batches of any size, half the documents already cached, counting on threads here until
    a worker process takes over partway (once enough is missing); any order asked for at the end."""
    monkeypatch.setattr(prepare_module, "_WORKER_CHARS", sum(len(d.text) for d in documents) // 3)
    monkeypatch.setattr(tokens, "usable_cpus", lambda: 2)
    monkeypatch.setattr(tokens, "PART_CHARS", 2_000)
    expected = prepare(documents, Cache(None))
    cache = Cache(tmp_path / "cache")
    prepare(documents[::2], cache)
    stages = []
    with prepare_module.Preparation(cache, progress=lambda *stage: stages.append(stage),
                                    expected=len(documents) + 4) as preparation:
        counted_here = []
        for start in range(0, len(documents), 7):
            preparation.add(documents[start : start + 7], skipped=1 if start < 28 else 0)
            counted_here.append(preparation._worker is None and bool(preparation._jobs or preparation._unsent))
        assert counted_here[0] and not counted_here[-1]
        assert preparation._worker._child is not None
        result = preparation.result(documents[::-1])
    assert result == expected[::-1]
    assert stages[-1] == ("counting tokens", len(documents) + 4, len(documents) + 4)
    assert [done for _, done, _ in stages] == sorted(done for _, done, _ in stages)


_LINES = st.lists(st.sampled_from(["x = 1", "  indented", "", "\t", "key: 'AKIA...'", "中文 テキスト", "🎉", "<｜User｜>",
                                   "}", "  ", "def f():", "    return 2"]), max_size=12).map("\n".join)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(head=_LINES, old=_LINES, new=_LINES, tail=_LINES, newline=st.booleans())
def test_an_edited_text_is_recounted_exactly_from_its_changed_stretch(head, old, new, tail, newline):
    tokenizer = tokens.get_tokenizer()
    glue = "\n" if newline else ""
    before, after = head + glue + old + glue + tail, head + glue + new + glue + tail
    assert prepare_module.recount_edited([(before, after, tokenizer.count(before))]) == [tokenizer.count(after)]


_ANY_LINES = st.one_of(_LINES, st.sampled_from(["x\r\ny", "a\u2028 b", "\x0c", "k = 'v'\x1c", "\r", "\x85z"]))


@settings(max_examples=300, derandomize=True, deadline=None)
@given(lines=st.lists(_ANY_LINES, min_size=1, max_size=12), edits=st.lists(st.tuples(st.integers(0, 11), _ANY_LINES),
                                                                          max_size=4))
def test_texts_edited_in_many_places_are_recounted_exactly_from_their_changed_stretches(lines, edits):
    """Edits anywhere, some of them adding or removing lines (then one stretch spans them all), with line breaks
    of every kind that str.splitlines knows."""
    tokenizer = tokens.get_tokenizer()
    edited = list(lines)
    for at, text in edits:
        edited[at % len(edited)] = text
    before, after = "\n".join(lines), "\n".join(edited)
    assert prepare_module.recount_edited([(before, after, tokenizer.count(before))]) == [tokenizer.count(after)]


@pytest.mark.parametrize("changed", [["value_2500"], ["value_10", "value_2500", "value_4990"]])
def test_redacted_lines_in_a_large_file_are_all_that_is_counted_again(monkeypatch, changed):
    lines = [f"value_{i} = compute({i})" for i in range(5_000)]
    before = "\n".join(lines) + "\n"
    after = before
    for name in changed:
        after = after.replace(f"{name} = compute({name[6:]})", f"{name} = [REDACTED:generic-secret]")
    tokenizer = tokens.get_tokenizer()
    counted = []
    real = tokens.V4Tokenizer.count_many

    def count_many(self, texts, **options):
        counted.extend(texts)
        return real(self, texts, **options)

    monkeypatch.setattr(tokens.V4Tokenizer, "count_many", count_many)
    assert prepare_module.recount_edited([(before, after, tokenizer.count(before))]) == [tokenizer.count(after)]
    assert sum(map(len, counted)) < 200 * len(changed)


def test_a_preparation_can_settle_more_than_once(documents):
    tokenizer = tokens.get_tokenizer()
    with prepare_module.Preparation(Cache(None), redact=False) as preparation:
        for doc in documents[:3]:
            preparation.add([doc])
            assert [p.tokens for p in preparation.result([doc])] == [tokenizer.count(doc.text)]


def test_a_worker_that_fails_leaves_the_documents_to_be_prepared_here(monkeypatch, documents):
    """Its first answer is well formed (and wrong); everything it was given is scanned and counted here."""
    from v4cli.context import worker

    monkeypatch.setattr(worker, "_CHILD", (
        "import pickle, sys; pickle.load(sys.stdin.buffer); "
        "pickle.dump(('found', [(0, 'wrong', [(1, 'fake')])]), sys.stdout.buffer); "
        "pickle.dump(('counted', 0, [1]), sys.stdout.buffer); sys.stdout.buffer.flush(); sys.exit(1)"))
    monkeypatch.setattr(prepare_module, "_WORKER_CHARS", 0)
    monkeypatch.setattr(tokens, "usable_cpus", lambda: 2)
    expected = prepare(documents, Cache(None), redact=True)
    with prepare_module.Preparation(Cache(None)) as preparation:
        preparation.add(documents)
        assert preparation._worker is not None
        assert preparation.result(documents) == expected


def test_while_a_worker_runs_small_strings_are_counted_by_it(tmp_path, monkeypatch, documents):
    texts = ['<file path="a.py" tokens="12">\n', "</file>\n", "x\ud800", "<think>", "</file>\n"]
    expected = [tokens.get_tokenizer().count(t) for t in texts]
    monkeypatch.setattr(prepare_module, "_WORKER_CHARS", 0)
    monkeypatch.setattr(tokens, "usable_cpus", lambda: 2)
    with prepare_module.Preparation(Cache(tmp_path / "cache"), redact=False) as preparation:
        preparation.add(documents[:2])
        preparation.result(documents[:2])
        asked = []
        real = preparation._worker.count
        monkeypatch.setattr(preparation._worker, "count", lambda texts: asked.append(list(texts)) or real(texts))
        monkeypatch.setattr(tokens, "get_tokenizer", lambda: pytest.fail("counted here"))
        assert prepare_module.count_cached(texts[:2], preparation.cache) == expected[:2]
        assert prepare_module.count_cached_together(texts, preparation.cache) == expected
    assert asked == [texts[:2], texts[:4]]  # what the cache lacked, each distinct string once
    assert prepare_module._counting_worker is None  # the worker is gone with its preparation


def test_small_strings_counted_together_are_cached_as_one_list(tmp_path, monkeypatch):
    cache = Cache(tmp_path / "cache")
    texts = ['<file path="a.py" tokens="12">\n', "</file>\n", "", "</file>\n", "x\ud800", "<think>"]
    tokenizer = tokens.get_tokenizer()
    expected = [tokenizer.count(t) for t in texts]
    assert prepare_module.count_cached_together(texts, cache) == expected
    with monkeypatch.context() as m:
        m.setattr(tokens, "get_tokenizer", lambda: pytest.fail("counted again"))
        assert prepare_module.count_cached_together(texts, cache) == expected
    # another list, even one that only moves a string from one item to the next, is counted anew
    moved = ['<file path="a.py" tokens="12">\n</file>\n', "", *texts[2:]]
    assert prepare_module.count_cached_together(moved, cache) == [tokenizer.count(t) for t in moved]
    assert prepare_module.count_cached_together([], cache) == []
