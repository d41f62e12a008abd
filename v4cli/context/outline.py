"""Outlines: a compact skeleton of a source file for when its full text does not fit.

The outline stays in the file's own language: signatures verbatim from the source (with their line numbers), the
first line of each docstring, the member lines of classes/structs/enums (fields, enum values), and bodies replaced
by a marker that says which lines were left out. Function bodies are always elided, nested definitions included.

The compact outline (`compact=True`) is for budgets where even outlines are too big to show many files: each
top-level definition's header line verbatim with its line number, and under a class one comment listing its
methods by name and line; no docstrings, fields or markers. About a quarter of the outline (median 7% of a
Python file of 1k+ tokens, against 28% for the outline), still in the file's language and citable by line.
"""

from __future__ import annotations

from v4cli.context.syntax import DefinitionNode, FileSymbols, definition_tree

_HASH_COMMENT = frozenset({"python", "ruby", "bash"})
_END_KEYWORD = frozenset({"ruby", "lua"})
_NO_BRACES = frozenset({"python", "ruby", "lua"})
_CONTAINERS = frozenset({"class", "interface", "enum", "impl", "module", "type"})
_MAX_MEMBERS = 24  # member lines shown per class before the rest is summarized
_PLAIN_HEAD = 10  # lines shown of a file without definitions
_MAX_ONE_LINER = 160  # characters of a one-line definition shown
_COMPACT_WIDTH = 100  # characters of a header line in a compact outline


def outline(text: str, symbols: FileSymbols, *, path: str | None = None, compact: bool = False) -> str | None:
    """The skeleton of `text`; files without definitions show their first lines and the count of the rest.
    Compact: header lines only; None for a file without definitions (its plain outline, the head, is small)."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    writer = _Writer(symbols.language, len(lines))
    if compact:
        return _compact(writer, lines, symbols, path)
    if path is not None:
        writer.note("", f"{path} ({symbols.language}, {len(lines)} lines; outline, bodies elided)")
    tree = definition_tree(symbols.definitions) if symbols.parsed else ()
    if not tree:
        for number in range(1, min(len(lines), _PLAIN_HEAD) + 1):
            writer.line(number, lines[number - 1])
        if len(lines) > _PLAIN_HEAD:
            writer.note("", f"… lines {_PLAIN_HEAD + 1}-{len(lines)}")
        return writer.text()
    _file_doc(writer, lines, tree[0].definition.start_line)
    for node in tree:
        _render(writer, lines, node)
    return writer.text()


def _compact(writer: _Writer, lines: list[str], symbols: FileSymbols, path: str | None) -> str | None:
    tree = definition_tree(symbols.definitions) if symbols.parsed else ()
    if not tree:
        return None
    if path is not None:
        writer.note("", f"{path} ({symbols.language}, {len(lines)} lines; compact outline: definition lines only)")

    def walk(nodes) -> None:
        for node in nodes:
            number = _header_line(lines, node.definition)
            source = lines[number - 1].rstrip()
            writer.line(number, source if len(source) <= _COMPACT_WIDTH else source[:_COMPACT_WIDTH] + " …")
            if node.definition.kind not in _CONTAINERS or node.definition.end_line == number:
                continue  # what a function nests is its body; a one-line container was shown whole
            leaves = [child for child in node.children if child.definition.kind not in _CONTAINERS]
            if leaves:  # members by name and line: a class of forty methods costs a line, not forty
                listed = ", ".join(f"{child.definition.name} {_header_line(lines, child.definition)}"
                                   for child in leaves)
                writer.note(_indent(source) + "    ", listed)
            walk([child for child in node.children if child.definition.kind in _CONTAINERS])

    walk(tree)
    return writer.text()


def _header_line(lines: list[str], definition) -> int:
    """The line that names the definition (past its decorators or attributes), else its first line."""
    for offset, content in enumerate(definition.signature.split("\n")):
        if definition.name in content and not content.lstrip().startswith(("@", "#[", "[")):
            return definition.start_line + offset
    return definition.start_line


class _Writer:
    def __init__(self, language: str, count: int) -> None:
        self.language = language
        self.comment = "#" if language in _HASH_COMMENT else "--" if language == "lua" else "//"
        self.width = len(str(max(count, 1)))
        self.out: list[str] = []

    def line(self, number: int, content: str) -> None:
        self.out.append(f"{number:>{self.width}}│ {content.rstrip()}")

    def synthetic(self, content: str) -> None:
        self.out.append(f"{'':>{self.width}}│ {content.rstrip()}")

    def note(self, indent: str, content: str) -> None:
        self.synthetic(f"{indent}{self.comment} {content}")

    def text(self) -> str:
        return "\n".join(self.out) + "\n"


def _file_doc(writer: _Writer, lines: list[str], first_definition: int) -> None:
    """The first line of a leading module docstring or header comment."""
    for number in range(1, first_definition):
        stripped = lines[number - 1].strip()
        if not stripped or stripped.startswith("#!"):
            continue
        if not stripped.startswith(('"""', "'''", writer.comment, "/*", "*")):
            return  # code comes first: no header
        if any(character.isalnum() for character in stripped):
            writer.line(number, lines[number - 1])
            return


def _render(writer: _Writer, lines: list[str], node: DefinitionNode) -> None:
    definition = node.definition
    indent = _indent(lines[definition.start_line - 1])
    signature = definition.signature.split("\n")
    last = definition.start_line + len(signature) - 1
    python_doc = writer.language == "python" and definition.kind not in ("constant", "variable")
    if definition.doc and not python_doc:
        writer.note(indent, definition.doc)
    if definition.end_line <= last:  # the body ends on the header's last line: the source is its own outline
        for number in range(definition.start_line, definition.end_line + 1):
            source = lines[number - 1].rstrip()
            writer.line(number, source if len(source) <= _MAX_ONE_LINER else
                        source[:_MAX_ONE_LINER] + f" …  {writer.comment} line {number}")
        return
    members = _members(lines, node, last) if definition.kind in _CONTAINERS else []
    children = node.children if definition.kind in _CONTAINERS else ()
    container = bool(members or children)
    doc_below = python_doc and bool(definition.doc)
    for offset, content in enumerate(signature):
        text = indent + content if offset == 0 else content
        if offset == len(signature) - 1 and container:
            text += _opener(writer.language, content)
        elif offset == len(signature) - 1 and not doc_below:
            text += _elision(writer, definition, content)
        writer.line(definition.start_line + offset, text)
    if doc_below:
        writer.synthetic(f'{indent}    """{definition.doc}"""')
        if not container:
            writer.synthetic(f"{indent}   {_elision(writer, definition, signature[-1])}")
    if not container:
        return
    pending = list(members)
    for child in children:
        while pending and pending[0][0] < child.definition.start_line:
            _member(writer, members, pending.pop(0))
        _render(writer, lines, child)
    for member in pending:
        _member(writer, members, member)
    _closer(writer, lines, definition.end_line, indent)


def _member(writer: _Writer, members: list[tuple[int, str]], member: tuple[int, str]) -> None:
    if len(members) > _MAX_MEMBERS and member is members[-1]:
        writer.synthetic(member[1])  # the "… N more" summary
    else:
        writer.line(*member)


def _members(lines: list[str], node: DefinitionNode, last: int) -> list[tuple[int, str]]:
    """Lines at the first indentation level of a class body that no nested definition covers (fields, enum
    values), at most _MAX_MEMBERS of them."""
    covered = set()
    for child in node.children:
        covered.update(range(child.definition.start_line, child.definition.end_line + 1))
    end = node.definition.end_line
    candidates = []
    in_string = False  # inside a Python docstring
    for n in range(last + 1, end + (0 if end > last else 1)):
        quotes = lines[n - 1].count('"""') + lines[n - 1].count("'''")
        if not (in_string or quotes or n in covered or not lines[n - 1].strip() or _is_comment(lines[n - 1])):
            candidates.append(n)
        in_string ^= quotes % 2 == 1
    if not candidates:
        return []
    level = len(_indent(lines[node.children[0].definition.start_line - 1])) if node.children else \
        min(len(_indent(lines[n - 1])) for n in candidates)
    found = [(n, lines[n - 1]) for n in candidates if len(_indent(lines[n - 1])) == level]
    found = [(n, text) for n, text in found if text.strip() not in ("}", "};", "end", "{")]
    if len(found) > _MAX_MEMBERS:  # the summary sorts after the last member shown, before what follows
        summary = (found[_MAX_MEMBERS - 1][0], f"{_indent(found[0][1])}… {len(found) - _MAX_MEMBERS} more")
        found = found[:_MAX_MEMBERS] + [summary]
    return found


def _opener(language: str, last_signature_line: str) -> str:
    stripped = last_signature_line.rstrip()
    if language in _NO_BRACES or stripped.endswith(("{", ":")):
        return ""
    return " {"


def _closer(writer: _Writer, lines: list[str], end_line: int, indent: str) -> None:
    if writer.language == "python":
        return
    closing = lines[end_line - 1].strip()
    if closing in ("}", "};", "end", "})", "});"):
        writer.line(end_line, lines[end_line - 1])
    elif writer.language in _END_KEYWORD:
        writer.synthetic(f"{indent}end")
    else:
        writer.synthetic(f"{indent}}}")


def _elision(writer: _Writer, definition, last_signature_line: str) -> str:
    """The marker that replaces a body: `...`, `{ … }`, `… }` or `… end`, with the lines it stands for."""
    stripped = last_signature_line.rstrip()
    if writer.language == "python":
        body = " ..."
    elif stripped.endswith("{"):
        body = " … }"
    elif stripped.endswith(("=", "=>", "->", ",", "(")) or definition.kind in ("constant", "variable", "type"):
        body = " …"
    elif writer.language in _END_KEYWORD:
        body = " … end"
    else:
        body = " { … }"
    return f"{body}  {writer.comment} lines {definition.start_line}-{definition.end_line}"


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _is_comment(line: str) -> bool:
    return line.lstrip().startswith(("#", "//", "/*", "*", "--", '"""', "'''"))
