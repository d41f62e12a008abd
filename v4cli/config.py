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



def _toml():
    """The TOML parser, imported only when a config file exists: most runs have none to read."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    return tomllib

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
            toml = _toml()
            return toml.load(f)
    except FileNotFoundError:
        return {}
    except (OSError, _toml().TOMLDecodeError) as err:
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


# Settings: the flat keys of the config file, each overridable by a V4_* environment variable ----------------


@dataclass(frozen=True)
class Setting:
    key: str
    help: str
    kind: str  # "text", "choice", "count", "int", "url", "name", "path", "rpc"
    choices: tuple[str, ...] = ()
    default: object = None

    @property
    def env(self) -> str:
        return "V4_" + self.key.upper()


SETTINGS: dict[str, Setting] = {
    s.key: s
    for s in (
        Setting("model", "model name from the catalog (`v4 models`)", "text", default=DEFAULT_MODEL),
        Setting("backend", "where answers come from", "choice", ("deepseek", "openai", "local")),
        Setting("base_url", "URL of an OpenAI-compatible server (llama-server, vLLM, SGLang)", "url"),
        Setting("api_key_env", "environment variable holding that server's key", "name", default="OPENAI_API_KEY"),
        Setting("model_path", "GGUF file for the local backend", "path"),
        Setting("n_ctx", "local backend: context size in tokens", "count"),
        Setting("gpu_layers", "local backend: layers offloaded to the GPU (all or -1: every layer)", "int"),
        Setting("threads", "local backend: CPU threads", "count"),
        Setting("thinking", "reasoning effort", "choice", ("off", "low", "high", "max"), default="high"),
        Setting("max_output", "most tokens an answer may use", "count"),
        Setting("budget", "token budget of the packed context", "count"),
        Setting("rpc", "llama.cpp RPC workers, host:port,host:port", "rpc"),
    )
}
DEEPSEEK_KEY_ENV = "DEEPSEEK_API_KEY"
MODEL_FIELDS = ("context", "max_output")
PRICE_FIELDS = ("input_cache_hit", "input_cache_miss", "output", "peak_multiplier")


def parse_setting(key: str, text: str) -> object:
    """The typed value of a setting given as text (command line, environment); UsageError when invalid."""
    import re
    from urllib.parse import urlsplit

    setting = SETTINGS.get(key)
    if setting is None:
        raise UsageError(f"unknown setting {key!r}", hint="known settings: " + ", ".join(SETTINGS))
    text = text.strip()
    bad = UsageError(f"bad value for {key}: {text!r}", hint=f"{key}: {setting.help}")
    if not text:
        raise bad
    if setting.kind == "choice":
        if text not in setting.choices:
            raise UsageError(f"bad value for {key}: {text!r}", hint="one of " + ", ".join(setting.choices))
        return text
    if setting.kind == "count":
        return _count(key, text, setting.help)
    if setting.kind == "int":
        if text == "all":
            return -1
        try:
            value = int(text)
        except ValueError:
            raise bad from None
        if value < -1:
            raise bad
        return value
    if setting.kind == "url":
        parts = urlsplit(text)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise UsageError(f"bad value for {key}: {text!r}", hint="a URL such as http://127.0.0.1:8080/v1")
        return text.rstrip("/")
    if setting.kind == "name":
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", text):
            raise UsageError(f"bad value for {key}: {text!r}", hint="the name of an environment variable, e.g. OPENAI_API_KEY")
        return text
    if setting.kind == "path":
        return str(Path(text).expanduser())
    if setting.kind == "rpc":
        workers = [w.strip() for w in text.split(",")]
        for worker in workers:
            host, _, port = worker.rpartition(":")
            if not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise UsageError(f"bad value for {key}: {text!r}", hint="host:port pairs separated by commas")
        return ",".join(workers)
    return text


def _count(key: str, text: str, help: str) -> int:
    from v4cli.units import parse_count

    try:
        return parse_count(text)
    except UsageError:
        raise UsageError(f"bad value for {key}: {text!r}", hint=f"{key}: {help} (a positive count: 32000, 128k, 1m)") from None


def effective_settings(config: dict | None = None, environ: dict | None = None) -> dict[str, tuple[object, str]]:
    """Every setting's value and where it came from: 'env V4_X', 'config', 'default', or 'unset' (value None)."""
    config = load_config() if config is None else config
    environ = os.environ if environ is None else environ
    result: dict[str, tuple[object, str]] = {}
    for key, setting in SETTINGS.items():
        if environ.get(setting.env):
            result[key] = (parse_setting(key, environ[setting.env]), f"env {setting.env}")
        elif key in config:
            value = config[key]
            if isinstance(value, bool) or not isinstance(value, (str, int)):
                raise UsageError(f"config: {key} has a bad value: {value!r}", hint=f"{key}: {setting.help}")
            result[key] = (parse_setting(key, str(value)), "config")
        elif setting.default is not None:
            result[key] = (setting.default, "default")
        else:
            result[key] = (None, "unset")
    return result


def setting(key: str, config: dict | None = None) -> object:
    """One setting's effective value (environment, then config file, then default), or None."""
    return effective_settings(config)[key][0]


def key_variables(config: dict | None = None) -> dict[str, bool]:
    """The environment variables that may hold keys, and whether each is set. Their values are never read out."""
    names = [DEEPSEEK_KEY_ENV, str(setting("api_key_env", config))]
    return {name: bool(os.environ.get(name)) for name in dict.fromkeys(names)}


def write_setting(key: str, value: str | None) -> Path:
    """Set (or, with None, remove) a setting or a `models.NAME.FIELD` entry in the config file, in place.

    The file is edited line by line, so comments and everything else in it stay; the result is parsed back
    and must hold exactly the new value, else nothing is written. The write is atomic."""
    table, leaf, typed = _config_target(key, value)
    path = config_path()
    try:
        text = path.read_text(encoding="utf-8") if path.exists() else ""
    except (OSError, UnicodeDecodeError) as err:
        raise UsageError(f"cannot read config {path}: {err}") from None
    new_text = _edit_toml(text, table, leaf, None if typed is None else _toml_literal(typed))
    hint = f"edit {path} by hand"
    toml = _toml()
    try:
        parsed = toml.loads(new_text)
    except toml.TOMLDecodeError:
        raise UsageError(f"cannot change {key} in {path} automatically", hint=hint) from None
    node: object = parsed
    for part in (*table, leaf):
        node = node.get(part) if isinstance(node, dict) else None
    if node != typed:
        raise UsageError(f"cannot change {key} in {path} automatically", hint=hint)
    if key == "model" and typed is not None:
        resolve_model(str(typed), parsed)
    else:
        model_catalog(parsed)  # a [models.NAME] edit must leave a usable catalog
    _write_atomically(path, new_text)
    return path


def _config_target(key: str, value: str | None) -> tuple[tuple[str, ...], str, object]:
    """(table path, key within it, typed value) for `key`: a setting or models.NAME[.prices].FIELD."""
    if key in SETTINGS:
        return (), key, None if value is None else parse_setting(key, value)
    if key.startswith("models."):
        rest = key[len("models."):]
        name, _, field = rest.rpartition(".")
        table: tuple[str, ...] = ("models", name)
        def numeric(text: str) -> int:  # context and max_output: 128k, 1m, 32000
            return _count(key, text, "a token count such as 32000, 128k or 1m")

        if name.endswith(".prices") and field in PRICE_FIELDS:
            table, numeric = ("models", name[: -len(".prices")], "prices"), float
        elif field not in MODEL_FIELDS:
            name = ""
        if name and table[1]:
            if value is None:
                return table, field, None
            try:
                typed = numeric(value.replace("_", ""))
            except ValueError:
                raise UsageError(f"bad value for {key}: {value!r}", hint="a number") from None
            if typed < 0:
                raise UsageError(f"bad value for {key}: {value!r}", hint="a positive number")
            return table, field, typed
    raise UsageError(
        f"unknown setting {key!r}",
        hint="known settings: " + ", ".join(SETTINGS) + "; models.NAME.{" + ",".join(MODEL_FIELDS)
        + "}; models.NAME.prices.{" + ",".join(PRICE_FIELDS) + "}",
    )


def _toml_literal(value: object) -> str:
    import json

    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a valid TOML basic string
    return repr(value)


def _toml_key(part: str) -> str:
    import json
    import re

    return part if re.fullmatch(r"[A-Za-z0-9_-]+", part) else json.dumps(part, ensure_ascii=False)


def _edit_toml(text: str, table: tuple[str, ...], key: str, literal: str | None) -> str:
    """`text` with `key = literal` set in `table` (or removed when `literal` is None); the rest untouched."""
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    section: tuple[str, ...] | None = ()
    found = None  # index of the key's line in the target table
    last_in_table = None  # index of the last non-blank line of the target table
    table_header = None
    for index, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("["):
            section = _header_path(stripped)
            if section == table:
                table_header = index
                last_in_table = index
            continue
        if section != table or not stripped:
            continue
        last_in_table = index
        name = stripped.split("=", 1)[0].strip().strip('"').strip("'")
        if "=" in stripped and name == key and found is None:
            found = index
    entry = f"{_toml_key(key)} = {literal}\n" if literal is not None else None
    if found is not None:
        lines[found : found + 1] = [entry] if entry else []
    elif entry is None:
        return "".join(lines)
    elif table == ():
        first_header = next((i for i, l in enumerate(lines) if l.strip().startswith("[")), len(lines))
        at = first_header
        while at > 0 and not lines[at - 1].strip():
            at -= 1
        lines.insert(at, entry)
    elif table_header is not None:
        lines.insert(last_in_table + 1, entry)
    else:
        if lines and lines[-1].strip():
            lines.append("\n")
        lines += [f"[{'.'.join(_toml_key(p) for p in table)}]\n", entry]
    return "".join(lines)


def _header_path(header_line: str) -> tuple[str, ...] | None:
    """The table path of a `[a."b.c"]` header line; None for array tables or what does not parse."""
    if header_line.startswith("[["):
        return None
    toml = _toml()
    try:
        node = toml.loads(header_line)
    except toml.TOMLDecodeError:
        return None
    path: list[str] = []
    while isinstance(node, dict) and len(node) == 1:
        (name, node), = node.items()
        path.append(name)
    return tuple(path)


def _write_atomically(path: Path, text: str) -> None:
    import tempfile

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".config.", suffix=".toml")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        os.replace(tmp, path)
    except OSError as err:
        raise UsageError(f"cannot write config {path}: {err}") from None
