"""Settings: the model catalog with dated defaults, overridable from the TOML config file and the environment.

Model names and limits drift (DeepSeek retired `deepseek-chat` in 2026), so logic never hard-codes a
name: it asks the catalog. The user's `[models.NAME]` tables in the config file add or override entries.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from v4cli.errors import UsageError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

CATALOG_DATE = "2026-10-27"  # DeepSeek's Models & Pricing page as checked on this day


@dataclass(frozen=True)
class Prices:
    """US dollars per million tokens at off-peak rates; peak hours cost `peak_multiplier` times as much."""

    input_cache_hit: float = 0.0
    input_cache_miss: float = 0.0
    output: float = 0.0
    peak_multiplier: float = 1.0


@dataclass(frozen=True)
class ModelInfo:
    name: str
    context: int  # tokens the model accepts, prompt and output together
    max_output: int
    prices: Prices = Prices()


DEFAULT_MODELS: dict[str, ModelInfo] = {
    m.name: m
    for m in (
        ModelInfo("deepseek-flash", 1_000_000, 384_000, Prices(0.003, 0.15, 0.60, 2.0)),
        ModelInfo("deepseek-v4-pro", 1_000_000, 384_000, Prices(0.022, 0.66, 1.98, 2.0)),
        # retired name, still accepted and served by the current Flash at its prices
        ModelInfo("deepseek-v4-flash", 1_000_000, 384_000, Prices(0.003, 0.15, 0.60, 2.0)),
    )
}
DEFAULT_MODEL = "deepseek-flash"
# DeepSeek's peak hours (UTC, [start, end) hours); every other hour is billed at the off-peak rate.
PEAK_HOURS_UTC = ((1, 4), (6, 10))
# Room kept free for the system prompt, the question and the answer when the budget is derived from a context.
DEFAULT_OUTPUT_RESERVE = 65_536


def config_path() -> Path:
    """`$V4_CONFIG`, else the XDG config file (`~/.config/v4/config.toml` on Linux)."""
    override = os.environ.get("V4_CONFIG")
    if override:
        return Path(override)
    from platformdirs import user_config_dir

    return Path(user_config_dir("v4", appauthor=False)) / "config.toml"


def load_config() -> dict:
    path = config_path()
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise UsageError(f"cannot read config {path}: {err}", hint="fix or remove the file") from None


def model_catalog(config: dict | None = None) -> dict[str, ModelInfo]:
    config = load_config() if config is None else config
    catalog = dict(DEFAULT_MODELS)
    for name, fields in (config.get("models") or {}).items():
        if not isinstance(fields, dict):
            raise UsageError(f"config: [models.{name}] must be a table")
        base = catalog.get(name, ModelInfo(name, context=0, max_output=0))
        try:
            limits = {k: int(v) for k, v in fields.items() if k in ("context", "max_output")}
            price_fields = {k: float(v) for k, v in (fields.get("prices") or {}).items()}
            prices = replace(base.prices, **price_fields)
            catalog[name] = replace(base, prices=prices, **limits)
        except (TypeError, ValueError):
            raise UsageError(
                f"config: [models.{name}] has a bad value",
                hint="context and max_output are integers; [models.NAME.prices] holds input_cache_hit, "
                "input_cache_miss, output and peak_multiplier in dollars per million tokens",
            ) from None
    return catalog


def resolve_model(name: str | None, config: dict | None = None) -> ModelInfo:
    config = load_config() if config is None else config
    name = name or os.environ.get("V4_MODEL") or config.get("model") or DEFAULT_MODEL
    catalog = model_catalog(config)
    if name not in catalog or catalog[name].context <= 0:
        known = ", ".join(sorted(catalog))
        raise UsageError(f"unknown model {name!r}", hint=f"known models: {known}; add [models.{name}] to {config_path()}")
    return catalog[name]


def default_budget(model: ModelInfo) -> int:
    return max(model.context - min(DEFAULT_OUTPUT_RESERVE, model.max_output), 1)
