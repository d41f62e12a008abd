"""The recall metrics of benchmarks/eval_select.py, on selections small enough to score by hand."""

from __future__ import annotations

import pytest

from benchmarks.eval_support.metrics import Hit, count_statuses, score, summarize

GOLD = ["a.py", "b.py", "c.py", "d.py"]
# a whole, b as an outline, c as a truncated head, d listed by path only
STATUSES = {"a.py": "full", "b.py": "outline", "c.py": "truncated", "d.py": "omitted", "e.py": "full"}


def test_full_counts_only_whole_files():
    # only a.py of the four gold files is shown whole: 1/4; e.py is shown but not gold, so it adds nothing
    assert score(GOLD, STATUSES, "full") == Hit(recall=0.25, all_gold=False, any_gold=True)


def test_shown_counts_outlines_and_heads_but_not_paths():
    # a (full), b (outline), c (truncated head) are seen; d is only a path in the footer: 3/4
    assert score(GOLD, STATUSES, "shown") == Hit(recall=0.75, all_gold=False, any_gold=True)


def test_a_gold_file_the_selector_never_saw_is_a_miss():
    # x.py is not among the candidates at all (skipped as binary, say): it cannot count as found
    assert score(["a.py", "x.py"], STATUSES, "full") == Hit(recall=0.5, all_gold=False, any_gold=True)


def test_all_and_any_gold_at_the_extremes():
    assert score(["a.py", "e.py"], STATUSES, "full") == Hit(recall=1.0, all_gold=True, any_gold=True)
    assert score(["d.py"], STATUSES, "shown") == Hit(recall=0.0, all_gold=False, any_gold=False)


def test_summary_averages_per_instance_not_per_file():
    # one instance with 1 of 1 gold found, one with 0 of 3: the mean of per-instance recalls is (1 + 0) / 2,
    # not the pooled 1/4 that would let big gold sets dominate
    one = score(["a.py"], STATUSES, "full")
    other = score(["b.py", "c.py", "d.py"], STATUSES, "full")
    s = summarize([one, other])
    assert (s.n, s.recall, s.all_gold, s.any_gold) == (2, 0.5, 0.5, 0.5)


def test_no_instances_summarize_to_nothing_rather_than_zero():
    assert summarize([]) is None


def test_unknown_status_and_empty_gold_are_errors():
    with pytest.raises(ValueError, match="unknown file status"):
        score(["a.py"], {"a.py": "chunked"}, "shown")
    with pytest.raises(ValueError, match="at least one gold file"):
        score([], STATUSES, "full")


def test_count_statuses():
    assert count_statuses(STATUSES) == {"full": 2, "omitted": 1, "outline": 1, "truncated": 1}
