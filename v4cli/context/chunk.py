"""Syntactic chunking: split an oversize file into pieces that each fit a token budget.

The file is cut into atoms that are never split further: a definition that fits whole (with the comments right
above it), or, inside a definition too big for one chunk, its nested definitions and the lines between them;
lines outside definitions break at blank lines first, then at line ends, and a single line longer than the budget
at characters. Atoms are then packed greedily. Each chunk names the definitions it starts inside (its headers), and
the chunks' texts concatenate back to the file exactly. Files without definitions (unsupported languages, plain
text) are chunked by the same line rules.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from v4cli.context.syntax import DefinitionNode, FileSymbols, definition_tree


@dataclass(frozen=True, slots=True)
class Chunk:
    start_line: int  # 1-based, inclusive
    end_line: int
    text: str
    headers: tuple[str, ...]  # signatures of the definitions this chunk starts inside, outermost first


_LEADING = {  # line prefixes that belong to the definition below them (comments, attributes)
    "python": ("#",), "ruby": ("#",), "bash": ("#",), "lua": ("--",),
}
_LEADING_DEFAULT = ("//", "/*", "*", "#[")


def chunk(text: str, symbols: FileSymbols, max_tokens: int, count: Callable[[str], int]) -> list[Chunk]:
    """Split `text` into chunks of at most `max_tokens` tokens as measured by `count`."""
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be at least 1, got {max_tokens}")
    if not text:
        return []
    lines = _split_lines(text)
    if count(text) <= max_tokens:
        return [Chunk(1, len(lines), text, ())]
    definitions = [d for d in symbols.definitions if 1 <= d.start_line <= d.end_line <= len(lines)] \
        if symbols.parsed else []
    splitter = _Splitter(lines, max_tokens, count, _LEADING.get(symbols.language, _LEADING_DEFAULT))
    atoms = list(splitter.region(1, len(lines), definition_tree(definitions)))
    return [Chunk(start, end, body, _headers(definitions, start)) for start, end, body in splitter.pack(atoms)]


def _split_lines(text: str) -> list[str]:
    """Lines with their "\\n" kept; only "\\n" ends a line, as for tree-sitter's rows."""
    lines = [line + "\n" for line in text.split("\n")]
    lines[-1] = lines[-1][:-1]
    if not lines[-1]:
        lines.pop()
    return lines


def _headers(definitions, start: int) -> tuple[str, ...]:
    enclosing = sorted((d for d in definitions if d.start_line < start <= d.end_line),
                       key=lambda d: (d.start_line, -d.end_line))
    return tuple(d.signature for d in enclosing)


Atom = tuple[int, int, str]  # first line, last line, text


class _Splitter:
    def __init__(self, lines: list[str], max_tokens: int, count: Callable[[str], int],
                 leading: tuple[str, ...]) -> None:
        self.lines = lines
        self.max = max_tokens
        self.count = count
        self.leading = leading
        self.cost = lru_cache(maxsize=None)(self._cost)

    def _cost(self, start: int, end: int) -> int:
        return self.count(self.text(start, end))

    def text(self, start: int, end: int) -> str:
        return "".join(self.lines[start - 1:end])

    def region(self, low: int, high: int, nodes: tuple[DefinitionNode, ...]):
        """Atoms covering lines low..high, keeping each definition that fits in one piece."""
        position = low
        for start, end, members in _clusters(nodes, low, high):
            first = self._with_leading(start, position)
            if first < start and self.cost(first, end) > self.max >= self.cost(start, end):
                first = start
            if position < first:
                yield from self.free(position, first - 1)
            if self.cost(first, end) <= self.max:
                yield first, end, self.text(first, end)
            elif len(members) == 1 and members[0].children:
                yield from self.region(first, end, members[0].children)
            else:
                yield from self.free(first, end)
            position = end + 1
        if position <= high:
            yield from self.free(position, high)

    def _with_leading(self, start: int, floor: int) -> int:
        while start - 1 >= floor and self.lines[start - 2].lstrip().startswith(self.leading):
            start -= 1
        return start

    def free(self, low: int, high: int):
        """Atoms for lines with no definition to respect: whole if they fit, else paragraphs, lines, characters."""
        if self.cost(low, high) <= self.max:
            yield low, high, self.text(low, high)
            return
        paragraph = low
        for number in range(low, high + 1):
            ends = number == high or (not self.lines[number - 1].strip() and self.lines[number].strip())
            if not ends:
                continue
            if self.cost(paragraph, number) <= self.max:
                yield paragraph, number, self.text(paragraph, number)
            else:
                for line in range(paragraph, number + 1):
                    if self.cost(line, line) <= self.max:
                        yield line, line, self.lines[line - 1]
                    else:
                        yield from self._characters(line)
            paragraph = number + 1

    def _characters(self, number: int):
        line = self.lines[number - 1]
        while line:
            size = max(1, len(line) * self.max // max(self.count(line), 1))
            while size > 1 and self.count(line[:size]) > self.max:
                size = max(1, size * 3 // 4)
            yield number, number, line[:size]
            line = line[size:]

    def pack(self, atoms: list[Atom]) -> list[Atom]:
        """Greedy packing by summed atom costs, checked against the real count of each packed chunk."""
        result: list[Atom] = []
        index = 0
        while index < len(atoms):
            group = [atoms[index]]
            total = self._atom_cost(atoms[index])
            index += 1
            while index < len(atoms) and total + self._atom_cost(atoms[index]) <= self.max:
                total += self._atom_cost(atoms[index])
                group.append(atoms[index])
                index += 1
            while len(group) > 1 and self.count("".join(a[2] for a in group)) > self.max:
                group.pop()  # tokens merged across atom boundaries differently than summed
                index -= 1
            result.append((group[0][0], group[-1][1], "".join(a[2] for a in group)))
        return result

    def _atom_cost(self, atom: Atom) -> int:
        start, end, text = atom
        if start == end and text != self.lines[start - 1]:  # a piece of an overlong line
            return self.count(text)
        return self.cost(start, end)


def _clusters(nodes: tuple[DefinitionNode, ...], low: int, high: int):
    """Definitions grouped so that groups never share a line: (first line, last line, members)."""
    groups: list[tuple[int, int, list[DefinitionNode]]] = []
    for node in nodes:
        start = max(node.definition.start_line, low)
        end = min(node.definition.end_line, high)
        if start > end:
            continue
        if groups and start <= groups[-1][1]:
            first, last, members = groups[-1]
            groups[-1] = (first, max(last, end), members + [node])
        else:
            groups.append((start, end, [node]))
    return groups
