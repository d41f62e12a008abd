"""The tiered fill: never over the budget, tiers follow the scores, the stable prefix ignores the question."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.context.test_rank import SERVICE, _candidates
from v4cli.context.rank import Score, rank
from v4cli.context.select import (
    COMPACT,
    FULL,
    OUTLINE,
    PATH,
    QUESTION,
    STABLE,
    STABLE_FULL,
    STABLE_MIN,
    STABLE_SHARE,
    Placement,
    fill,
)


def _score(total: float, stable: float = 0.0, cues: tuple[str, ...] = ()) -> Score:
    return Score(total, stable, 0.0, 0.0, cues)


def _cost(placements, full_costs, outline_costs, compact_costs=None) -> int:
    """What the placements add to the context: the tier's block, plus the smaller view left in the prefix."""
    total = 0
    compact_costs = compact_costs or [None] * len(full_costs)
    for p, full, outline, compact in zip(placements, full_costs, outline_costs, compact_costs):
        cost = {FULL: full, OUTLINE: outline, COMPACT: compact, PATH: 0}
        total += cost[p.tier] + (cost[p.prefix_view] if p.prefix_view else 0)
    return total


_RANK = {FULL: 3, OUTLINE: 2, COMPACT: 1, PATH: 0}


def test_everything_in_full_when_everything_fits_whatever_the_question():
    placements = fill([10, 20, 30], [5, None, 8], [_score(1), _score(2), _score(3)], ["a", "b", "c"], 60,
                      question=True)
    assert placements == [Placement(FULL, STABLE)] * 3


def test_a_huge_top_file_gets_its_outline_and_the_budget_goes_to_the_next_ones():
    full = [50_000, 900, 800, 700, 600]
    outline = [2_000, 150, 120, 100, 90]
    scores = [_score(5 - i, 5 - i) for i in range(5)]
    placements = fill(full, outline, scores, list("abcde"), 5_000, question=False)
    assert [p.tier for p in placements] == [OUTLINE, FULL, FULL, FULL, FULL]
    assert _cost(placements, full, outline) <= 5_000


def test_a_file_cheap_in_full_is_not_outlined():
    full, outline = [100, 3_000, 3_000], [90, 400, 400]
    placements = fill(full, outline, [_score(3, 3), _score(2, 2), _score(1, 1)], list("abc"), 1_000, question=False)
    assert placements[0].tier == FULL  # its outline would save 10 tokens and lose its bodies
    assert placements[1].tier == OUTLINE and placements[2].tier == OUTLINE


def test_compact_outlines_reach_many_more_files_than_outlines():
    n = 20
    full, outline, compact = [3_000] * n, [800] * n, [150] * n
    scores = [_score(n - i, n - i) for i in range(n)]
    placements = fill(full, outline, scores, [f"f{i:02d}" for i in range(n)], 5_000, question=False,
                      compact_costs=compact)
    # anchor: the top file in full (3,000 <= three quarters); reach: a quarter (1,250) in compact outlines, 8 files
    # of 150; depth: no second full text fits (2,850 more); the rest (800) reaches 5 more files, no outline fits
    assert [p.tier for p in placements] == [FULL] + [COMPACT] * 13 + [PATH] * 6
    assert _cost(placements, full, outline, compact) <= 5_000
    without = fill(full, outline, scores, [f"f{i:02d}" for i in range(n)], 5_000, question=False)
    # outlines alone: the same anchor, then one outline in the reach and one with the rest: 3 files seen, not 14
    assert [p.tier for p in without] == [FULL, OUTLINE, OUTLINE] + [PATH] * 17


def test_a_compact_outline_no_cheaper_than_the_outline_is_never_used():
    full, outline, compact = [3_000, 3_000], [400, 400], [400, 500]
    placements = fill(full, outline, [_score(2, 2), _score(1, 1)], ["a", "b"], 900, question=False,
                      compact_costs=compact)
    assert [p.tier for p in placements] == [OUTLINE, OUTLINE]


def test_a_file_compact_in_the_prefix_can_get_its_outline_for_the_question():
    full, outline, compact = [40_000, 30_000, 30_000], [9_000, 4_000, 4_000], [700, 500, 500]
    scores = [_score(0, 10), _score(10, 0), _score(1, 1)]  # the prefix prefers file a, the question file b
    placements = fill(full, outline, scores, list("abc"), 12_000, question=True, stable_budget=STABLE_FULL,
                      compact_costs=compact)
    assert placements[0].prefix_tier is not None
    prefix_b = placements[1].prefix_tier
    assert prefix_b in (COMPACT, None)
    assert _RANK[placements[1].tier] > _RANK[prefix_b or PATH]
    assert _cost(placements, full, outline, compact) <= 12_000


def test_without_an_outline_a_file_is_full_or_path():
    full, outline = [400, 400, 400, 400], [None, None, None, None]
    placements = fill(full, outline, [_score(4, 4), _score(3, 3), _score(2, 2), _score(1, 1)], list("abcd"), 900,
                      question=False)
    assert [p.tier for p in placements] == [FULL, FULL, PATH, PATH]


def test_without_a_question_everything_is_in_the_stable_section():
    full, outline = [300] * 6, [60] * 6
    placements = fill(full, outline, [_score(i, i) for i in range(6)], list("abcdef"), 700, question=False)
    assert {p.section for p in placements} == {STABLE}
    assert {p.tier for p in placements} >= {FULL, OUTLINE}


def test_generated_files_come_last_at_equal_score():
    full, outline = [300, 300, 300], [None, None, None]
    scores = [_score(1, 1, ("generated",)), _score(1, 1), _score(1, 1)]
    placements = fill(full, outline, scores, ["a_gen.py", "b.py", "c.py"], 600, question=False)
    assert [p.tier for p in placements] == [PATH, FULL, FULL]


def test_the_stable_prefix_does_not_depend_on_the_question():
    n = 12
    full = [4_000 + 370 * i for i in range(n)]
    outline = [600 + 50 * i if i % 4 else None for i in range(n)]
    paths = [f"f{i:02d}.py" for i in range(n)]
    stable = [float((i * 7) % n) for i in range(n)]
    first = fill(full, outline, [_score(float(i), stable[i]) for i in range(n)], paths, 40_000, question=True)
    second = fill(full, outline, [_score(float(n - i), stable[i]) for i in range(n)], paths, 40_000, question=True)
    assert [p.prefix_tier for p in first] == [p.prefix_tier for p in second]
    assert any(p.prefix_tier is not None for p in first)
    assert [p.tier for p in first] != [p.tier for p in second]  # the questions do choose differently


def test_a_file_outlined_in_the_prefix_can_still_be_given_in_full_for_the_question():
    full, outline = [40_000, 6_000, 6_000], [1_500, 1_200, 1_200]  # a's outline fits in the prefix's reach
    scores = [_score(10, 10), _score(1, 1), _score(0, 0)]
    placements = fill(full, outline, scores, list("abc"), 50_000, question=True, stable_budget=STABLE_FULL)
    assert placements[0] == Placement(FULL, QUESTION, prefix_view=OUTLINE)
    assert placements[0].prefix_tier == OUTLINE
    assert _cost(placements, full, outline) <= 50_000


def test_a_small_budget_goes_to_the_question_and_a_large_one_keeps_its_prefix():
    n = 40
    full, outline = [3_000] * n, [500] * n
    scores = [_score(float(i), float(n - i)) for i in range(n)]  # the prefix prefers what the question does not
    paths = [f"f{i:02d}.py" for i in range(n)]
    small = fill(full, outline, scores, paths, 4 * STABLE_MIN, question=True)
    assert all(p.prefix_tier is None for p in small)
    assert small[n - 1].tier == FULL  # the question's top file
    large = fill(full, outline, scores, paths, 4 * STABLE_FULL, question=True)
    prefix = sum(full[i] if p.prefix_tier == FULL else outline[i] for i, p in enumerate(large) if p.prefix_tier)
    assert 0 < prefix <= STABLE_SHARE * 4 * STABLE_FULL
    # in between, the prefix grows with the budget
    middle = fill(full, outline, scores, paths, 2 * (STABLE_MIN + STABLE_FULL), question=True)
    assert 0 < sum(p.prefix_tier is not None for p in middle) < sum(p.prefix_tier is not None for p in large)


def test_ranked_candidates_fill_a_small_budget_with_the_relevant_file_in_full():
    candidates = _candidates(SERVICE)
    scores = rank(candidates, "how is the delay between retry attempts computed with backoff and jitter")
    full = [c.tokens + 10 for c in candidates]
    outline = [max(8, c.tokens // 4) + 10 if c.symbols and c.symbols.parsed else None for c in candidates]
    available = sum(full) * 2 // 3
    placements = fill(full, outline, scores, [c.path for c in candidates], available, question=True)
    tiers = {c.path: p.tier for c, p in zip(candidates, placements)}
    assert tiers["fetcher/retry.py"] == FULL
    assert PATH in tiers.values()
    assert _cost(placements, full, outline) <= available


_COSTS = st.lists(
    st.tuples(st.integers(0, 5_000), st.one_of(st.none(), st.integers(0, 1_000)), st.integers(0, 50),
              st.integers(0, 50), st.booleans(), st.one_of(st.none(), st.integers(0, 300))),
    min_size=0, max_size=30,
)


@settings(max_examples=300, derandomize=True, deadline=None)
@given(files=_COSTS, available=st.integers(-10, 30_000), question=st.booleans(), share=st.floats(0, 1),
       stable_budget=st.one_of(st.none(), st.integers(-10, 30_000)))
def test_the_fill_never_exceeds_the_budget(files, available, question, share, stable_budget):
    full = [f[0] for f in files]
    outline = [f[1] for f in files]
    compact = [f[5] for f in files]
    scores = [_score(f[2], f[3], ("generated",) if f[4] else ()) for f in files]
    paths = [f"p{i:03d}" for i in range(len(files))]
    options = {"question": question, "stable_share": share, "stable_budget": stable_budget, "compact_costs": compact}
    placements = fill(full, outline, scores, paths, available, **options)
    assert len(placements) == len(files)
    assert _cost(placements, full, outline, compact) <= max(available, 0) or sum(full) <= available
    for p, o, c in zip(placements, outline, compact):
        assert OUTLINE not in (p.tier, p.prefix_view) or o is not None
        assert COMPACT not in (p.tier, p.prefix_view) or c is not None
        assert p.prefix_view is None or (p.section == QUESTION and _RANK[p.prefix_view] < _RANK[p.tier])
        assert p.section == STABLE or question
    assert placements == fill(full, outline, scores, paths, available, **options)


@settings(max_examples=200, derandomize=True, deadline=None)
@given(files=_COSTS, totals=st.lists(st.integers(0, 50), min_size=30, max_size=30), available=st.integers(0, 30_000),
       stable_budget=st.integers(0, 10_000))
def test_the_prefix_is_the_same_for_any_question(files, totals, available, stable_budget):
    full = [f[0] for f in files]
    outline = [f[1] for f in files]
    options = {"question": True, "stable_budget": stable_budget, "compact_costs": [f[5] for f in files]}
    paths = [f"p{i:03d}" for i in range(len(files))]
    first = fill(full, outline, [_score(f[2], f[3]) for f in files], paths, available, **options)
    second = fill(full, outline, [_score(t, f[3]) for f, t in zip(files, totals)], paths, available, **options)
    assert [p.prefix_tier for p in first] == [p.prefix_tier for p in second]


@settings(max_examples=200, derandomize=True, deadline=None)
@given(scores=st.lists(st.tuples(st.integers(0, 20), st.integers(0, 20)), min_size=1, max_size=25),
       full=st.integers(100, 2_000), ratio=st.integers(2, 20), compact_ratio=st.one_of(st.none(), st.integers(2, 8)),
       available=st.integers(0, 20_000), question=st.booleans())
def test_with_equal_costs_tiers_are_monotone_in_score_within_a_section(scores, full, ratio, compact_ratio, available,
                                                                      question):
    n = len(scores)
    outline = full // ratio
    compact = [outline // compact_ratio if compact_ratio else None] * n
    ranked = [_score(t, s) for t, s in scores]
    paths = [f"p{i:03d}" for i in range(n)]
    placements = fill([full] * n, [outline] * n, ranked, paths, available, question=question, compact_costs=compact)
    def tiers_by_score(members, key, tier_of) -> list[int]:
        return [_RANK[tier_of(i) or PATH] for i in sorted(members, key=lambda i: (-key(ranked[i]), paths[i]))]

    prefix = tiers_by_score(range(n), lambda s: s.stable, lambda i: placements[i].prefix_tier)
    assert prefix == sorted(prefix, reverse=True)
    if question:  # the files the prefix does not show, by the question's score
        rest = [i for i in range(n) if placements[i].prefix_tier is None]
        asked = tiers_by_score(rest, lambda s: s.total, lambda i: placements[i].tier)
        assert asked == sorted(asked, reverse=True)
