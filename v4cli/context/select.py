"""The budget-fitting stage: which files go in full, which as outlines or compact outlines, which as paths only.

A pure function over exact costs (each file's tokens in the context in that tier, wrapper included; costs add
up), so `sum(chosen costs) <= available` always holds.

A file has up to three views, from cheapest to richest: its compact outline (definition lines only), its
outline (signatures, first doc lines, fields) and its full text; a view that costs at least as much as a richer
one is dropped. Within one section, files are taken in score order (equal scores: generated files last, then
path order), and the section's budget is spent in five passes:
  0. anchor: the top file gets its full text first if that takes at most the depth share (1 - REACH_SHARE) of
     the budget: the single most relevant file is the one most likely to be needed in detail.
  1. reach: up to REACH_SHARE of the budget goes to each file's cheapest useful view: its cheapest view, or a
     richer one that costs little more (CHEAP_FULL_RATIO, CHEAP_FULL_SLACK); a file whose view does not fit
     is skipped, not a stop. Seeing that a file exists and what it defines is what lets a reader (and the
     recall measure) find the relevant files at all, so the top files are guaranteed a view before any budget
     goes to depth. The cheapest view is the compact outline: outlines run at a quarter of a file (median;
     over half for some), so at 8k tokens the reach showed a handful of files, where compact outlines (a
     quarter of that again) show dozens.
  2. depth: the rest upgrades files to full text in score order: those with a view, and those above the last
     file reached in pass 1 (a file too big for the reach), skipping any whose upgrade does not fit: a huge
     top-ranked file keeps its view instead of eating the budget of the next ten.
  3. reach further: what is left gives the cheapest views to the files further down, in the same order.
  4. depth further: then upgrades files in score order to their richest view that fits (full, else outline).
So with equal costs the tiers are monotone in score (full, outline, compact, path), and a big budget ends
with everything that fits in full. Measured on benchmarks/eval_select.py (46 instances, recall of gold files
in full / in any view), against outlines only with a reach of half the budget: a compact reach of half the
budget showed twice the files at 32k but cut the recall in full by a third (it spread over hundreds of files,
and a depth pass that also gave outlines spent the rest on a few); a quarter, with outlines only as the last
upgrade, has both recalls at least as high at 8k, 32k and 128k.

Prefix stability: with a question, a first "stable" section gets STABLE_SHARE of the budget (or an explicit
`stable_budget`, which the caller should derive only from question-independent numbers) and is filled by the
question-independent `stable` score; the "question" section gets the rest and is ordered by `total`. A file
placed in full in the stable section is done. A file given a smaller view there may still be wanted in more
detail by the question: that view stays in the prefix (which must not depend on the question) and the richer
one is added as a second block in the question section, at its whole cost (`Placement.prefix_view` names the
view left in the prefix). Without a question there is one section, "stable", ordered by `stable` (= total).
If everything fits in full, all is full and "stable", whatever the question. The prefix's room shrinks when it
is small (from STABLE_FULL tokens down to none at STABLE_MIN): a small budget is better spent on the question,
and a small prefix saves little. On the selection evaluation (benchmarks/eval_select.py), a 25% prefix at 8k
cut the recall of shown gold files by a quarter, while from 32k on it costs nothing measurable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from v4cli.context.rank import Score

STABLE_SHARE = 0.25  # of the available budget, for the question-independent prefix
STABLE_MIN, STABLE_FULL = 2_000, 8_000  # tokens: a prefix room below STABLE_FULL shrinks, to none at STABLE_MIN
REACH_SHARE = 0.25  # of a section's budget, first spent on views (compact outlines, outlines) of the top files
CHEAP_FULL_RATIO = 1.25  # a richer view is the cheapest useful one when the cheapest would save at most a fifth
CHEAP_FULL_SLACK = 64  # ... or at most this many tokens

FULL, OUTLINE, COMPACT, PATH = "full", "outline", "compact", "path"
STABLE, QUESTION = "stable", "question"
_RICHEST_FIRST = (FULL, OUTLINE, COMPACT)
_LEVEL = {PATH: 0, COMPACT: 1, OUTLINE: 2, FULL: 3}


@dataclass(frozen=True, slots=True)
class Placement:
    tier: str  # "full" | "outline" | "compact" | "path"
    section: str  # where that block goes: "stable" (question-independent prefix) | "question"
    # with tier's block in the question section: the smaller view ("outline" | "compact") also in the prefix
    prefix_view: str | None = None

    @property
    def prefix_tier(self) -> str | None:
        """The block this file has in the question-independent prefix: "full", "outline", "compact" or None."""
        if self.prefix_view is not None:
            return self.prefix_view
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
    compact_costs: Sequence[int | None] | None = None,
) -> list[Placement]:
    """One placement per file; the chosen blocks cost at most `available` tokens in all."""
    n = len(full_costs)
    if sum(full_costs) <= available:
        return [Placement(FULL, STABLE)] * n
    available = max(available, 0)
    views = _views(full_costs, outline_costs, compact_costs if compact_costs is not None else [None] * n)
    tiers = [PATH] * n
    if not question:
        _Section(views, tiers, [None] * n, available).run(_order(scores, paths, lambda s: s.stable), set())
        return [Placement(tier, STABLE) for tier in tiers]

    stable_room = _prefix_room(stable_budget if stable_budget is not None else int(available * stable_share))
    stable_room = min(available, stable_room)
    stable = _Section(views, tiers, [None] * n, stable_room)
    stable.run(_order(scores, paths, lambda s: s.stable), set())
    done = {i for i in range(n) if tiers[i] == FULL}
    prior = [tiers[i] if tiers[i] != PATH else None for i in range(n)]
    question_tiers = [tiers[i] if tiers[i] != FULL else PATH for i in range(n)]
    _Section(views, question_tiers, prior, available - stable.used).run(
        _order(scores, paths, lambda s: s.total), done)
    placements = []
    for i in range(n):
        if i in done:
            placements.append(Placement(FULL, STABLE))
        elif prior[i] is not None and question_tiers[i] != prior[i]:
            placements.append(Placement(question_tiers[i], QUESTION, prior[i]))
        else:
            placements.append(Placement(question_tiers[i], STABLE if prior[i] else QUESTION))
    return placements


def _views(full_costs, outline_costs, compact_costs) -> list[dict[str, int]]:
    """Each file's views and their costs; a view that costs at least as much as a richer one is left out."""
    views = []
    for costs in zip(full_costs, outline_costs, compact_costs):
        kept: dict[str, int] = {}
        for tier, cost in zip(_RICHEST_FIRST, costs):
            if cost is not None and all(cost < richer for richer in kept.values()):
                kept[tier] = cost
        views.append(kept)
    return views


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

    `prior[i]` names the view of file i already in the context (from the stable section): it counts as reached,
    and a richer view costs its whole cost (a second block).
    """

    def __init__(self, views: list[dict[str, int]], tiers: list[str], prior: list[str | None], budget: int):
        self.views, self.tiers, self.prior, self.budget, self.used = views, tiers, prior, budget, 0

    def run(self, order: list[int], excluded: set[int]) -> None:
        order = [i for i in order if i not in excluded]
        reach_room = int(self.budget * REACH_SHARE)
        if order and self._raise_cost(order[0], FULL) <= self.budget - reach_room:  # 0. anchor
            self._raise(order[0], (FULL,))
        reach_limit = self.used + reach_room
        frontier = 1
        for position, i in enumerate(order):  # 1. reach
            if self.tiers[i] == PATH and self._view(i, reach_limit):
                frontier = position + 1
        for position, i in enumerate(order):  # 2. depth: files reached, and those skipped above the last one reached
            if position < frontier or self.tiers[i] != PATH:
                self._raise(i, (FULL,))  # full only: an outline here would spend the depth on few files
        for i in order:  # 3. reach further, cheapest views only: pass 4 upgrades in score order
            if self.tiers[i] == PATH:
                self._view(i, self.budget, cheapest_only=True)
        for i in order:  # 4. depth further
            self._raise(i, _RICHEST_FIRST)

    def _view(self, i: int, limit: int, cheapest_only: bool = False) -> bool:
        """Give file i its cheapest useful view if that keeps this section within `limit`."""
        views = self.views[i]
        cheapest = min(views.values())
        worth = cheapest if cheapest_only else max(cheapest * CHEAP_FULL_RATIO, cheapest + CHEAP_FULL_SLACK)
        return self._raise(i, [tier for tier, cost in views.items() if cost <= worth], limit)

    def _raise_cost(self, i: int, tier: str) -> int:
        """What giving file i view `tier` adds: the difference to the block it has in this section, if any."""
        current = self.tiers[i]
        spent = 0 if current in (PATH, self.prior[i]) else self.views[i][current]
        return self.views[i][tier] - spent

    def _raise(self, i: int, tiers, limit: int | None = None) -> bool:
        """Give file i the first of `tiers` (richest first) that is richer than its view and fits."""
        limit = self.budget if limit is None else limit
        for tier in tiers:
            if tier not in self.views[i] or _LEVEL[tier] <= _LEVEL[self.tiers[i]]:
                continue
            cost = self._raise_cost(i, tier)
            if self.used + cost <= limit:
                self.tiers[i] = tier
                self.used += cost
                return True
        return False
