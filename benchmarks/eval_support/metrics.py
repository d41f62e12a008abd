"""File-level recall of a selection against a gold set, per instance and averaged, at two levels of view.

A selector shows each file at some status. "full" counts only files shown whole; "shown" (reported as
"full or outline") also counts outlines and truncated heads: the model sees the file's structure or its
beginning, and can ask for the rest. Paths listed without content count as not shown. A gold file the
selector never saw as a candidate (skipped as binary or too large, say) is simply a miss.

For each level, as the issue (and SWE-bench's retrieval evaluation) defines them:
    recall    |gold ∩ shown| / |gold|, averaged over instances
    all-gold  fraction of instances whose gold files are all shown
    any-gold  fraction of instances with at least one gold file shown
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

LEVELS = ("full", "shown")
_SHOWN = {"full", "outline", "truncated"}
_NOT_SHOWN = {"omitted", "path"}


def shown_at(level: str, status: str) -> bool:
    """Whether a file with this status counts as included at this level; unknown statuses are an error."""
    if status not in _SHOWN and status not in _NOT_SHOWN:
        raise ValueError(f"unknown file status {status!r}")
    if level == "full":
        return status == "full"
    if level == "shown":
        return status in _SHOWN
    raise ValueError(f"unknown level {level!r}")


def count_statuses(statuses: Mapping[str, str]) -> dict[str, int]:
    """Files per status, to show how much of the repository a selection covers."""
    counts: dict[str, int] = {}
    for status in statuses.values():
        counts[status] = counts.get(status, 0) + 1
    return dict(sorted(counts.items()))


@dataclass(frozen=True)
class Hit:
    """One instance scored at one level."""

    recall: float
    all_gold: bool
    any_gold: bool


def score(gold: Iterable[str], statuses: Mapping[str, str], level: str) -> Hit:
    """Score one selection; `statuses` maps path -> status, and paths absent from it were not shown."""
    gold = set(gold)
    if not gold:
        raise ValueError("an instance needs at least one gold file")
    found = sum(1 for path in gold if path in statuses and shown_at(level, statuses[path]))
    return Hit(found / len(gold), found == len(gold), found > 0)


@dataclass(frozen=True)
class Summary:
    n: int
    recall: float  # mean over instances, 0..1
    all_gold: float  # fraction of instances
    any_gold: float


def summarize(hits: Sequence[Hit]) -> Summary | None:
    """Averages over instances; None when there are none (a table prints "-", never a made-up zero)."""
    if not hits:
        return None
    n = len(hits)
    return Summary(
        n=n,
        recall=sum(h.recall for h in hits) / n,
        all_gold=sum(h.all_gold for h in hits) / n,
        any_gold=sum(h.any_gold for h in hits) / n,
    )
