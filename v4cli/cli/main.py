"""Entry point: builds the Typer app from one thin module per command and maps errors to exit codes.

Command modules import only typer and the standard library at module level; heavy parts (tokenizer,
tree-sitter, llama.cpp, numpy, httpx) are imported inside the command that needs them, so that
`v4 --help` and `v4 --version` start fast.
"""

from __future__ import annotations

import gc
import importlib
import os
import sys

import typer

from v4cli import __version__
from v4cli.cli import plain_params
from v4cli.errors import V4Error

plain_params.install()  # typer's pydantic-based coercion would cost more than a warm `v4 pack` itself

# name -> (module in v4cli.cli, function, settings), in the order `v4 --help` lists them
COMMANDS = {
    "ask": ("ask", "ask_command", {}),
    "pack": ("pack", "pack_command", {}),
    "models": ("models", "models_command", {}),
    "logs": ("logs", "logs_command", {}),
    "config": ("config_cmd", "config_command", {"context_settings": {"ignore_unknown_options": True}}),
    "convert": ("convert", "convert_command", {}),
    "inspect": ("inspect", "inspect_command", {}),
}


def _version(value: bool) -> None:
    if value:
        typer.echo(f"v4 {__version__}")
        raise typer.Exit()


def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version and exit."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks for errors."),
) -> None:
    if debug:
        os.environ["V4_DEBUG"] = "1"


def build_app(names=tuple(COMMANDS)) -> typer.Typer:
    """The Typer app with the named commands (all by default)."""
    app = typer.Typer(
        name="v4",
        help="Long-context codebase and document analysis with DeepSeek V4.",
        no_args_is_help=True,
        add_completion=True,
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    app.callback()(_root)
    for name in names:
        module, function, settings = COMMANDS[name]
        app.command(name, **settings)(getattr(importlib.import_module(f"v4cli.cli.{module}"), function))
    return app


def commands_needed(args: list[str]) -> tuple[str, ...]:
    """Only the command being run: building each command costs its imports and typer's inspection of it.
    Help, completion, version and anything unrecognised get them all (and typer's suggestions)."""
    if any(key.startswith("_") and key.endswith("_COMPLETE") for key in os.environ):
        return tuple(COMMANDS)
    for arg in args:
        if arg == "--debug":
            continue
        return (arg,) if arg in COMMANDS else tuple(COMMANDS)
    return tuple(COMMANDS)


def main() -> None:
    try:
        build_app(commands_needed(sys.argv[1:]))()
    except V4Error as err:
        _report(err)
        sys.exit(err.exit_code)
    except KeyboardInterrupt:
        sys.stderr.write("v4: interrupted\n")
        sys.exit(130)
    except BrokenPipeError:
        # The reader went away (`v4 pack | head`): not an error worth a traceback.
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
        finally:
            sys.exit(1)
    finally:
        # The process is about to exit: its last cyclic collection would walk every object still alive (~30 ms
        # after packing a large repository, a tenth of a warm run) only to free memory the exit frees anyway.
        gc.freeze()


def _report(err: V4Error) -> None:
    if os.environ.get("V4_DEBUG"):
        import traceback

        traceback.print_exception(err)
    sys.stderr.write(f"v4: error: {err.message}\n")
    if err.hint:
        sys.stderr.write(f"hint: {err.hint}\n")


if __name__ == "__main__":
    main()
