"""Server-sent events: the `data` of each event in a stream of lines.

The few WHATWG rules that chat servers rely on, written out instead of pulling in `httpx-sse`: it would add a
dependency for the same fifteen lines and it hides comment lines, whereas reading the lines ourselves lets the
caller check its deadline on every line, `: keep-alive` comments included.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator


def iter_sse_data(lines: Iterable[str]) -> Iterator[str]:
    """The data of each event; lines come without their line endings (httpx's `iter_lines` strips CR, LF, CRLF).

    Comments (`: keep-alive` while a request is queued) and fields other than `data` are skipped, blank lines
    end an event, several `data:` lines in one event are joined with newlines. An event that the stream ends
    without a blank line after is still delivered: servers that forget the last blank line are common.
    """
    data: list[str] = []
    for line in lines:
        if not line:
            if data:
                yield "\n".join(data)
                data = []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        if name == "data":
            data.append(value[1:] if value.startswith(" ") else value)
    if data:
        yield "\n".join(data)
