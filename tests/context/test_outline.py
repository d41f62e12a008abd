"""Outlines: signatures with line numbers, first doc lines, elided bodies, much smaller than the file."""

from __future__ import annotations

import argparse
import inspect
import re

import pytest

from tests.context.syntax_samples import SOURCES
from v4cli.context.outline import outline
from v4cli.context.syntax import analyze, definition_tree
from v4cli.context.tokens import get_tokenizer

LANGUAGES = sorted(SOURCES)


def _visible(tree):
    """Definitions an outline shows: all but those nested inside functions (whose bodies are elided)."""
    for node in tree:
        yield node.definition
        if node.definition.kind not in ("function", "method") and \
                node.definition.end_line > node.definition.start_line:
            yield from _visible(node.children)


@pytest.mark.parametrize("language", LANGUAGES)
def test_outline_shows_each_signature_at_its_line(language):
    source = SOURCES[language]
    symbols = analyze(source, language)
    text = outline(source, symbols, path=f"src/sample.{language}")
    rows = text.splitlines()
    assert f"src/sample.{language} ({language}," in rows[0]
    numbered = {}
    for row in rows:
        match = re.match(r"\s*(\d+)│ (.*)$", row)
        if match:
            numbered[int(match.group(1))] = match.group(2)
    lines = source.split("\n")
    for number, content in numbered.items():  # numbered rows are the source lines, perhaps with a marker added
        assert content.startswith(lines[number - 1].rstrip()[:60].rstrip(" {")), (number, content)
    for definition in _visible(definition_tree(symbols.definitions)):
        first = definition.signature.split("\n")[0]
        assert first in numbered.get(definition.start_line, ""), (definition, text)


def test_python_outline():
    source = SOURCES["python"]
    text = outline(source, analyze(source, "python"))
    assert text == (
        ' 1│ """Inventory service."""\n'
        ' 5│ T = TypeVar("T")\n'
        " 6│ MAX_ITEMS = 100\n"
        " 9│ def _log(message: str) -> None: ...  # lines 9-11\n"
        "14│ @dataclasses.dataclass(frozen=True)\n"
        "15│ class Item(Generic[T]):\n"
        '  │     """A stocked item."""\n'
        "21│     name: str\n"
        "22│     value: T\n"
        "24│     @property\n"
        "25│     def label(self) -> str:\n"
        '  │         """Display label."""\n'
        "  │         ...  # lines 24-27\n"
        "29│     def scaled(\n"
        "30│         self,\n"
        "31│         factor: float,\n"
        '32│     ) -> "Item[T]": ...  # lines 29-37\n'
        "40│ async def fetch_all(urls: list[str]) -> list[bytes]: ...  # lines 40-41\n"
    )


def test_brace_language_outline_keeps_fields_and_closes_blocks():
    source = SOURCES["go"]
    text = outline(source, analyze(source, "go"))
    fields = ("18│ type Store[K comparable, V any] struct {\n"
              "19│ \tmu    sync.Mutex\n20│ \titems map[K]V\n21│ }\n")
    assert fields in text
    assert "34│ func (s *Store[K, V]) Get(key K) (V, error) { … }  // lines 34-42\n" in text
    assert "  │ // Get returns the value for key.\n" in text
    assert "defer s.mu.Unlock()" not in text
    java = outline(SOURCES["java"], analyze(SOURCES["java"], "java"))
    assert "17│     public long total(T order) { … }  // lines 16-19\n" in java
    assert "26│ }" in java
    ruby = outline(SOURCES["ruby"], analyze(SOURCES["ruby"], "ruby"))
    assert "15│     def area … end  # lines 15-17\n" in ruby
    lua = outline(SOURCES["lua"], analyze(SOURCES["lua"], "lua"))
    assert " 5│ function M.add(a, b) … end  -- lines 5-7\n" in lua


def test_long_member_lists_are_summarized():
    source = "enum Big {\n" + "".join(f"    V{i},\n" for i in range(40)) + "}\n"
    text = outline(source, analyze(source, "rust"))
    assert "25│     V23,\n" in text and "V24" not in text
    assert "  │     … 16 more\n42│ }\n" in text


def test_outline_of_unparsed_text_shows_its_head():
    text = "".join(f"line {i}\n" for i in range(1, 31))
    result = outline(text, analyze(text, "text"), path="notes.txt")
    assert " 1│ line 1\n" in result and "10│ line 10\n" in result and "line 11\n" not in result
    assert "lines 11-30" in result


def test_outline_is_much_smaller_than_real_code():
    source = inspect.getsource(argparse)
    symbols = analyze(source, "python")
    text = outline(source, symbols)
    count = get_tokenizer().count
    assert count(text) < count(source) / 4
    assert "class ArgumentParser(_AttributeHolder, _ActionsContainer):" in text
    assert "def parse_args(self, args=None, namespace=None):" in text


def _numbered(text: str) -> dict[int, str]:
    rows = {}
    for row in text.splitlines():
        match = re.match(r"\s*(\d+)│ (.*)$", row)
        if match:
            rows[int(match.group(1))] = match.group(2)
    return rows


@pytest.mark.parametrize("language", LANGUAGES)
def test_compact_outline_cites_every_definition_by_line(language):
    source = SOURCES[language]
    symbols = analyze(source, language)
    text = outline(source, symbols, path=f"src/sample.{language}", compact=True)
    assert f"src/sample.{language} ({language}," in text.splitlines()[0] and "compact outline" in text
    numbered = _numbered(text)
    lines = source.split("\n")
    for number, content in numbered.items():  # numbered rows are source lines, verbatim
        assert content == lines[number - 1].rstrip(), (number, content)
    listed = "\n".join(row for row in text.splitlines() if "│" in row and not re.match(r"\s*\d+│", row))

    def check(nodes):
        for node in nodes:
            definition = node.definition
            shown = [n for n in range(definition.start_line, definition.end_line + 1) if n in numbered]
            assert shown and definition.name in numbered[shown[0]], (definition, text)
            if definition.kind in ("class", "interface", "enum", "impl", "module", "type"):
                for child in node.children:  # a method: on its own row, or named with its line under the class
                    line = child.definition.start_line
                    pattern = rf"[ ,]{re.escape(child.definition.name)} (\d+)(?:,|$)"
                    cited = re.findall(pattern, listed, re.MULTILINE)
                    named = any(line <= int(n) <= child.definition.end_line for n in cited)
                    assert named or child.definition.name in numbered.get(line, "") or \
                        any(child.definition.name in numbered.get(n, "") for n in range(line, line + 3)), (child, text)
                check([c for c in node.children if c.definition.kind in ("class", "interface", "enum", "impl",
                                                                              "module", "type")])

    check(definition_tree(symbols.definitions))
    assert get_tokenizer().count(text) < get_tokenizer().count(outline(source, symbols, path="x"))


def test_python_compact_outline():
    source = SOURCES["python"]
    # the decorator of Item and the property of label are left out: the compact outline cites the defining
    # line; label and scaled are methods, named under their class with their header lines (25 after @property)
    assert outline(source, analyze(source, "python"), compact=True) == (
        ' 5│ T = TypeVar("T")\n'
        " 6│ MAX_ITEMS = 100\n"
        " 9│ def _log(message: str) -> None:\n"
        "15│ class Item(Generic[T]):\n"
        "  │     # label 25, scaled 29\n"
        "40│ async def fetch_all(urls: list[str]) -> list[bytes]:\n"
    )


def test_compact_outline_of_a_file_without_definitions_is_none():
    text = "".join(f"line {i}\n" for i in range(1, 31))
    assert outline(text, analyze(text, "text"), compact=True) is None


def test_compact_outline_is_a_fraction_of_the_outline():
    source = inspect.getsource(argparse)
    symbols = analyze(source, "python")
    count = get_tokenizer().count
    compact = outline(source, symbols, compact=True)
    assert count(compact) < count(outline(source, symbols)) / 2
    assert re.search(r"\d│ class ArgumentParser\(_AttributeHolder, _ActionsContainer\):\n", compact)
    parse_args = next(d.start_line for d in symbols.definitions if d.name == "parse_args")
    assert f"parse_args {parse_args}," in compact and "def parse_args" not in compact
