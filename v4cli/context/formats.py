"""Renderings of a packed context: xml (default), markdown and plain; the coverage footer; the tree.

Everything here is a pure function of its inputs. Totals and the coverage report go at the END: an edit
to one file then changes the bytes from that file on, and everything before it still hits the prefix cache.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

FORMATS = ("xml", "markdown", "plain", "json")
MAX_LISTED_PER_REASON = 100
_BACKTICK_RUNS = re.compile("`{3,}").findall  # a 100k-file monorepo must not spend the budget listing what it left out


@dataclass(frozen=True, slots=True)
class Shown:
    """One file as it appears in the output."""

    path: str
    language: str
    text: str
    tokens: int
    truncated_from: int | None = None  # the full count when only a head is shown
    outline_of: int | None = None  # the full count when only an outline is shown
    compact: bool = False  # the outline is the compact one (definition lines only)


def _xml_attr(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")


def _fence(text: str) -> str:
    longest = max(map(len, _BACKTICK_RUNS(text)), default=0)
    return "`" * max(3, longest + 1)


def body(text: str) -> str:
    """A file's text as rendered: with a final newline."""
    return text if text.endswith("\n") or not text else text + "\n"


def file_open(fmt: str, f: Shown) -> str:
    if f.outline_of is not None:
        note = f"{'compact outline' if f.compact else 'outline'}, {f.tokens} of {f.outline_of}"
    else:
        note = f"{f.tokens} of {f.truncated_from}" if f.truncated_from is not None else f"{f.tokens}"
    if fmt == "xml":
        if f.outline_of is not None:
            compact = ' compact="true"' if f.compact else ""
            return f'<outline path="{_xml_attr(f.path)}" tokens="{f.tokens}" file_tokens="{f.outline_of}"{compact}>\n'
        trunc = f' truncated_from="{f.truncated_from}"' if f.truncated_from is not None else ""
        return f'<file path="{_xml_attr(f.path)}" tokens="{f.tokens}"{trunc}>\n'
    if fmt == "markdown":
        return f"## {f.path} ({note} tokens)\n\n{_fence(f.text)}{_md_lang(f.language)}\n"
    return f"===== {f.path} ({note} tokens) =====\n"


def file_close(fmt: str, f: Shown) -> str:
    if fmt == "xml":
        return "</outline>\n" if f.outline_of is not None else "</file>\n"
    if fmt == "markdown":
        return f"{_fence(f.text)}\n\n"
    return ""


def _md_lang(language: str) -> str:
    return "" if language in ("text", "unknown") else language


def render_file(fmt: str, f: Shown) -> str:
    return file_open(fmt, f) + body(f.text) + file_close(fmt, f)


def head(fmt: str) -> str:
    return {"xml": "<context>\n", "markdown": "# Context\n\n", "plain": ""}[fmt]


def tail(fmt: str, coverage: Sequence[str]) -> str:
    body = "".join(f"{line}\n" for line in coverage)
    if fmt == "xml":
        return "</context>\n" + (f"<coverage>\n{body}</coverage>\n" if coverage else "")
    if fmt == "markdown":
        return f"## Coverage\n\n{''.join(f'- {line}' + chr(10) for line in coverage)}" if coverage else ""
    return f"===== coverage =====\n{body}" if coverage else ""


def render_parts(fmt: str, shown: Sequence[Shown], coverage: Sequence[str]) -> Iterator[str]:
    """The context as a sequence of strings, so that a million-token context is written, never joined."""
    yield head(fmt)
    for f in shown:
        yield file_open(fmt, f)
        yield body(f.text)
        yield file_close(fmt, f)
    yield tail(fmt, coverage)


def coverage_lines(
    included: int,
    candidates: int,
    left_out: Sequence[tuple[str, str, str]],
    redactions: Sequence[tuple[str, int, str]],
    truncated: Sequence[tuple[str, int, int, bool]],
    *,
    compact: bool = False,
    outlined: int = 0,
) -> list[str]:
    """What the reader of the context should know is missing or altered.

    left_out: (reason, path, detail), listed in the order given; redactions: (path, line, kind);
    truncated: (path, shown, total, excerpted: chosen for the question rather than the head);
    outlined: how many of the included files are shown as outlines.
    compact: one line per reason with a count, for budgets too small to list paths.
    """
    lines: list[str] = []
    if not left_out and not redactions and not truncated:
        return lines
    as_outlines = f" ({outlined} as outlines: signatures with line numbers, bodies elided)" if outlined else ""
    lines.append(f"included {included} of {candidates} files{as_outlines}")
    if compact:
        counts: dict[str, int] = {}
        for reason, _, _ in left_out:
            counts[reason] = counts.get(reason, 0) + 1
        lines += [f"{reason}: {n}" for reason, n in sorted(counts.items())]
        if redactions:
            lines.append(f"redacted: {len(redactions)}")
        return lines
    for path, shown, total, excerpted in truncated:
        what = f"excerpts for the question, {shown}" if excerpted else f"first {shown}"
        lines.append(f"truncated: {path} ({what} of {total} tokens)")
    by_reason: dict[str, list[tuple[str, str]]] = {}
    for reason, path, detail in left_out:
        by_reason.setdefault(reason, []).append((path, detail))
    for reason in sorted(by_reason):
        items = by_reason[reason]
        for path, detail in items[:MAX_LISTED_PER_REASON]:
            lines.append(f"{reason}: {path}" + (f" ({detail})" if detail else ""))
        if len(items) > MAX_LISTED_PER_REASON:
            lines.append(f"{reason}: ... and {len(items) - MAX_LISTED_PER_REASON} more")
    for path, line, kind in redactions[: MAX_LISTED_PER_REASON * 2]:
        lines.append(f"redacted: {path}:{line} {kind}")
    if len(redactions) > MAX_LISTED_PER_REASON * 2:
        lines.append(f"redacted: ... and {len(redactions) - MAX_LISTED_PER_REASON * 2} more")
    return lines


def _files(n: int) -> str:
    return f"{n} file" if n == 1 else f"{n} files"


def render_tree(rows: Sequence[tuple[str, int, str]]) -> str:
    """A directory tree with token counts: rows are (path, tokens, note); directories sum what they hold."""
    root: dict = {}
    for path, tokens, note in rows:
        node = root
        parts = path.split("/")
        for part in parts[:-1]:
            node = node.setdefault(part + "/", {})
        node[parts[-1]] = (tokens, note)

    def total(node: dict) -> tuple[int, int]:
        tokens = files = 0
        for child in node.values():
            if isinstance(child, dict):
                t, n = total(child)
                tokens, files = tokens + t, files + n
            else:
                tokens, files = tokens + child[0], files + 1
        return tokens, files

    out: list[str] = []

    def walk(node: dict, prefix: str) -> None:
        names = sorted(node)
        for i, name in enumerate(names):
            last = i == len(names) - 1
            child = node[name]
            branch, extend = ("└── ", "    ") if last else ("├── ", "│   ")
            if isinstance(child, dict):
                t, n = total(child)
                out.append(f"{prefix}{branch}{name} ({t:,} tokens, {_files(n)})")
                walk(child, prefix + extend)
            else:
                t, note = child
                out.append(f"{prefix}{branch}{name} ({t:,} tokens)" + (f" [{note}]" if note else ""))

    t, n = total(root)
    out.append(f". ({t:,} tokens, {_files(n)})")
    walk(root, "")
    return "\n".join(out) + "\n"
