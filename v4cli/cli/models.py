"""`v4 models`: the model catalog (context, output limit, prices), optionally checked against a server's GET /models."""

from __future__ import annotations

import sys
from typing import Optional

import typer


def models_command(
    refresh: bool = typer.Option(False, "--refresh", help="Ask the server which models it serves (GET /models)."),
    base_url: Optional[str] = typer.Option(None, "--base-url", help="Server to ask (default: base_url setting, "
                                           "else the DeepSeek API)."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """The model catalog: context, output limit, and dollars per million tokens off-peak and at peak hours."""
    from v4cli import config

    loaded = config.load_config()
    catalog = config.model_catalog(loaded)
    default = config.setting("model", loaded)
    own = set((loaded.get("models") or {}).keys())
    served: list[str] | None = _served_models(base_url, loaded) if refresh else None
    if json_out:
        _print_json(catalog, default, own, served)
    else:
        _print_table(catalog, default, own, served)


def _served_models(base_url: str | None, loaded: dict) -> list[str]:
    import os

    from v4cli import config
    from v4cli.backends.deepseek import DEEPSEEK_URL, OpenAICompatibleBackend

    url = config.parse_setting("base_url", base_url) if base_url else config.setting("base_url", loaded)
    url = str(url or DEEPSEEK_URL)
    deepseek = url.rstrip("/") == DEEPSEEK_URL
    key_env = config.DEEPSEEK_KEY_ENV if deepseek else str(config.setting("api_key_env", loaded))
    key = os.environ.get(key_env)
    if deepseek and not key:
        from v4cli.errors import UsageError

        raise UsageError(f"{key_env} is not set", hint=f"export {key_env}=... (a key from platform.deepseek.com)")
    backend = OpenAICompatibleBackend(url, key, name="deepseek" if deepseek else "openai", key_env=key_env,
                                      max_retries=2)
    return backend.list_models()


def _rows(catalog: dict, default: str, own: set, served: list[str] | None) -> list[dict]:
    from v4cli.config import CATALOG_DATE

    rows = []
    for name, m in sorted(catalog.items()):
        p = m.prices
        off = {"input_cache_hit": p.input_cache_hit, "input_cache_miss": p.input_cache_miss, "output": p.output}
        rows.append({
            "name": name,
            "default": name == default,
            "context": m.context,
            "max_output": m.max_output,
            "prices_off_peak": off,
            "prices_peak": {k: round(v * p.peak_multiplier, 9) for k, v in off.items()},
            "source": "config" if name in own else f"catalog {CATALOG_DATE}",
            **({"served": name in served} if served is not None else {}),
        })
    return rows


def _print_json(catalog: dict, default: str, own: set, served: list[str] | None) -> None:
    import json

    from v4cli.config import PEAK_HOURS_UTC

    out = {"models": _rows(catalog, default, own, served), "prices_unit": "USD per million tokens",
           "peak_hours_utc": [list(h) for h in PEAK_HOURS_UTC]}
    if served is not None:
        out["served_not_in_catalog"] = sorted(set(served) - set(catalog))
    typer.echo(json.dumps(out, indent=2))


def _print_table(catalog: dict, default: str, own: set, served: list[str] | None) -> None:
    from v4cli.config import PEAK_HOURS_UTC
    from v4cli.cost import is_peak
    from v4cli.render.table import print_table

    headers = ["model", "context", "max out", "off-peak hit/miss/out", "peak hit/miss/out", "source"]
    if served is not None:
        headers.append("served")
    table = []
    for row in _rows(catalog, default, own, served):
        cells = [
            row["name"] + (" *" if row["default"] else ""),
            _tokens(row["context"]),
            _tokens(row["max_output"]),
            _prices(row["prices_off_peak"]),
            _prices(row["prices_peak"]),
            row["source"],
        ]
        if served is not None:
            cells.append("yes" if row["served"] else "no")
        table.append(cells)
    print_table(headers, table, right=(1, 2))
    hours = ", ".join(f"{a:02d}:00-{b:02d}:00" for a, b in PEAK_HOURS_UTC)
    sys.stderr.write(f"* default model. Prices in $ per million tokens (cache hit / miss input, output); peak hours "
                     f"{hours} UTC; now: {'peak' if is_peak() else 'off-peak'}.\n")
    if served is not None:
        extra = sorted(set(served) - set(catalog))
        if extra:
            sys.stderr.write("served but not in the catalog: " + ", ".join(extra) + "\n"
                             "hint: v4 config set models.NAME.context TOKENS (and max_output, prices) to use one\n")


def _tokens(count: int) -> str:
    if count <= 0:
        return "?"
    if count % 1_000_000 == 0:
        return f"{count // 1_000_000:,}M"
    if count % 1000 == 0:
        return f"{count // 1000:,}K"
    return f"{count:,}"


def _prices(prices: dict) -> str:
    return "/".join(f"{v:.2f}" if round(v, 2) == v else f"{v:g}" for v in prices.values())
