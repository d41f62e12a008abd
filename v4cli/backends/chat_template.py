"""Chat prompts for local models: the GGUF's own Jinja template, the shared prefix, and <think> splitting."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from llama_cpp.llama_chat_format import Jinja2ChatFormatter

from v4cli.backends.base import BackendError, Message, Thinking

# Stands in for the last message's content to find where that content starts in the rendered prompt.
_SENTINEL = "\ue000v4-last-message\ue000"
THINK_OPEN, THINK_CLOSE = "<think>", "</think>"


@dataclass(frozen=True)
class RenderedPrompt:
    text: str  # the whole prompt, ending with the generation prompt
    prefix: str  # the part before the last message's content: the same for every question about a context
    opens_reasoning: bool  # the prompt leaves the model inside a <think> block (V4's thinking mode)


class ChatTemplate:
    """Renders messages with the template stored in the GGUF, the way llama-cpp-python does (same Jinja
    environment), plus the variables reasoning templates read: `thinking`/`enable_thinking` (our V4
    converter's template, Qwen3) and `reasoning_effort`."""

    def __init__(self, template: str, *, bos_token: str, eos_token: str) -> None:
        self._formatter = Jinja2ChatFormatter(template, eos_token=eos_token, bos_token=bos_token)

    def render(self, messages: Sequence[Message], thinking: Thinking) -> RenderedPrompt:
        text = self._render(messages, thinking)
        # The prefix is cut from a rendering with a placeholder as the last message, not rendered from
        # messages[:-1]: templates render an assistant turn differently when it is the last one (V4 keeps
        # its <think> block), and the prefix must be exactly the start of the full prompt.
        probe = self._render([*messages[:-1], Message(messages[-1].role, _SENTINEL)], thinking)
        cut = probe.find(_SENTINEL)
        prefix = probe[:cut] if cut > 0 and text.startswith(probe[:cut]) else ""
        return RenderedPrompt(text, prefix, text.rstrip().endswith(THINK_OPEN))

    def _render(self, messages: Sequence[Message], thinking: Thinking) -> str:
        enabled = thinking != "off"
        try:
            return self._formatter(
                messages=[{"role": m.role, "content": m.content} for m in messages],
                thinking=enabled, enable_thinking=enabled, reasoning_effort=thinking,
            ).prompt
        except Exception as e:  # a template error is the GGUF's fault, not a crash of ours
            raise BackendError(f"the model's chat template failed: {e}",
                               hint="use a GGUF with a working tokenizer.chat_template") from e


class ReasoningSplitter:
    """Splits streamed text into reasoning (inside <think>...</think>) and answer.

    The block is either opened by the prompt (`in_reasoning`) or by the model's first output; a tag may
    arrive split across tokens, so a possible partial tag is held back until the next piece decides it."""

    def __init__(self, in_reasoning: bool) -> None:
        self.in_reasoning = in_reasoning
        self._pending = ""
        self._may_open = not in_reasoning  # only before any answer text
        self._strip_answer = False  # drop the blank lines models put after </think>

    def feed(self, text: str) -> list[tuple[bool, str]]:
        """(is_reasoning, text) pieces ready to show."""
        buf, out = self._pending + text, []
        self._pending = ""
        while buf:
            if self.in_reasoning:
                cut = buf.find(THINK_CLOSE)
                if cut < 0:
                    keep = _partial_tag(buf, THINK_CLOSE)
                    out.append((True, buf[: len(buf) - keep]))
                    self._pending = buf[len(buf) - keep :]
                    break
                out.append((True, buf[:cut]))
                buf = buf[cut + len(THINK_CLOSE) :]
                self.in_reasoning, self._strip_answer = False, True
            elif self._may_open:
                head = buf.lstrip()
                if head.startswith(THINK_OPEN):
                    buf, self.in_reasoning, self._may_open = head[len(THINK_OPEN) :], True, False
                elif THINK_OPEN.startswith(head):  # blank, or a tag not yet complete
                    self._pending = buf
                    break
                else:
                    self._may_open = False
            else:
                if self._strip_answer:
                    buf = buf.lstrip()
                    self._strip_answer = not buf
                if buf:
                    out.append((False, buf))
                break
        return [piece for piece in out if piece[1]]

    def flush(self) -> list[tuple[bool, str]]:
        """Whatever was held back, at the end of the stream."""
        text, self._pending = self._pending, ""
        return [(self.in_reasoning, text)] if text else []


def _partial_tag(text: str, tag: str) -> int:
    """Length of the longest end of `text` that is the start of `tag`."""
    for n in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:n]):
            return n
    return 0
