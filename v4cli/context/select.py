"""The budget-fitting stage: which prepared files go in whole when not everything fits.

This is deliberately a separate, replaceable step (question-aware ranking and outlines replace it later).
The rule today, documented in the README:
  1. if everything fits, everything goes in;
  2. otherwise files are admitted smallest first (ties broken by path), files flagged as generated after
     all others, while they fit; the rest are omitted as "over-budget".
Smallest-first keeps the most files for a given budget; the packed order is always path order, whatever
the admission order was, so the output stays stable.
"""

from __future__ import annotations

from collections.abc import Sequence


def select_within(costs: Sequence[int], paths: Sequence[str], generated: Sequence[bool], available: int) -> set[int]:
    """Indices of the files admitted whole; `costs` include each file's wrapper."""
    if sum(costs) <= available:
        return set(range(len(costs)))
    order = sorted(range(len(costs)), key=lambda i: (generated[i], costs[i], paths[i]))
    admitted: set[int] = set()
    used = 0
    for i in order:
        if used + costs[i] > available:
            continue  # a smaller generated file may still fit
        admitted.add(i)
        used += costs[i]
    return admitted
