"""Cost: off-peak catalog prices, the peak multiplier by UTC hour, cache hits, and the pre-flight estimate."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from v4cli.backends.base import Usage
from v4cli.config import DEFAULT_MODELS, PEAK_HOURS_UTC, ModelInfo, Prices
from v4cli.cost import cost_usd, estimate_usd, format_usd, is_peak, usage_line

# Round prices make the expected dollars readable: $1 per million cache hits, $10 per miss, $100 per output.
ROUND = ModelInfo("round", 1_000_000, 100_000, Prices(1.0, 10.0, 100.0, 2.0))
OFF_PEAK = datetime(2026, 11, 29, 12, 0, tzinfo=timezone.utc)
PEAK = datetime(2026, 11, 29, 7, 30, tzinfo=timezone.utc)


def test_peak_hours_follow_the_configured_utc_ranges_hour_by_hour():
    day = datetime(2026, 11, 29, tzinfo=timezone.utc)
    peak_hours = {h for start, end in PEAK_HOURS_UTC for h in range(start, end)}
    for hour in range(24):
        for minute in (0, 59):
            assert is_peak(day + timedelta(hours=hour, minutes=minute)) == (hour in peak_hours), (hour, minute)
    assert peak_hours == {1, 2, 3, 6, 7, 8, 9}


def test_peak_is_decided_in_utc_whatever_the_timezone():
    tokyo = timezone(timedelta(hours=9))
    assert is_peak(datetime(2026, 11, 29, 10, 30, tzinfo=tokyo))  # 01:30 UTC
    assert not is_peak(datetime(2026, 11, 29, 1, 30, tzinfo=tokyo))  # 16:30 UTC the day before
    assert is_peak(datetime(2026, 11, 29, 1, 30))  # naive: taken as UTC


def test_cost_adds_hits_misses_and_output_and_doubles_at_peak():
    usage = Usage(input_tokens=1_200_000, cache_hit_tokens=1_000_000, cache_miss_tokens=200_000, output_tokens=10_000,
                  reasoning_tokens=4_000)
    off = cost_usd(usage, ROUND, OFF_PEAK)
    assert off == pytest.approx(1.0 + 2.0 + 1.0)  # 1M hits at $1, 0.2M misses at $10, 0.01M output at $100
    assert cost_usd(usage, ROUND, PEAK) == pytest.approx(2 * off)


def test_input_not_reported_as_a_hit_is_billed_as_a_miss():
    unsplit = Usage(input_tokens=500_000, output_tokens=0)
    assert cost_usd(unsplit, ROUND, OFF_PEAK) == pytest.approx(5.0)
    partly = Usage(input_tokens=500_000, cache_hit_tokens=100_000, output_tokens=0)
    assert cost_usd(partly, ROUND, OFF_PEAK) == pytest.approx(0.1 + 4.0)


def test_catalog_prices_give_the_published_rates():
    flash = DEFAULT_MODELS["deepseek-flash"]
    million_misses = Usage(input_tokens=1_000_000, cache_miss_tokens=1_000_000)
    assert cost_usd(million_misses, flash, OFF_PEAK) == pytest.approx(flash.prices.input_cache_miss)
    assert cost_usd(million_misses, flash, PEAK) == pytest.approx(flash.prices.input_cache_miss * flash.prices.peak_multiplier)


@given(
    prompt=st.integers(0, 2_000_000),
    hit_share=st.floats(0, 1),
    max_out=st.integers(0, 400_000),
    out_share=st.floats(0, 1),
    hour=st.integers(0, 23),
)
def test_the_estimate_is_an_upper_bound_of_the_real_cost(prompt, hit_share, max_out, out_share, hour):
    hit = int(prompt * hit_share)
    when = datetime(2026, 11, 29, hour, tzinfo=timezone.utc)
    usage = Usage(input_tokens=prompt, cache_hit_tokens=hit, cache_miss_tokens=prompt - hit,
                  output_tokens=int(max_out * out_share))
    estimate = estimate_usd(prompt, max_out, ROUND, when, cache_hit_tokens=hit)
    assert estimate >= cost_usd(usage, ROUND, when) - 1e-12
    assert estimate_usd(prompt, max_out, ROUND, when) >= estimate  # unknown hits are assumed to miss


def test_estimate_counts_every_output_token():
    assert estimate_usd(100_000, 50_000, ROUND, OFF_PEAK) == pytest.approx(1.0 + 5.0)
    assert estimate_usd(100_000, 50_000, ROUND, PEAK, cache_hit_tokens=100_000) == pytest.approx(2 * (0.1 + 5.0))


def test_usage_line_shows_hits_misses_reasoning_and_dollars():
    usage = Usage(input_tokens=812_345, cache_hit_tokens=800_000, cache_miss_tokens=12_345, output_tokens=1_234,
                  reasoning_tokens=900)
    line = usage_line(usage, ROUND, 0.0123, OFF_PEAK)
    assert line == "in 812,345 (hit 800,000 / miss 12,345) · out 1,234 (reasoning 900) · $0.0123"
    assert usage_line(usage, ROUND, 0.0246, PEAK).endswith("$0.0246 (peak rate ×2)")
    plain = usage_line(Usage(input_tokens=10, output_tokens=3), ROUND, None)
    assert plain == "in 10 · out 3"


def test_dollars_keep_three_significant_digits_when_small():
    assert format_usd(0) == "$0.00"
    assert format_usd(12.3456) == "$12.35"
    assert format_usd(1234.5) == "$1,234.50"
    assert format_usd(0.0123) == "$0.0123"
    assert format_usd(0.000012345) == "$0.0000123"
