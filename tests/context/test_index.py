"""The per-file index for selection: symbols and outlines, cached by content, built in parallel when large."""

from __future__ import annotations

from tests.conftest import write_tree
from v4cli.context import index, syntax
from v4cli.context.cache import Cache
from v4cli.context.outline import outline
from v4cli.context.prepare import prepare
from v4cli.context.rank import term_stats
from v4cli.context.sources import SourceOptions, collect
from v4cli.context.tokens import get_tokenizer

SOURCES = {
    "pkg/models.py": "".join(
        f"class Model{i}:\n    \"\"\"Model number {i}.\"\"\"\n\n    def save(self, force=False):\n"
        + "".join(f"        self.field_{j} = [self, force, {i} * {j}] * 3\n" for j in range(8))
        + f"        return self\n\n    def load(self):\n        return Model{i}()\n\n\n"
        for i in range(12)
    ),
    "web/app.js": "".join(f"export function handler{i}(req, res) {{\n  return res.send({i} * 2);\n}}\n\n"
                          for i in range(15)),
    "notes.txt": "plain text has no outline\n" * 20,
    "tiny.py": "X = 1\n",
}


def _prepared(tmp_path, cache):
    root = write_tree(tmp_path / "src", SOURCES)
    return prepare(collect([str(root)], SourceOptions()).documents, cache)


def test_entries_match_a_direct_analysis(tmp_path):
    cache = Cache(None)
    prepared = _prepared(tmp_path, cache)
    entries = index.index_files(prepared, cache, redact=True)
    for p, entry in zip(prepared, entries):
        expected = syntax.analyze(p.text, p.doc.language)
        assert entry.symbols == expected
        assert entry.terms == term_stats(p.text, expected)
        if p.doc.path.endswith("models.py"):
            assert entry.outline == outline(p.text, expected)
            assert entry.outline_tokens == get_tokenizer().count(entry.outline) < p.tokens
            assert "class Model3" in entry.outline and "return [self" not in entry.outline
            assert entry.compact == outline(p.text, expected, compact=True)
            assert entry.compact_tokens == get_tokenizer().count(entry.compact) < entry.outline_tokens
            assert "class Model3:" in entry.compact and "Model number" not in entry.compact
    by_path = {p.doc.path: e for p, e in zip(prepared, entries)}
    assert by_path["notes.txt"].outline is None  # no grammar, no outline: such a file is full or a path
    assert by_path["tiny.py"].outline is None  # an outline that saves nothing is not offered
    assert by_path["notes.txt"].compact is None and by_path["tiny.py"].compact is None
    # web/app.js has three-line functions: the outline (header and marker) saves nothing, the header lines do
    app, app_tokens = by_path["web/app.js"], next(p.tokens for p in prepared if p.doc.path == "web/app.js")
    assert app.outline is None and app.compact is not None and app.compact_tokens < app_tokens * 0.8
    assert "export function handler14(req, res) {" in app.compact and "res.send" not in app.compact


def test_parallel_build_gives_the_same_entries(tmp_path, monkeypatch):
    cache = Cache(None)
    prepared = _prepared(tmp_path, cache)
    serial = index.index_files(prepared, cache, redact=True)
    monkeypatch.setattr(index, "_PARALLEL_MIN_CHARS", 10)
    monkeypatch.setattr(index, "_BATCH_CHARS", 500)
    monkeypatch.setattr(index, "usable_cpus", lambda: 2)
    parallel = index.index_files(prepared, cache, redact=True)
    assert parallel == serial


def test_cache_hits_skip_parsing_and_bad_entries_are_rebuilt(tmp_path, monkeypatch):
    cache = Cache(tmp_path / "cache")
    prepared = _prepared(tmp_path, cache)
    first = index.index_files(prepared, cache, redact=True)
    calls = []
    real = syntax.analyze
    monkeypatch.setattr(syntax, "analyze", lambda text, language: calls.append(language) or real(text, language))
    assert index.index_files(prepared, cache, redact=True) == first
    assert calls == []
    # a damaged entry (here: one from another syntax version) is rebuilt; the others are read back as they were
    (key,) = [k for (k,) in cache._db.execute("SELECT key FROM entries WHERE key LIKE 'idx:%'")
              if k.startswith(f"idx:{prepared[0].doc.digest}:")]
    entry = syntax.to_json(first[0].symbols)
    cache.put_many({key: {"s": {**entry, "version": "0"}, "o": None, "n": 0, "w": 1, "v": "1: x "}})
    assert index.index_files(prepared, cache, redact=True) == first
    assert calls == [prepared[0].doc.language]
    calls.clear()
    # the redaction variant is part of the key: an unredacted index is built separately
    index.index_files(prepared, cache, redact=False)
    assert len(calls) == len(prepared)
    cache.close()
