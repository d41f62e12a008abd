"""Syntactic chunking: exact reassembly, whole functions, enclosing headers, line-based fallback."""

from __future__ import annotations

import argparse
import inspect

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.context.syntax_samples import SOURCES
from v4cli.context.chunk import Chunk, chunk
from v4cli.context.syntax import analyze
from v4cli.context.tokens import get_tokenizer


def words(text: str) -> int:
    return len(text.split())


def _python_function(name: str, body: int, indent: str) -> list[str]:
    lines = [f"{indent}def {name}(value, *others):", f'{indent}    """Compute {name}."""']
    lines += [f"{indent}    value = helper_{i}(value, others)  # step {i}" for i in range(body)]
    return lines + [f"{indent}    return value", ""]


def _js_function(name: str, body: int, indent: str) -> list[str]:
    head = f"{indent}{name}(value, ...others) {{" if indent else f"function {name}(value, ...others) {{"
    lines = [f"{indent}// Computes {name}.", head]
    lines += [f"{indent}  value = helper{i}(value, others); // step {i}" for i in range(body)]
    return lines + [f"{indent}  return value;", f"{indent}}}", ""]


def build(language: str, items: list[tuple[int, list[int]]]):
    """A module of functions and classes; returns its text and the (start, end) spans of functions and classes."""
    function = _python_function if language == "python" else _js_function
    lines = ["import os" if language == "python" else 'import fs from "node:fs";', ""]
    functions, classes = [], []
    for index, (body, methods) in enumerate(items):
        if not methods:
            block = function(f"f{index}", body, "")
            start = len(lines) + (1 if language == "python" else 2)
            functions.append((start, len(lines) + len(block) - 1))
            lines += block
            continue
        start = len(lines) + 1
        lines.append(f"class C{index}:" if language == "python" else f"class C{index} {{")
        for number, size in enumerate(methods):
            block = function(f"m{index}_{number}", size, "    ")
            first = len(lines) + (1 if language == "python" else 2)
            functions.append((first, len(lines) + len(block) - 1))
            lines += block
        if language != "python":
            lines += ["}", ""]
        classes.append((start, len(lines) - 1, f"class C{index}" + (":" if language == "python" else "")))
    return "\n".join(lines) + "\n", functions, classes


def _check(text: str, language: str, max_tokens: int, functions, classes) -> list[Chunk]:
    symbols = analyze(text, language)
    spans = {(d.start_line, d.end_line) for d in symbols.definitions}
    assert set(functions) | {(start, end) for start, end, _ in classes} <= spans  # the generator's spans are real
    chunks = chunk(text, symbols, max_tokens, words)
    assert "".join(c.text for c in chunks) == text
    rows = text.split("\n")
    for previous, current in zip(chunks, chunks[1:]):
        assert current.start_line == previous.end_line + 1  # every line here is shorter than the budget
        assert previous.text.endswith("\n")
    for c in chunks:
        assert words(c.text) <= max_tokens
        assert c.text == "".join(row + "\n" for row in rows[c.start_line - 1:c.end_line])
    for start, end in functions:
        if words("\n".join(rows[start - 1:end])) <= max_tokens:
            assert not any(start <= c.end_line < end for c in chunks), (start, end)
    for start, end, signature in classes:
        for c in chunks:
            if start < c.start_line <= end:
                assert signature in c.headers, (c, signature)
    return chunks


items = st.lists(st.tuples(st.integers(0, 12), st.lists(st.integers(0, 10), max_size=4)), min_size=1, max_size=8)


@settings(max_examples=60, deadline=None)
@given(items=items, max_tokens=st.integers(12, 250))
def test_python_chunks_keep_functions_whole(items, max_tokens):
    text, functions, classes = build("python", items)
    _check(text, "python", max_tokens, functions, classes)


@settings(max_examples=60, deadline=None)
@given(items=items, max_tokens=st.integers(14, 250))
def test_javascript_chunks_keep_functions_whole(items, max_tokens):
    text, functions, classes = build("javascript", items)
    _check(text, "javascript", max_tokens, functions, classes)


def test_a_function_bigger_than_the_budget_is_split_under_its_headers():
    text, functions, classes = build("python", [(2, []), (0, [3, 60, 2])])
    chunks = _check(text, "python", 80, functions, classes)
    big_start, big_end = functions[2]
    inside = [c for c in chunks if big_start < c.start_line <= big_end]
    assert len(inside) >= 2
    assert all(c.headers == ("class C1:", "def m1_1(value, *others):") for c in inside)


def test_leading_comments_stay_with_their_definition():
    text, functions, classes = build("javascript", [(5, []), (5, []), (5, [])])
    chunks = chunk(text, analyze(text, "javascript"), 45, words)
    assert all(not c.text.rstrip().endswith("// Computes f1.") for c in chunks)
    assert any(c.text.startswith("// Computes f1.") for c in chunks)


def test_whole_file_within_budget_is_one_chunk_and_empty_is_none():
    source = SOURCES["rust"]
    assert chunk(source, analyze(source, "rust"), 10_000, words) == [
        Chunk(1, source.count("\n"), source, ())]
    assert chunk("", analyze("", "rust"), 10, words) == []
    with pytest.raises(ValueError, match="max_tokens"):
        chunk(source, analyze(source, "rust"), 0, words)


def test_unsupported_language_falls_back_to_lines_breaking_at_blank_lines():
    paragraphs = ["\n".join(f"paragraph {p} sentence {s} goes on" for s in range(4)) for p in range(10)]
    text = "\n\n".join(paragraphs) + "\n"
    symbols = analyze(text, "markdown")
    assert not symbols.parsed
    chunks = chunk(text, symbols, 50, words)
    assert "".join(c.text for c in chunks) == text
    assert all(words(c.text) <= 50 for c in chunks)
    assert all(c.text.startswith("paragraph") and c.headers == () for c in chunks)


def test_an_overlong_line_is_split_by_characters():
    text = "short line\n" + " ".join(f"w{i}" for i in range(500)) + "\nlast line without newline"
    chunks = chunk(text, analyze(text, "javascript"), 40, words)
    assert "".join(c.text for c in chunks) == text
    assert all(words(c.text) <= 40 for c in chunks)
    assert {c.start_line for c in chunks if c.start_line == c.end_line == 2} == {2}
    assert chunks[-1].end_line == 3


@pytest.mark.parametrize("language", sorted(SOURCES))
def test_every_language_chunks_exactly(language):
    source = SOURCES[language]
    for budget in (8, 25, 60):
        chunks = chunk(source, analyze(source, language), budget, words)
        assert "".join(c.text for c in chunks) == source
        assert all(words(c.text) <= budget for c in chunks)


def test_real_module_with_the_real_tokenizer():
    source = inspect.getsource(argparse)
    symbols = analyze(source, "python")
    count = get_tokenizer().count
    chunks = chunk(source, symbols, 2000, count)
    assert "".join(c.text for c in chunks) == source
    assert all(count(c.text) <= 2000 for c in chunks)
    for definition in symbols.definitions:
        if definition.kind == "method":
            body = "".join(source.splitlines(keepends=True)[definition.start_line - 1:definition.end_line])
            if count(body) <= 2000:
                assert not any(definition.start_line <= c.end_line < definition.end_line for c in chunks)
    assert any(c.headers and c.headers[0].startswith("class ArgumentParser(") for c in chunks)
