"""`v4 logs`: list past exchanges, show one, or locate the log."""

from __future__ import annotations

import sys
from typing import Optional

import typer


def logs_command(
    action: Optional[str] = typer.Argument(None, help="list (default), show, or path.", show_default=False),
    exchange: Optional[str] = typer.Argument(None, help="For show: an exchange id (or its start), or last.",
                                             show_default=False),
    limit: int = typer.Option(20, "--limit", "-n", min=1, help="How many exchanges to list."),
    reasoning: bool = typer.Option(False, "--reasoning", "-r", help="show: include the reasoning."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON instead of text."),
) -> None:
    """List past questions and answers (`v4 logs`), print one (`v4 logs show ID|last`), or locate the log."""
    from v4cli.errors import UsageError
    from v4cli.logs import ExchangeLog

    action = action or "list"
    if action not in ("list", "show", "path"):
        raise UsageError(f"unknown action {action!r}", hint="v4 logs [list|show ID|last|path]")
    if exchange is not None and action != "show":
        raise UsageError(f"{action} takes no exchange id", hint="v4 logs show ID")
    with ExchangeLog() as log:
        if action == "path":
            typer.echo(str(log.path))
        elif action == "list":
            _list(log.list(limit), json_out)
        else:
            _show(log.get(exchange or "last"), reasoning, json_out)


def _list(exchanges: list, json_out: bool) -> None:
    if json_out:
        import json

        typer.echo(json.dumps([_summary(x) for x in exchanges], indent=2, ensure_ascii=False))
        return
    if not exchanges:
        sys.stderr.write("the log is empty: answers from `v4 ask` are recorded here\n")
        return
    from v4cli.cost import format_usd
    from v4cli.render.table import print_table

    rows = []
    for x in exchanges:
        rows.append([
            x.id,
            x.created.replace("T", " ")[:16],
            x.model,
            _head(x.question, 48) + ("" if x.status == "ok" else f" [{x.status}]"),
            f"{x.usage.get('input_tokens', 0):,}",
            f"{x.usage.get('output_tokens', 0):,}",
            format_usd(x.cost) if x.cost is not None else "-",
        ])
    print_table(["id", "time (UTC)", "model", "question", "in", "out", "cost"], rows, right=(4, 5, 6), flexible=3)


def _show(x, reasoning: bool, json_out: bool) -> None:
    if json_out:
        import json

        fields = x.to_json()
        fields.pop("messages")
        if not reasoning:
            fields.pop("reasoning")
        typer.echo(json.dumps(fields, indent=2, ensure_ascii=False))
        return
    from v4cli.backends.base import ReasoningDelta, TextDelta
    from v4cli.render.stream import AnswerRenderer

    turn = f" · turn {x.turn} of conversation {x.conversation_id}" if x.turn > 1 else ""
    when = x.created.replace("T", " ").replace("+00:00", " UTC")
    sys.stderr.write(f"{x.id} · {when} · {x.model} via {x.backend} · {x.status}{turn}\n")
    sys.stdout.write(f"Q: {x.question}\n\n")
    sys.stdout.flush()
    renderer = AnswerRenderer(show_reasoning=reasoning)
    if reasoning and x.reasoning:
        if renderer.markdown:
            renderer.feed(ReasoningDelta(x.reasoning))
        else:  # asked for explicitly, so it belongs in the output, marked off from the answer
            sys.stdout.write(f"Reasoning:\n{x.reasoning.rstrip()}\n\nAnswer:\n")
            sys.stdout.flush()
    renderer.feed(TextDelta(x.answer))
    renderer.close()


def _head(text: str, width: int) -> str:
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"


def _summary(x) -> dict:
    return {"id": x.id, "conversation_id": x.conversation_id, "turn": x.turn, "created": x.created, "model": x.model,
            "backend": x.backend, "question": x.question, "usage": x.usage, "cost": x.cost, "status": x.status}
