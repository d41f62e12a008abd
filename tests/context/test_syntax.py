"""Definitions and references extracted by tree-sitter from real snippets in every supported language."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.context.syntax_samples import DEFINITIONS, SOURCES
from v4cli.context import syntax
from v4cli.context.languages import language_for
from v4cli.context.syntax import SYNTAX_VERSION, Definition, FileSymbols, analyze, from_json, supported, to_json

LANGUAGES = sorted(SOURCES)

DOCS = {
    ("python", "Item"): "A stocked item.", ("python", "label"): "Display label.",
    ("javascript", "loadConfig"): "Parses a config file.", ("javascript", "match"): "Finds a route.",
    ("typescript", "User"): "A user record.", ("typescript", "save"): "Stores an item.",
    ("tsx", "List"): "Renders a list with a counter.", ("go", "Get"): "Get returns the value for key.",
    ("go", "Store"): "Store is a concurrent map.", ("rust", "new"): "Creates an empty cache.",
    ("rust", "Cache"): "A bounded cache.", ("java", "OrderService"): "Computes order totals.",
    ("java", "total"): "Sums the order lines.", ("c", "buf_grow"): "Grows the buffer to at least n bytes.",
    ("cpp", "Point"): "A point.", ("csharp", "IShape"): "A shape.", ("ruby", "Circle"): "A circle.",
    ("php", "Circle"): "A circle.", ("bash", "usage"): "Print usage.", ("kotlin", "Shape"): "A shape with an area.",
    ("swift", "Drawable"): "Something that can be drawn.", ("scala", "Shape"): "Shapes.",
    ("lua", "add"): "Adds two vectors.",
}

CALLED = {  # identifiers each snippet calls or uses as a type: they must be among its references
    "python": ["print", "min", "download", "_log", "Item", "TypeVar", "dataclass"],
    "javascript": ["readFile", "parse", "render", "find", "EventEmitter"],
    "typescript": ["validate", "lookup", "toLowerCase", "Map", "Request", "Promise"],
    "tsx": ["useState", "setCount", "map", "Component"],
    "go": ["New", "make", "Lock", "Unlock", "Mutex"],
    "rust": ["new", "insert", "clear", "len", "HashMap", "Option"],
    "java": ["stream", "mapToLong", "sum", "Repository"],
    "c": ["realloc", "MAX", "buffer_t"],
    "cpp": ["vector", "std", "id_"],
    "csharp": ["Math", "IShape"],
    "ruby": ["require", "attr_reader", "new", "Shape"],
    "php": ["Circle", "Base"],
    "bash": ["echo", "make", "build", "set"],
    "kotlin": ["println", "register", "Circle", "Math"],
    "swift": ["map", "draw", "Point"],
    "scala": ["println", "List"],
    "lua": ["helper", "sqrt"],
}

ONLY_DEFINED = {  # names that occur only at their definition, so they must not count as references
    "python": "fetch_all", "javascript": "ids", "typescript": "slug", "go": "Getter", "rust": "Policy",
    "java": "Status", "c": "buf_new", "ruby": "initialize", "bash": "usage", "scala": "Color", "lua": "scale",
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_definitions(language):
    symbols = analyze(SOURCES[language], language)
    assert symbols.parsed and symbols.language == language
    got = [(d.name, d.kind, d.start_line, d.end_line, d.parent) for d in symbols.definitions]
    assert got == DEFINITIONS[language]


@pytest.mark.parametrize("language", LANGUAGES)
def test_signatures_are_the_source_headers(language):
    lines = SOURCES[language].split("\n")
    for definition in analyze(SOURCES[language], language).definitions:
        first, *rest = definition.signature.split("\n")
        assert first and first in lines[definition.start_line - 1], definition
        assert definition.signature == definition.signature.strip()
        for offset, line in enumerate(rest, 1):  # later header lines are verbatim too
            assert lines[definition.start_line - 1 + offset].startswith(line)


@pytest.mark.parametrize("language", LANGUAGES)
def test_references(language):
    symbols = analyze(SOURCES[language], language)
    assert list(symbols.references) == sorted(set(symbols.references))
    missing = [name for name in CALLED[language] if name not in symbols.references]
    assert not missing
    if language in ONLY_DEFINED:
        assert ONLY_DEFINED[language] not in symbols.references


def test_docs():
    for (language, name), doc in DOCS.items():
        found = [d.doc for d in analyze(SOURCES[language], language).definitions if d.name == name]
        assert found[0] == doc, (language, name, found)


def test_signatures_stop_before_the_body():
    definitions = {d.name: d for d in analyze(SOURCES["python"], "python").definitions}
    assert definitions["scaled"].signature == 'def scaled(\n        self,\n        factor: float,\n    ) -> "Item[T]":'
    assert definitions["label"].signature == "@property\n    def label(self) -> str:"
    go = {d.name: d for d in analyze(SOURCES["go"], "go").definitions}
    assert go["Get"].signature == "func (s *Store[K, V]) Get(key K) (V, error)"
    js = {d.name: d for d in analyze(SOURCES["javascript"], "javascript").definitions}
    assert js["handler"].signature == "const handler = (req, res) =>"
    assert js["DEFAULT_PORT"].signature == "export const DEFAULT_PORT = 8080;"


def test_every_language_of_the_issue_is_supported_under_its_languages_py_name():
    names = {language_for(f"x.{ext}") for ext in
             "py js ts tsx go rs java c cpp cs rb php sh kt swift scala lua".split()}
    assert names == set(LANGUAGES)
    assert all(supported(name) for name in names)
    assert supported("cuda")  # parsed with the C++ grammar


@pytest.mark.parametrize("language", ["text", "markdown", "cobol", "", "yaml"])
def test_unsupported_language(language):
    assert not supported(language)
    symbols = analyze("def f():\n    return 1\n", language)
    assert symbols == FileSymbols(language, (), (), False)


@pytest.mark.parametrize("language", LANGUAGES)
def test_broken_and_partial_sources_do_not_raise(language):
    source = SOURCES[language]
    for text in (source[: len(source) // 2], source[: len(source) // 3] + "\n}{)(]]\n" + source[len(source) // 3:],
                 "\x00\x01\ufeff\udcff junk \u2028 ((((", "", "\n\n\n"):
        symbols = analyze(text, language)
        assert symbols.parsed
        for definition in symbols.definitions:
            assert 1 <= definition.start_line <= definition.end_line <= max(text.count("\n") + 1, 1)


def test_a_truncated_file_still_yields_its_complete_definitions():
    source = SOURCES["go"]
    cut = source[: source.index("// Get returns")] + "func (s *Store[K, V]) Get(key K) (V, error) {\n\ts.mu.Lock("
    names = [d.name for d in analyze(cut, "go").definitions]
    assert names[:6] == ["ErrMissing", "MaxItems", "prefix", "Store", "Getter", "New"]


def test_oversize_input_is_not_parsed(monkeypatch):
    monkeypatch.setattr(syntax, "MAX_BYTES", 100)
    assert analyze("x = 1\n" * 100, "python").parsed is False
    assert analyze("x = 1\n", "python").parsed is True


def test_json_round_trip():
    for language in LANGUAGES:
        symbols = analyze(SOURCES[language], language)
        data = json.loads(json.dumps(to_json(symbols)))
        assert from_json(data) == symbols
    with pytest.raises(ValueError, match="version"):
        from_json({**to_json(symbols), "version": SYNTAX_VERSION + "x"})
    with pytest.raises(ValueError, match="malformed"):
        from_json({"version": SYNTAX_VERSION, "language": "go"})


def test_concurrent_analysis_matches_sequential():
    expected = {language: analyze(SOURCES[language], language) for language in LANGUAGES}
    jobs = LANGUAGES * 4
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda language: analyze(SOURCES[language], language), jobs))
    assert results == [expected[language] for language in jobs]


def test_definition_tree_nests_by_span():
    symbols = analyze(SOURCES["python"], "python")
    tree = syntax.definition_tree(symbols.definitions)
    assert [node.definition.name for node in tree] == ["T", "MAX_ITEMS", "_log", "Item", "fetch_all"]
    item = tree[3]
    assert [node.definition.name for node in item.children] == ["label", "scaled"]
    assert [node.definition.name for node in item.children[1].children] == ["clamp"]
    flat = syntax.definition_tree([Definition("a", "function", 1, 3, "a"), Definition("b", "function", 3, 5, "b")])
    assert [node.definition.name for node in flat] == ["a", "b"]  # overlapping by a line: siblings


def test_crlf_sources_give_the_same_definitions():
    for language in ("python", "go", "csharp"):
        plain = analyze(SOURCES[language], language)
        crlf = analyze(SOURCES[language].replace("\n", "\r\n"), language)
        assert crlf.definitions == plain.definitions


@pytest.mark.parametrize("language, source, expected", [
    ("javascript",
     "exports.parse = function (text) { return text; };\nmodule.exports.render = (x) => x;\n"
     "class View {\n  handleClick = (event) => {\n    this.setState({});\n  };\n  static count = 0;\n}\n",
     [("parse", "function", 1, 1, "exports"), ("render", "function", 2, 2, "module.exports"),
      ("View", "class", 3, 8, None), ("handleClick", "method", 4, 6, "View")]),
    ("typescript", "class View {\n  private onClick = (e: Event): void => {\n    this.update(e);\n  };\n}\n",
     [("View", "class", 1, 5, None), ("onClick", "method", 2, 4, "View")]),
    ("kotlin", "class Repo {\n    companion object Factory {\n        fun create(): Repo = Repo()\n    }\n}\n",
     [("Repo", "class", 1, 5, None), ("Factory", "class", 2, 4, "Repo"), ("create", "method", 3, 3, "Factory")]),
    ("c", "char *name;\nint *make(int n);\nstatic const char **table[4];\n", [("make", "function", 2, 2, None)]),
    ("python", "# Seconds before a retry.\nRETRY_DELAY = 2.5\n\ndef f():\n    LOCAL = 1\n",
     [("RETRY_DELAY", "constant", 2, 2, None), ("f", "function", 4, 5, None)]),
])
def test_more_definition_forms(language, source, expected):
    symbols = analyze(source, language)
    assert [(d.name, d.kind, d.start_line, d.end_line, d.parent) for d in symbols.definitions] == expected
    if language == "python":
        assert symbols.definitions[0].doc == "Seconds before a retry."
