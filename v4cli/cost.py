"""Dollars from token counts: the catalog's off-peak prices, times the peak multiplier during peak hours.

The catalog holds prices per million tokens at off-peak rates (config.Prices); DeepSeek bills the hours in
config.PEAK_HOURS_UTC at `peak_multiplier` times those rates. Input not reported as a cache hit is billed
as a miss, so a backend that does not split its input is never under-counted.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone

from v4cli.backends.base import Usage
from v4cli.config import PEAK_HOURS_UTC, ModelInfo

_PER = 1_000_000


def is_peak(when: datetime | None = None) -> bool:
    """True when `when` (default: now; a naive datetime is taken as UTC) falls in DeepSeek's peak hours."""
    hour = _utc(when).hour
    return any(start <= hour < end for start, end in PEAK_HOURS_UTC)


def rate_multiplier(model: ModelInfo, when: datetime | None = None) -> float:
    return model.prices.peak_multiplier if is_peak(when) else 1.0


def cost_usd(usage: Usage, model: ModelInfo, when: datetime | None = None) -> float:
    """What one request cost: cache-hit input, the rest of the input as misses, and output (reasoning included)."""
    hit = usage.cache_hit_tokens
    miss = max(usage.cache_miss_tokens, usage.input_tokens - hit)
    return _price(hit, miss, usage.output_tokens, model, when)


def estimate_usd(prompt_tokens: int, max_output_tokens: int, model: ModelInfo, when: datetime | None = None,
                 cache_hit_tokens: int = 0) -> float:
    """An upper bound before sending: every output token used, every prompt token not known to hit billed as a miss."""
    hit = min(cache_hit_tokens, prompt_tokens)
    return _price(hit, prompt_tokens - hit, max_output_tokens, model, when)


def usage_line(usage: Usage, model: ModelInfo, cost: float | None, when: datetime | None = None) -> str:
    """'in 812,345 (hit 800,000 / miss 12,345) · out 1,234 (reasoning 900) · $0.0123', for stderr."""
    hit = usage.cache_hit_tokens
    miss = max(usage.cache_miss_tokens, usage.input_tokens - hit)
    parts = [f"in {usage.input_tokens:,}" + (f" (hit {hit:,} / miss {miss:,})" if hit or usage.cache_miss_tokens else "")]
    parts.append(f"out {usage.output_tokens:,}" + (f" (reasoning {usage.reasoning_tokens:,})" if usage.reasoning_tokens else ""))
    if cost is not None:
        peak = model.prices.peak_multiplier != 1.0 and is_peak(when)
        parts.append(format_usd(cost) + (f" (peak rate ×{model.prices.peak_multiplier:g})" if peak else ""))
    return " · ".join(parts)


def format_usd(amount: float) -> str:
    """Dollars with enough decimals to show at least three significant digits of a small amount."""
    if amount == 0:
        return "$0.00"
    if amount >= 1:
        return f"${amount:,.2f}"
    decimals = min(max(4, 2 - math.floor(math.log10(amount))), 10)
    return f"${amount:.{decimals}f}"


def _price(hit: int, miss: int, output: int, model: ModelInfo, when: datetime | None) -> float:
    p = model.prices
    return (hit * p.input_cache_hit + miss * p.input_cache_miss + output * p.output) / _PER * rate_multiplier(model, when)


def _utc(when: datetime | None) -> datetime:
    if when is None:
        return datetime.now(timezone.utc)
    return when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when.astimezone(timezone.utc)
