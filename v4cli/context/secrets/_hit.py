"""What every rule reports: a span of the text to redact, its kind, and where its line is counted from."""

from __future__ import annotations

from dataclasses import dataclass

MARKER_PREFIX = "[REDACTED:"  # every marker starts so: "[REDACTED:<kind>]"


@dataclass(frozen=True, slots=True)
class Hit:
    start: int
    end: int
    kind: str
    rank: int  # 0: known shape, 1: context rule, 2: name/value heuristic; lower wins an overlap
    anchor: int  # where the reported line is counted from
