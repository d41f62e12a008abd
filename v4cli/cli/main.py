"""Entry point: builds the Typer app from one thin module per command and maps errors to exit codes.

Command modules import only typer and the standard library at module level; heavy parts (tokenizer,
tree-sitter, llama.cpp, numpy, httpx) are imported inside the command that needs them, so that
`v4 --help` and `v4 --version` start fast.
"""

from __future__ import annotations

import os
import sys

import typer

from v4cli import __version__
from v4cli.cli import ask, config_cmd, convert, inspect, logs, models, pack
from v4cli.errors import V4Error

app = typer.Typer(
    name="v4",
    help="Long-context codebase and document analysis with DeepSeek V4.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"v4 {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Show the version and exit."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks for errors."),
) -> None:
    if debug:
        os.environ["V4_DEBUG"] = "1"


app.command("ask")(ask.ask_command)
app.command("pack")(pack.pack_command)
app.command("models")(models.models_command)
app.command("logs")(logs.logs_command)
app.command("config", context_settings={"ignore_unknown_options": True})(config_cmd.config_command)
app.command("convert")(convert.convert_command)
app.command("inspect")(inspect.inspect_command)


def main() -> None:
    try:
        app()
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


def _report(err: V4Error) -> None:
    if os.environ.get("V4_DEBUG"):
        import traceback

        traceback.print_exception(err)
    sys.stderr.write(f"v4: error: {err.message}\n")
    if err.hint:
        sys.stderr.write(f"hint: {err.hint}\n")


if __name__ == "__main__":
    main()
