"""`v4 config`: show the effective settings, get or set one, or locate the TOML file. Keys are never shown."""

from __future__ import annotations

import sys
from typing import Optional

import typer

_ACTIONS = ("show", "path", "get", "set", "unset")


def config_command(
    action: Optional[str] = typer.Argument(None, help="show (default), path, get KEY, set KEY VALUE, unset KEY.",
                                           show_default=False),
    key: Optional[str] = typer.Argument(None, help="A setting (see `v4 config show`) or models.NAME.FIELD.",
                                        show_default=False),
    value: Optional[str] = typer.Argument(None, help="For set: the new value.", show_default=False),
    json_out: bool = typer.Option(False, "--json", help="show: print JSON."),
) -> None:
    """Show, get, set and locate settings. Environment variables (V4_MODEL, V4_BACKEND, ...) override the file."""
    from v4cli import config
    from v4cli.errors import UsageError

    action = action or "show"
    if action not in _ACTIONS:
        raise UsageError(f"unknown action {action!r}", hint="v4 config [show|path|get KEY|set KEY VALUE|unset KEY]")
    wants = {"show": (0, 0), "path": (0, 0), "get": (1, 0), "set": (1, 1), "unset": (1, 0)}[action]
    if (key is not None, value is not None) != tuple(map(bool, wants)):
        usage = {"show": "v4 config show", "path": "v4 config path", "get": "v4 config get KEY",
                 "set": "v4 config set KEY VALUE", "unset": "v4 config unset KEY"}[action]
        raise UsageError(f"wrong number of arguments for {action}", hint=usage)
    if key is not None and _is_key_variable(key, config):
        raise UsageError(f"{key} holds a key: v4 never reads it out or stores it",
                         hint=f"set it in the environment: export {key}=...")

    if action == "path":
        typer.echo(str(config.config_path()))
    elif action == "show":
        _show(config, json_out)
    elif action == "get":
        _get(config, key)
    elif action == "set":
        path = config.write_setting(key, value)
        sys.stderr.write(f"{key} set in {path}\n")
        _warn_if_overridden(config, key)
    else:
        path = config.write_setting(key, None)
        sys.stderr.write(f"{key} removed from {path}\n")
        _warn_if_overridden(config, key)


def _show(config, json_out: bool) -> None:
    loaded = config.load_config()
    settings = config.effective_settings(loaded)
    keys = config.key_variables(loaded)
    path = config.config_path()
    own_models = sorted((loaded.get("models") or {}).keys())
    if json_out:
        import json

        typer.echo(json.dumps({
            "config_path": str(path),
            "config_exists": path.exists(),
            "settings": {k: {"value": v, "source": source} for k, (v, source) in settings.items()},
            "keys": {name: ("set" if present else "not set") for name, present in keys.items()},
            "models_in_config": own_models,
        }, indent=2))
        return
    from v4cli.render.table import print_table

    rows = [[k, "" if v is None else str(v), source] for k, (v, source) in settings.items()]
    rows += [[name, "set" if present else "not set", "env"] for name, present in keys.items()]
    print_table(["setting", "value", "from"], rows, flexible=1)
    sys.stderr.write(f"config file: {path}" + ("" if path.exists() else " (not created yet)") + "\n")
    if own_models:
        sys.stderr.write("models defined in the config file: " + ", ".join(own_models) + "\n")


def _get(config, key: str) -> None:
    from v4cli.errors import UsageError

    if key in config.SETTINGS:
        value = config.setting(key)
    else:
        node = config.load_config()
        for part in _model_key_path(key):
            node = node.get(part) if isinstance(node, dict) else None
        value = node
    if value is None:
        raise UsageError(f"{key} is not set", hint=f"v4 config set {key} VALUE")
    typer.echo(str(value))


def _model_key_path(key: str) -> list[str]:
    """models.NAME.FIELD or models.NAME.prices.FIELD as a path into the config; NAME may contain dots."""
    from v4cli.errors import UsageError

    if not key.startswith("models."):
        raise UsageError(f"unknown setting {key!r}", hint="see `v4 config show`")
    name, _, field = key[len("models."):].rpartition(".")
    if name.endswith(".prices"):
        return ["models", name[: -len(".prices")], "prices", field]
    return ["models", name, field]


def _is_key_variable(key: str, config) -> bool:
    return key.upper() in {config.DEEPSEEK_KEY_ENV, "API_KEY", "KEY"} or key.upper().endswith("_API_KEY")


def _warn_if_overridden(config, key: str) -> None:
    import os

    setting = config.SETTINGS.get(key)
    if setting is not None and os.environ.get(setting.env):
        sys.stderr.write(f"note: {setting.env} is set in the environment and overrides the file\n")
