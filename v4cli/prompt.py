"""The messages sent for a question: stable instructions and context first, the question last.

Layout: [system, user(context), assistant(acknowledgement), (earlier turns...), user(question)].
When the repository fits, everything before the final question depends only on the repository and the
options, so DeepSeek's prefix cache (which persists a unit at the end of each user input) and the local
backend's saved KV state both cover the whole context when a second question comes. When it does not fit,
the files chosen for the question come after those chosen without it, so the cache still covers the latter.
"""

from __future__ import annotations

from collections.abc import Sequence

from v4cli.backends.base import Message

SYSTEM = """You are v4, a senior engineer answering questions about the code and documents in the context.
The context lists files as <file path="..."> blocks (or headed sections); <outline> blocks show only a file's \
signatures with their line numbers, bodies elided (compact ones list each definition on one line); a coverage report at its end says which files were left out, \
truncated or redacted, so you know what you have not seen.
Answer from the context. Cite the places you rely on as `path:line` (or `path` when the line is unclear). \
Say plainly when the context does not contain what is needed, and what would. Be precise and concise."""

ACKNOWLEDGEMENT = "I have read the context and will answer from it, citing path:line."


def build_messages(
    context: str,
    question: str,
    *,
    system: str | None = None,
    history: Sequence[tuple[str, str]] = (),
    prefix_chars: int | None = None,
) -> tuple[Message, ...]:
    """history: earlier (question, answer) pairs of the same conversation, oldest first.

    prefix_chars: when the context was ranked for this question, the length of its question-independent
    prefix. Only that prefix goes before the acknowledgement; the files chosen for the question travel with
    the question, so the saved KV state of a local model (taken at the acknowledgement) serves every question.
    """
    shared, for_question = (context[:prefix_chars], context[prefix_chars:]) if prefix_chars else (context, "")
    messages = [
        Message("system", system or SYSTEM),
        Message("user", shared),
        Message("assistant", ACKNOWLEDGEMENT),
    ]
    for asked, answered in history:
        messages += [Message("user", asked), Message("assistant", answered)]
    messages.append(Message("user", f"{for_question}\n{question}" if for_question else question))
    return tuple(messages)
