"""Tables for listing commands: a rich table on a terminal, aligned plain columns everywhere else."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TextIO

from v4cli.render.stream import color_allowed, is_terminal


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, right: Sequence[int] = (),
                flexible: int | None = None, stream: TextIO | None = None) -> None:
    """`right`: indexes of columns aligned right (numbers); `flexible`: the column that gives way on a narrow
    terminal (the others keep their width). Plain output has no ANSI codes and no box lines,
    so `grep`/`awk`/`cut` work on it: columns are separated by at least two spaces."""
    stream = stream or sys.stdout
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    if is_terminal(stream) and color_allowed():
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text

        console = Console(file=stream, highlight=False)
        table = Table(*headers, header_style="bold", box=None, pad_edge=False)
        for index, column in enumerate(table.columns):
            column.no_wrap = True  # one row per line: on a narrow terminal only the `flexible` column is shortened
            column.overflow = "ellipsis"
            column.justify = "right" if index in right else "left"
            if index == flexible:
                others = sum(w for i, w in enumerate(widths) if i != flexible) + 2 * (len(widths) - 1)
                column.max_width = max(console.width - others, 10)
            else:
                column.min_width = widths[index]
        for row in rows:
            table.add_row(*(Text(cell) for cell in row))  # Text: no markup in user data
        console.print(table)
        return
    for row in [list(headers), *rows]:
        cells = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(row, widths))]
        stream.write("  ".join(cells).rstrip() + "\n")
