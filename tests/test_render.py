"""The answer renderer: Markdown blocks on a real pseudo-terminal (read back through a terminal emulator), raw
text on pipes and with NO_COLOR, reasoning kept off stdout when it is not a terminal, partial answers kept."""

from __future__ import annotations

import fcntl
import io
import json
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time

import pyte
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import ROOT
from v4cli.backends.base import Finish, Notice, ReasoningDelta, TextDelta, Usage
from v4cli.render.blocks import MarkdownBlocks
from v4cli.render.stream import AnswerRenderer

COLUMNS, ROWS = 80, 24
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")

ANSWER = """# Overview

The function `parse` in **src/app.py:12** reads alpha bravo charlie.
It then calls delta echo.

- first foxtrot
- second golf with `hotel`

1. india
2. juliet

```python
def kilo():
    return "lima"

print(kilo())  # mike
```

| name | value |
|------|-------|
| november | oscar |

Final papa quebec.
"""

# Runs in a child process whose stdout/stderr are a pty or pipes: feeds events from a JSON script to the renderer.
DRIVER = """
import json, sys
from v4cli.backends.base import Finish, Notice, ReasoningDelta, TextDelta
from v4cli.render.stream import AnswerRenderer
script = json.loads(sys.argv[1])
r = AnswerRenderer(show_reasoning=script.get("show_reasoning", True))
kinds = {"reasoning": ReasoningDelta, "text": TextDelta, "notice": Notice}
for kind, value in script["events"]:
    r.feed(Finish(value) if kind == "finish" else kinds[kind](value))
r.close(**script.get("close", {}))
sys.stdout.flush()
"""


def chunks(text: str, size: int = 7) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def script(answer: str = ANSWER, reasoning: str = "", **kw) -> dict:
    events = [["reasoning", c] for c in chunks(reasoning)] + [["text", c] for c in chunks(answer)]
    return {"events": events + kw.pop("extra", []), **kw}


def run_in_pty(spec: dict, env: dict | None = None) -> tuple[str, bytes]:
    """Run the driver with stdout and stderr on a pseudo-terminal; return the terminal's final text (scrollback
    included, as a terminal emulator shows it) and the raw bytes written."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), "TERM": "xterm-256color", **(env or {})}
    for name in ("NO_COLOR", "COLUMNS", "LINES", "FORCE_COLOR", "TERM_PROGRAM"):
        if name not in (env or {}):
            full_env.pop(name, None)
    proc = subprocess.Popen([sys.executable, "-c", DRIVER, json.dumps(spec)], stdin=slave, stdout=slave, stderr=slave,
                            env=full_env, close_fds=True)
    os.close(slave)
    raw = b""
    deadline = time.monotonic() + 120  # only a guard against a hung child, not a measurement
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 1)
        if not ready:
            if proc.poll() is not None:
                break
            continue
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        raw += data
    os.close(master)
    assert proc.wait(timeout=60) == 0, raw.decode(errors="replace")[-2000:]
    screen = pyte.HistoryScreen(COLUMNS, ROWS, history=100_000)
    screen.set_mode(pyte.modes.LNM)  # the pty turns "\n" into "\r\n"; pyte needs to be told
    pyte.ByteStream(screen).feed(raw)
    history = ["".join(line[x].data for x in range(COLUMNS)).rstrip() for line in screen.history.top]
    text = "\n".join(history + [line.rstrip() for line in screen.display])
    return text.rstrip("\n"), raw


def run_in_pipes(spec: dict, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-c", DRIVER, json.dumps(spec)], capture_output=True, env=full_env,
                          timeout=120, check=True)


def words(text: str) -> list[str]:
    return re.findall(r"[a-z]{4,}", text)


# Block splitting ---------------------------------------------------------------------------------------


def test_blocks_end_at_blank_lines_headings_and_closed_fences():
    blocks = MarkdownBlocks()
    done = blocks.feed(ANSWER)
    assert done[0] == "# Overview\n"
    assert done[1].startswith("The function") and done[1].endswith("delta echo.\n")
    assert done[2] == "- first foxtrot\n- second golf with `hotel`\n"
    assert done[4] == '```python\ndef kilo():\n    return "lima"\n\nprint(kilo())  # mike\n```\n'
    assert done[5].startswith("| name |")
    assert blocks.tail == "Final papa quebec.\n"  # not ended yet: more text could join the paragraph
    assert blocks.finish() == "Final papa quebec.\n" and blocks.tail == ""


def test_an_open_fence_holds_blank_lines_and_headings_until_it_closes():
    blocks = MarkdownBlocks()
    assert blocks.feed("Intro.\n\n```md\n# not a heading\n\n---\n") == ["Intro.\n"]
    assert blocks.tail == "```md\n# not a heading\n\n---\n"
    assert blocks.feed("``` not a close\n~~~\n``\n") == []  # a close: same character, as long, no info string
    assert blocks.feed("````\nafter\n") == ["```md\n# not a heading\n\n---\n``` not a close\n~~~\n``\n````\n"]
    assert blocks.tail == "after\n"


def test_indented_continuations_keep_a_list_together_and_setext_headings_stay_whole():
    blocks = MarkdownBlocks()
    assert blocks.feed("- item one\n\n  more about one\n- item two\n\nNext paragraph\n") == [
        "- item one\n\n  more about one\n- item two\n"
    ]
    assert blocks.feed("Title\n-----\n***\n") == ["Next paragraph\nTitle\n-----\n", "***\n"]


@given(st.lists(st.integers(1, 40), min_size=1, max_size=60))
def test_chunking_never_changes_the_blocks(sizes):
    reference = MarkdownBlocks()
    expected = reference.feed(ANSWER) + [reference.finish()]
    blocks, got, at = MarkdownBlocks(), [], 0
    for size in sizes * (len(ANSWER) // sum(sizes) + 1):
        got += blocks.feed(ANSWER[at : at + size])
        at += size
    assert got + [blocks.finish()] == expected
    assert [line for block in expected for line in block.splitlines() if line.strip()] == [
        line for line in ANSWER.splitlines() if line.strip()
    ]


# Plain output (pipes, files, NO_COLOR) -------------------------------------------------------------------


def test_plain_output_is_the_raw_answer_and_nothing_else():
    proc = run_in_pipes(script(reasoning="secret chain of thought", extra=[["notice", "retrying (503)"]]))
    assert proc.stdout.decode() == ANSWER
    assert b"\x1b" not in proc.stdout + proc.stderr
    assert b"chain of thought" not in proc.stdout + proc.stderr  # stderr is not a terminal either: reasoning dropped
    assert proc.stderr.decode() == "retrying (503)\n"


def test_plain_output_is_written_as_it_arrives():
    out = io.StringIO()
    renderer = AnswerRenderer(stream=out, err=io.StringIO(), markdown=False)
    for piece in ("Hello", ", wor", "ld"):
        renderer.feed(TextDelta(piece))
        assert out.getvalue().endswith(piece)  # nothing held back waiting for a block to end
    renderer.close()
    assert out.getvalue() == "Hello, world\n" and renderer.answer == "Hello, world"


def test_no_color_on_a_terminal_gives_raw_text_without_ansi():
    text, raw = run_in_pty(script(reasoning="thinking it over"), env={"NO_COLOR": "1"})
    assert b"\x1b" not in raw
    assert "```python" in text and "# Overview" in text  # the Markdown source, untouched
    assert "thinking it over" in text  # stderr is the terminal: reasoning shown there


def test_reasoning_goes_to_a_terminal_stderr_when_stdout_is_a_pipe():
    master, slave = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("NO_COLOR", None)
    spec = script("the answer\n", reasoning="first I read main.py")
    proc = subprocess.run([sys.executable, "-c", DRIVER, json.dumps(spec)], stdout=subprocess.PIPE, stderr=slave,
                          env=env, timeout=120, check=True)
    os.close(slave)
    err = b""
    while select.select([master], [], [], 0.5)[0]:
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        err += data
    os.close(master)
    assert proc.stdout == b"the answer\n"
    assert "first I read main.py" in ANSI.sub("", err.decode())


# Markdown on a terminal ----------------------------------------------------------------------------------


def test_terminal_renders_markdown_with_every_word_once_in_order():
    text, raw = run_in_pty(script(reasoning="Consider the parser first."))
    assert b"\x1b[" in raw  # styled
    assert "```" not in text and "**" not in text and "# Overview" not in text  # rendered, not raw
    assert 'return "lima"' in text and "print(kilo())  # mike" in text  # code kept verbatim, indentation included
    shown = words(ANSWER.replace("```python", "```"))  # the fence's language is not displayed
    assert words(text.replace("Consider the parser first.", "")) == shown  # each word once, in order
    assert text.index("Consider the parser first.") < text.index("Overview")  # reasoning before the answer


def test_a_long_answer_stays_whole_in_scrollback():
    paragraphs = [f"Paragraph number{i:03d} says word{i:03d}x and more words here." for i in range(120)]
    answer = "\n\n".join(paragraphs) + "\n\n```\n" + "\n".join(f"codeline{i:03d}" for i in range(60)) + "\n```\n"
    text, _ = run_in_pty(script(answer))
    for i in range(120):
        assert text.count(f"word{i:03d}x") == 1, i
    for i in range(60):
        assert text.count(f"codeline{i:03d}") == 1, i
    assert text.index("word119x") < text.index("codeline000")


def test_hidden_reasoning_is_not_shown_but_kept():
    text, _ = run_in_pty(script("Short answer.\n", reasoning="a long private deliberation", show_reasoning=False))
    assert "deliberation" not in text and "thinking…" not in text  # the transient counter is gone
    assert text.strip() == "Short answer."
    out = io.StringIO()
    renderer = AnswerRenderer(stream=out, err=io.StringIO(), markdown=False, show_reasoning=False)
    renderer.feed(ReasoningDelta("kept"))
    assert renderer.reasoning == "kept"


def test_interrupt_keeps_and_shows_the_partial_answer_including_an_open_fence():
    partial = "Intro words.\n\n```python\ndef unfinished():\n    return partial_value"
    text, _ = run_in_pty(script(partial, close={"interrupted": True}))
    assert "Intro words." in text and "def unfinished():" in text and "return partial_value" in text
    assert text.rstrip().endswith("[interrupted]")
    cut, _ = run_in_pty(script("Half a sent", close={"cut": True}))
    assert "Half a sent" in cut and cut.rstrip().endswith("[stream cut]")


def test_blocks_are_rendered_once_each_not_per_token(monkeypatch):
    import rich.markdown

    rendered: list[str] = []

    class CountingMarkdown(rich.markdown.Markdown):
        def __init__(self, markup: str, *args, **kwargs) -> None:
            rendered.append(markup)
            super().__init__(markup, *args, **kwargs)

    monkeypatch.setattr(rich.markdown, "Markdown", CountingMarkdown)
    out = io.StringIO()
    renderer = AnswerRenderer(stream=out, err=io.StringIO(), markdown=True)
    for piece in chunks(ANSWER, 3):
        renderer.feed(TextDelta(piece))
    renderer.close()
    reference = MarkdownBlocks()
    assert rendered == reference.feed(ANSWER) + [reference.finish()]
    assert renderer.answer == ANSWER


def test_usage_finish_and_notices_are_kept_apart_from_the_answer():
    out, err = io.StringIO(), io.StringIO()
    renderer = AnswerRenderer(stream=out, err=err, markdown=False)
    for event in (TextDelta("partial answer"), Notice("retrying in 2s"), TextDelta(" continues"),
                  Usage(input_tokens=5, output_tokens=2), Finish("length", model="deepseek-flash")):
        renderer.feed(event)
    renderer.close()
    assert out.getvalue() == "partial answer continues\n"
    assert err.getvalue() == "retrying in 2s\n[the answer reached the output limit; raise --max-output]\n"
    assert renderer.usage == Usage(input_tokens=5, output_tokens=2) and renderer.finish.model == "deepseek-flash"


@pytest.mark.parametrize("markdown", [False, True])
def test_close_twice_is_harmless(markdown):
    out, err = io.StringIO(), io.StringIO()
    renderer = AnswerRenderer(stream=out, err=err, markdown=markdown)
    renderer.feed(TextDelta("done"))
    renderer.close(interrupted=True)
    renderer.close(interrupted=True)
    assert err.getvalue() == "[interrupted]\n" and "done" in out.getvalue()


# The whole path the lead's `v4 ask` takes: real backend events -> renderer -> cost -> log ----------------------


def test_events_from_a_real_stream_are_rendered_priced_and_logged(tmp_path):
    from dataclasses import asdict

    from tests.backends.fake_server import Answer, FakeDeepSeek, disconnect
    from v4cli.backends.base import Message, Request, StreamCut
    from v4cli.backends.deepseek import OpenAICompatibleBackend
    from v4cli.config import DEFAULT_MODELS
    from v4cli.cost import cost_usd, usage_line
    from v4cli.logs import ExchangeLog

    model = DEFAULT_MODELS["deepseek-flash"]
    answer = Answer(text="The entry point is `main()`.\n\n```python\ndef main():\n    run()\n```\n")
    request = Request((Message("system", "Cite path:line."), Message("user", "where is main?")), model.name)
    log = ExchangeLog(tmp_path / "log.sqlite")
    with FakeDeepSeek(api_key="sk-fake-0123456789", answer=answer) as server:
        backend = OpenAICompatibleBackend(server.base_url, "sk-fake-0123456789", backoff_base=0.01)
        out, err = io.StringIO(), io.StringIO()
        renderer = AnswerRenderer(stream=out, err=err, markdown=False)
        for event in backend.stream(request):
            renderer.feed(event)
        renderer.close()
        assert out.getvalue() == answer.text and renderer.reasoning == answer.reasoning
        cost = cost_usd(renderer.usage, model)
        assert renderer.usage.cache_hit_tokens == answer.cache_hit_tokens and cost > 0
        assert usage_line(renderer.usage, model, cost).startswith(f"in {answer.prompt_tokens:,} (hit 1,024 / miss 176)")
        first = log.record(conversation_id=None, question="where is main?", answer=renderer.answer,
                           reasoning=renderer.reasoning, model=model.name, backend=backend.name, manifest_hash="h",
                           paths=[], usage=asdict(renderer.usage), cost=cost, status="ok",
                           messages=list(request.messages))

        reasoning_deltas = len(chunks(answer.reasoning, answer.chunk_chars))
        server.inject(disconnect(after=reasoning_deltas + 3))  # the second answer breaks three deltas into the text
        cut = AnswerRenderer(stream=io.StringIO(), err=io.StringIO(), markdown=True)
        with pytest.raises(StreamCut):
            for event in backend.stream(request):
                cut.feed(event)
        cut.close(cut=True)
    assert cut.reasoning == answer.reasoning and cut.answer == answer.text[: 3 * answer.chunk_chars]
    assert "The entry" in cut.stream.getvalue() and cut.err.getvalue().endswith("[stream cut]\n")
    second = log.record(conversation_id=first, question="again?", answer=cut.answer, reasoning=cut.reasoning,
                        model=model.name, backend=backend.name, manifest_hash="h", paths=[], usage={}, cost=None,
                        status="cut")
    turns = log.conversation(first)
    assert [(t.id, t.status) for t in turns] == [(first, "ok"), (second, "cut")]
    assert turns[0].usage["cache_hit_tokens"] == 1024 and turns[1].answer == cut.answer
    assert turns[0].messages == [{"role": "system", "content": "Cite path:line."},
                                 {"role": "user", "content": "where is main?"}]
