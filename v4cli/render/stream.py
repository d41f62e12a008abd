"""Show an answer as its events arrive.

On a terminal the answer is Markdown rendered with rich, append-only: each finished block (paragraph,
list, table, heading, closed code fence) is rendered once and printed, so scrollback keeps everything and
a long answer is never cropped; only the unfinished block is shown raw in a small transient region at the
bottom, and rendered when it ends. Reasoning streams dimmed before the answer, or is replaced by a
"thinking" counter when hidden. Anywhere else (a pipe, a file, NO_COLOR) stdout receives the answer's raw
text as it arrives and nothing else; reasoning then goes to stderr only when stderr is a terminal.
"""

from __future__ import annotations

import os
import sys
import time
from typing import TextIO

from v4cli.backends.base import Finish, Notice, ReasoningDelta, TextDelta, Usage
from v4cli.render.blocks import MarkdownBlocks

_TAIL_REFRESH_S = 1 / 12  # the live tail is redrawn at most this often, whatever the token rate
_FINISH_NOTES = {
    "length": "[the answer reached the output limit; raise --max-output]",
    "content_filter": "[the answer was stopped by the provider's content filter]",
}


def color_allowed() -> bool:
    """https://no-color.org: a non-empty NO_COLOR turns colour and styling off."""
    return not os.environ.get("NO_COLOR")


class AnswerRenderer:
    """Consumes backend events; keeps everything received in `answer` and `reasoning`, even when interrupted."""

    def __init__(self, *, stream: TextIO | None = None, err: TextIO | None = None, markdown: bool | None = None,
                 show_reasoning: bool = True) -> None:
        self.stream = stream or sys.stdout
        self.err = err or sys.stderr
        if markdown is None:
            markdown = is_terminal(self.stream) and color_allowed() and os.environ.get("TERM") != "dumb"
        self.markdown = markdown
        self.show_reasoning = show_reasoning
        self.usage: Usage | None = None
        self.finish: Finish | None = None
        self._answer: list[str] = []
        self._reasoning: list[str] = []
        self._closed = False
        # where raw text left a line unfinished: "stream" or "err" (None: at the start of a line)
        self._open_line: str | None = None
        if self.markdown:
            from rich.console import Console

            self._console = Console(file=self.stream, force_terminal=True, highlight=False)
            self._blocks = MarkdownBlocks()
            self._printed_blocks = 0
            self._live = None
            self._last_refresh = 0.0
            self._reasoning_shown = False
        self._err_console = None

    @property
    def answer(self) -> str:
        return "".join(self._answer)

    @property
    def reasoning(self) -> str:
        return "".join(self._reasoning)

    def feed(self, event: object) -> None:
        if isinstance(event, TextDelta):
            self._answer.append(event.text)
            self._text(event.text)
        elif isinstance(event, ReasoningDelta):
            self._reasoning.append(event.text)
            if not self._answer:  # reasoning that trails the answer is kept, not shown
                self._thinking(event.text)
        elif isinstance(event, Notice):
            self.note(event.text)
        elif isinstance(event, Usage):
            self.usage = event
        elif isinstance(event, Finish):
            self.finish = event

    def note(self, text: str) -> None:
        """A line on stderr that does not disturb the answer on stdout."""
        self._stop_tail()
        self._end_line()
        self.err.write(text + "\n")
        self.err.flush()

    def close(self, *, interrupted: bool = False, cut: bool = False) -> None:
        """Show what is still pending (the tail is rendered even if incomplete) and say how the answer ended."""
        if self._closed:
            return
        self._closed = True
        if self.markdown:
            self._stop_tail()
            self._end_line()
            rest = self._blocks.finish()
            if rest.strip():
                self._print_block(rest)
        elif self._answer and not self.answer.endswith("\n"):
            self._write(self.stream, "\n")  # plain text: the answer ends with a newline, whatever the model sent
            self._open_line = None
        self._end_line()
        if interrupted:
            self.note("[interrupted]")
        elif cut:
            self.note("[stream cut]")
        elif self.finish is not None and self.finish.reason in _FINISH_NOTES:
            self.note(_FINISH_NOTES[self.finish.reason])

    # answer --------------------------------------------------------------------------------------------

    def _text(self, text: str) -> None:
        if not self.markdown:
            self._end_line(only="err")
            self._write(self.stream, text)
            self._open_line = "stream" if not text.endswith("\n") else None
            return
        if len(self._answer) == 1:
            self._stop_tail()  # the hidden-reasoning counter, if any
        if self._reasoning_shown:  # one blank line between the dimmed reasoning and the answer
            self._reasoning_shown = False
            self._end_line()
            self._console.line()
        for block in self._blocks.feed(text):
            self._print_block(block)
        self._show_tail(self._blocks.tail)

    def _print_block(self, text: str) -> None:
        """Render one finished block and print it, one blank line apart from the previous block."""
        from rich.markdown import Markdown
        from rich.segment import Segment, Segments

        lines = self._console.render_lines(Markdown(text), pad=False)
        while lines and _blank(lines[0]):
            lines.pop(0)
        while lines and _blank(lines[-1]):
            lines.pop()
        if not lines:
            return
        segments: list[Segment] = [Segment.line()] if self._printed_blocks else []
        for line in lines:
            segments.extend(line)
            segments.append(Segment.line())
        self._console.print(Segments(segments), end="")
        self._printed_blocks += 1

    # reasoning -----------------------------------------------------------------------------------------

    def _thinking(self, text: str) -> None:
        if not self.show_reasoning:
            if self.markdown:
                self._show_tail(f"thinking… {len(self.reasoning):,} characters", raw=False)
            return
        if self.markdown:
            from rich.text import Text

            self._console.print(Text(text, style="dim"), end="", soft_wrap=True)
            self._reasoning_shown = True
            self._open_line = "stream" if not text.endswith("\n") else None
        elif is_terminal(self.err):
            self._end_line(only="stream")
            if not color_allowed():
                self._write(self.err, text)
            else:
                if self._err_console is None:
                    from rich.console import Console

                    self._err_console = Console(file=self.err, force_terminal=True, highlight=False)
                self._err_console.print(text, style="dim", end="", soft_wrap=True, markup=False, emoji=False)
            self._open_line = "err" if not text.endswith("\n") else None

    # the live tail -------------------------------------------------------------------------------------

    def _show_tail(self, text: str, raw: bool = True) -> None:
        """Redraw the bottom region with the unfinished block (its last lines), at a bounded rate."""
        if not text.strip():
            self._stop_tail()
            return
        now = time.monotonic()
        if self._live is not None and now - self._last_refresh < _TAIL_REFRESH_S:
            return
        from rich.text import Text

        if self._live is None:
            from rich.live import Live

            self._live = Live(console=self._console, auto_refresh=False, transient=True, redirect_stdout=False,
                              redirect_stderr=False, vertical_overflow="crop")
            self._live.start()
        keep = max(self._console.height // 2, 3)
        shown = "\n".join(text.rstrip("\n").split("\n")[-keep:])
        self._live.update(Text(shown, style=None if raw else "dim"), refresh=True)
        self._last_refresh = now

    def _stop_tail(self) -> None:
        if self.markdown and self._live is not None:
            self._live.stop()  # transient: the raw tail is erased
            self._live = None

    # plumbing ------------------------------------------------------------------------------------------

    def _end_line(self, only: str | None = None) -> None:
        """Finish a line that streamed raw text left open, so the next output starts at a line start. A plain
        answer going to a pipe or a file is never touched: its bytes are exactly the model's."""
        if self._open_line == "stream" and not self.markdown and not is_terminal(self.stream):
            return
        if self._open_line and only in (None, self._open_line):
            self._write(self.stream if self._open_line == "stream" else self.err, "\n")
            self._open_line = None

    @staticmethod
    def _write(target: TextIO, text: str) -> None:
        target.write(text)
        target.flush()


def is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _blank(line: list) -> bool:
    """A rendered line with no text and no background (code blocks' padding lines have one and are kept)."""
    return all(not seg.text.strip() and not (seg.style and seg.style.bgcolor) for seg in line)
