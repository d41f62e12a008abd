"""The printed tables: recall per source, budget and selector, and where the time went."""

from __future__ import annotations

from collections.abc import Sequence

from benchmarks.eval_support.metrics import Summary

SWE_BENCH_NOTE = ("reference: SWE-bench's BM25 retrieval baseline recalled on average 29.6 / 44.4 / 51.1% of gold "
                  "files at 13k / 27k / 50k tokens (Jimenez et al. 2024, on its own instances; not this set)")


def _cell(s: Summary | None) -> str:
    if s is None:
        return f"{'-':>18}"
    return f"{100 * s.recall:5.1f} {100 * s.all_gold:5.1f} {100 * s.any_gold:5.1f}"


def recall_table(rows: Sequence[tuple]) -> str:
    """rows: (source, n, budget label, method, full summary, full-or-outline summary, mean files full,
    mean files shown in any form)."""
    head = (f"{'source':<14} {'n':>3} {'budget':>6} {'method':<6} | {'full: recall all  any':>18} | "
            f"{'full|outline: rec all  any':>18} | {'files full/shown':>16}")
    lines = [head, "-" * len(head)]
    previous = None
    for source, n, budget, method, full, shown, files_full, files_shown in rows:
        key = (source, budget)
        if previous is not None and key != previous and source != previous[0]:
            lines.append("")
        label_source = f"{source:<14} {n:>3}" if key != previous else " " * 18
        label_budget = f"{budget:>6}" if key != previous else " " * 6
        files = "-" if files_shown is None else f"{files_full:.0f}/{files_shown:.0f}"
        lines.append(f"{label_source} {label_budget} {method:<6} | {_cell(full)} | {_cell(shown)} | {files:>16}")
        previous = key
    return "\n".join(lines)


def time_table(rows: Sequence[tuple[str, str, int, float, float]]) -> str:
    """rows: (source, what, n, mean wall s, mean cpu s)."""
    head = f"{'source':<14} {'what':<44} {'n':>3} {'wall s':>8} {'cpu s':>8}"
    lines = [head, "-" * len(head)]
    for source, what, n, wall, cpu in rows:
        lines.append(f"{source:<14} {what:<44} {n:>3} {wall:>8.2f} {cpu:>8.2f}")
    return "\n".join(lines)
