"""Cut streaming Markdown into finished blocks, so that each block is rendered once, when it is complete.

A block ends at a blank line (paragraphs, lists, tables, quotes), at the end of a heading line or a
thematic break, or at the closing line of a code fence; a fence is one block until it closes, blank lines
included. After a blank line, an indented line continues a list or an indented code block, so the block
is only given out when the next line shows that it is over. Whatever has not ended is the tail.
"""

from __future__ import annotations

import re

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})(.*)$")
_HEADING = re.compile(r"^ {0,3}#{1,6}(\s|$)")
_BREAK = re.compile(r"^ {0,3}([-*_])( *\1){2,} *$")
_LIST_ITEM = re.compile(r"^ {0,3}([-+*]|\d{1,9}[.)])(\s|$)")


class MarkdownBlocks:
    """Feed text as it arrives; get back the blocks it completed."""

    def __init__(self) -> None:
        self._partial = ""  # the current line, not yet ended by a newline
        self._lines: list[str] = []  # lines of the block being built
        self._fence: str | None = None  # the opening fence while inside a code block
        self._blank_pending = False  # a blank line ended the block unless the next line continues it

    def feed(self, text: str) -> list[str]:
        done: list[str] = []
        self._partial += text
        *lines, self._partial = self._partial.split("\n")
        for line in lines:
            self._line(line + "\n", done)
        return done

    @property
    def tail(self) -> str:
        """The text of the block not yet complete, including the current unfinished line."""
        return "".join(self._lines) + self._partial

    def finish(self) -> str:
        """Everything not yet given out (the stream is over); the splitter is empty afterwards."""
        rest = self.tail
        self._lines, self._partial, self._fence, self._blank_pending = [], "", None, False
        return rest

    def _line(self, line: str, done: list[str]) -> None:
        if self._fence is not None:
            self._lines.append(line)
            closing = _FENCE.match(line.rstrip("\n"))
            if closing and closing.group(1)[0] == self._fence[0] and len(closing.group(1)) >= len(self._fence) \
                    and not closing.group(2).strip():
                self._fence = None
                self._emit(done)
            return
        if not line.strip():
            if self._lines:
                self._blank_pending = True
                self._lines.append(line)
            return
        if self._blank_pending:
            self._blank_pending = False
            if not (line[:1] in (" ", "\t") and self._continues_after_blank()):
                self._drop_trailing_blanks()
                self._emit(done)
        stripped = line.rstrip("\n")
        fence = _FENCE.match(stripped)
        if fence and not (fence.group(1)[0] == "`" and "`" in fence.group(2)):
            self._emit(done)
            self._fence = fence.group(1)
            self._lines.append(line)
        elif _HEADING.match(stripped):
            self._emit(done)
            self._lines.append(line)
            self._emit(done)
        elif _BREAK.match(stripped):
            if self._lines and set(stripped.strip()) == {"-"} and not self._is_list():
                self._lines.append(line)  # `---` under a paragraph is a setext heading: the block is complete
            else:
                self._emit(done)
                self._lines.append(line)
            self._emit(done)
        else:
            self._lines.append(line)

    def _continues_after_blank(self) -> bool:
        first = self._lines[0] if self._lines else ""
        return bool(_LIST_ITEM.match(first)) or first.startswith(("    ", "\t"))

    def _is_list(self) -> bool:
        return bool(self._lines) and bool(_LIST_ITEM.match(self._lines[0]))

    def _drop_trailing_blanks(self) -> None:
        while self._lines and not self._lines[-1].strip():
            self._lines.pop()

    def _emit(self, done: list[str]) -> None:
        if self._lines:
            done.append("".join(self._lines))
        self._lines = []
