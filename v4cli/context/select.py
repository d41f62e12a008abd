"""The budget-fitting stage: which files go in full, which as outlines, which as paths only.

A pure function over exact costs (each file's tokens in the context in that tier, wrapper included; costs add
up), so `sum(chosen costs) <= available` always holds.

Within one section, files are taken in score order (equal scores: generated files last, then path order), and
the section's budget is spent in five passes:
  0. anchor: the top file gets its full text first if that takes at most the depth share (1 - REACH_SHARE) of
     the budget: the single most relevant file is the one most likely to be needed in detail.
  1. reach: up to REACH_SHARE of the budget goes to each file's cheapest useful view: its outline, or its full
     text when that costs little more than the outline (CHEAP_FULL_RATIO, CHEAP_FULL_SLACK) or there is no
     outline; a file whose view does not fit is skipped, not a stop. Seeing that a file exists and what it
     defines is what lets a reader (and the recall measure) find the relevant files at all, so the top files
     are guaranteed a view before any budget goes to depth.
  2. depth: the rest upgrades files to full text in score order: those with a view, and those above the last
     file reached in pass 1 (a file without an outline that was too big for the reach), skipping any whose
     upgrade does not fit: a huge top-ranked file keeps its outline instead of eating the budget of the next ten.
  3. and 4.: what is still left gives views, then full text, to the files further down, in the same order.
So with equal costs the tiers are monotone in score (full, then outline, then path), and a big budget ends
with everything that fits in full.

Prefix stability: with a question, a first "stable" section gets STABLE_SHARE of the budget (or an explicit
`stable_budget`, which the caller should derive only from question-independent numbers) and is filled by the
question-independent `stable` score; the "question" section gets the rest and is ordered by `total`. A file
placed in full in the stable section is done. A file outlined there may still be wanted in full by the question:
its outline stays in the prefix (which must not depend on the question) and its full text is added as a second
block in the question section, at its full cost (`Placement.stable_outline` is then True). Without a question
there is one section, "stable", ordered by `stable` (= total). If everything fits in full, all is full and
"stable", whatever the question. The prefix's room shrinks when it is small (from STABLE_FULL tokens down to
none at STABLE_MIN): a small budget is better spent on the question, and a small prefix saves little. On the
selection evaluation (benchmarks/eval_select.py), a 25% prefix at 8k cut the recall of shown gold files by a
quarter, while from 32k on it costs nothing measurable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from v4cli.context.rank import Score

STABLE_SHARE = 0.25  # of the available budget, for the question-independent prefix
STABLE_MIN, STABLE_FULL = 2_000, 8_000  # tokens: a prefix room below STABLE_FULL shrinks, to none at STABLE_MIN
REACH_SHARE = 0.5  # of a section's budget, first spent on views (outlines) of the top files
CHEAP_FULL_RATIO = 1.25  # full text is the cheapest useful view when the outline would save at most a fifth
CHEAP_FULL_SLACK = 64  # ... or at most this many tokens more

FULL, OUTLINE, PATH = "full", "outline", "path"
STABLE, QUESTION = "stable", "question"


@dataclass(frozen=True, slots=True)
class Placement:
    tier: str  # "full" | "outline" | "path"
    section: str  # where that block goes: "stable" (question-independent prefix) | "question"
    stable_outline: bool = False  # tier full in the question section, and the outline also in the stable prefix

    @property
    def prefix_tier(self) -> str | None:
        """The block this file has in the question-independent prefix: "full", "outline" or None."""
        if self.stable_outline:
            return OUTLINE
        return self.tier if self.section == STABLE and self.tier != PATH else None


def fill(
    full_costs: Sequence[int],
    outline_costs: Sequence[int | None],
    scores: Sequence[Score],
    paths: Sequence[str],
    available: int,
    *,
    question: bool,
    stable_share: float = STABLE_SHARE,
    stable_budget: int | None = None,
) -> list[Placement]:
    """One placement per file; the chosen blocks cost at most `available` tokens in all."""
    n = len(full_costs)
    if sum(full_costs) <= available:
        return [Placement(FULL, STABLE)] * n
    available = max(available, 0)
    tiers = [PATH] * n
    if not question:
        _Section(full_costs, outline_costs, tiers, [False] * n, available).run(
            _order(scores, paths, lambda s: s.stable), set())
        return [Placement(tier, STABLE) for tier in tiers]

    stable_room = _prefix_room(stable_budget if stable_budget is not None else int(available * stable_share))
    stable_room = min(available, stable_room)
    stable = _Section(full_costs, outline_costs, tiers, [False] * n, stable_room)
    stable.run(_order(scores, paths, lambda s: s.stable), set())
    done = {i for i in range(n) if tiers[i] == FULL}
    question_tiers = [OUTLINE if tiers[i] == OUTLINE else PATH for i in range(n)]
    outlined_in_prefix = [tiers[i] == OUTLINE for i in range(n)]
    _Section(full_costs, outline_costs, question_tiers, outlined_in_prefix, available - stable.used).run(
        _order(scores, paths, lambda s: s.total), done)
    placements = []
    for i in range(n):
        if i in done:
            placements.append(Placement(FULL, STABLE))
        elif outlined_in_prefix[i]:
            upgraded = question_tiers[i] == FULL
            placements.append(Placement(FULL, QUESTION, True) if upgraded else Placement(OUTLINE, STABLE))
        else:
            placements.append(Placement(question_tiers[i], QUESTION))
    return placements


def _prefix_room(room: int) -> int:
    """The prefix's room, reduced when small: a prefix saves little when the budget is small, while every token of
    a small budget is worth spending on the question. Full from STABLE_FULL, scaled down linearly to 0 at
    STABLE_MIN; a function of the room alone, so it stays question-independent."""
    if room >= STABLE_FULL:
        return room
    return int(room * max(0.0, (room - STABLE_MIN) / (STABLE_FULL - STABLE_MIN)))


def _order(scores: Sequence[Score], paths: Sequence[str], key) -> list[int]:
    return sorted(range(len(scores)), key=lambda i: (-key(scores[i]), "generated" in scores[i].cues, paths[i]))


class _Section:
    """The passes over one section; `tiers` is updated in place, `used` counts what this section added.

    `prior_outline[i]` marks a file whose outline is already in the context (from the stable section): it counts
    as reached, and its upgrade to full costs the whole full text (a second block).
    """

    def __init__(self, full_costs, outline_costs, tiers: list[str], prior_outline: list[bool], budget: int):
        self.full_costs, self.outline_costs, self.tiers = full_costs, outline_costs, tiers
        self.prior_outline, self.budget, self.used = prior_outline, budget, 0

    def run(self, order: list[int], excluded: set[int]) -> None:
        order = [i for i in order if i not in excluded]
        reach_room = int(self.budget * REACH_SHARE)
        if order and self._upgrade_cost(order[0]) <= self.budget - reach_room:  # 0. anchor
            self._upgrade(order[0])
        reach_limit = self.used + reach_room
        frontier = 1
        for position, i in enumerate(order):  # 1. reach
            if self.tiers[i] == PATH and self._view(i, reach_limit):
                frontier = position + 1
        for position, i in enumerate(order):  # 2. depth: files reached, and those skipped above the last one reached
            if position < frontier or self.tiers[i] == OUTLINE:
                self._upgrade(i)
        for i in order:  # 3. reach further
            if self.tiers[i] == PATH:
                self._view(i, self.budget)
        for i in order:  # 4. depth further
            self._upgrade(i)

    def _view(self, i: int, limit: int) -> bool:
        """Give file i its cheapest useful view if that keeps this section within `limit`."""
        full, outline = self.full_costs[i], self.outline_costs[i]
        cheap_full = outline is None or full <= outline * CHEAP_FULL_RATIO or full - outline <= CHEAP_FULL_SLACK
        options = [(FULL, full)] if cheap_full else []
        if outline is not None and not (cheap_full and full <= outline):
            options.append((OUTLINE, outline))
        for tier, cost in options:
            if self.used + cost <= limit:
                self.tiers[i] = tier
                self.used += cost
                return True
        return False

    def _upgrade_cost(self, i: int) -> int:
        if self.tiers[i] == FULL:
            return 0
        if self.tiers[i] == OUTLINE and not self.prior_outline[i]:
            return self.full_costs[i] - self.outline_costs[i]
        return self.full_costs[i]  # from a path, or a second block after the prefix's outline

    def _upgrade(self, i: int) -> None:
        cost = self._upgrade_cost(i)
        if self.tiers[i] != FULL and self.used + cost <= self.budget:
            self.tiers[i] = FULL
            self.used += cost
