"""v4's selection on one instance, in process: which status each file got, and what it cost.

A method is "v4" (the full ranking), "bm25" (the same packer and tiered fill, ranked by BM25 alone) or
"plain" (no question at all: the question-blind fill, a floor). Timing is wall time and CPU time of this
process (all its threads) plus any children it reaped, so the numbers stay honest on a shared machine; the
cold and warm timings run the `v4` command itself (time_cli), so that they include the index's workers.
"""

from __future__ import annotations

import inspect
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from benchmarks.eval_support.metrics import count_statuses
from v4cli.context.cache import Cache
from v4cli.context.pack import pack
from v4cli.context.sources import Collection, SourceOptions, collect

V4 = Path(sys.executable).with_name("v4")  # the CLI of the venv running this benchmark
EVERYTHING = 100_000_000  # tokens: more than any repository here holds
FOLLOW_UP = "Where is this handled, and which tests cover it?"  # a second question on the same repository


@dataclass
class Timed:
    wall_s: float
    cpu_s: float


@contextmanager
def clock() -> Iterator[Timed]:
    """Wall and CPU time (user+sys of this process and of reaped children) of the block, filled in at its end."""
    timed = Timed(0.0, 0.0)
    wall, cpu = time.perf_counter(), _cpu()
    yield timed
    timed.wall_s, timed.cpu_s = time.perf_counter() - wall, _cpu() - cpu


def _cpu() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def selection_api() -> str | None:
    """How this checkout's pack() takes a question: "selection" (a Selection object), "kwargs", or None."""
    params = inspect.signature(pack).parameters
    if "selection" in params:
        return "selection"
    if "question" in params and "ranking" in params:
        return "kwargs"
    return None


def _question_kwargs(method: str, question: str) -> dict:
    if method == "plain":
        return {}
    api = selection_api()
    if api == "selection":
        from v4cli.context.pack import Selection

        return {"selection": Selection(question=question, ranking=method)}
    if api == "kwargs":
        return {"question": question, "ranking": method}
    raise SystemExit("this checkout's v4cli.context.pack.pack() takes no question yet: only --methods plain runs")


def gather(repo: Path) -> Collection:
    """The documents of the repository as `v4 pack REPO` collects them (git enumeration, default ignores)."""
    return collect([str(repo)], SourceOptions())


def select(collection: Collection, method: str, question: str, budget: int, cache: Cache) -> tuple[dict[str, str], dict]:
    """(path -> status for every candidate, summary: tokens used, files per status)."""
    result = pack(collection, budget=budget, fmt="xml", cache=cache, **_question_kwargs(method, question))
    statuses = {f.path: f.status for f in result.files}
    return statuses, {"tokens": result.tokens, "files_by_status": count_statuses(statuses)}


def time_cli(repo: Path, question: str | None, budget: int, cache_dir: Path) -> Timed:
    """One `v4 pack REPO [--question Q] --budget N --format json` in a fresh process, as a user runs it.

    A subprocess, and CPU time of its whole tree: the index parses in a forkserver's worker processes,
    which are not the command's children, so wait4 on the command alone would miss them (as it misses
    them in benchmarks/bench_index.py). This process becomes a child subreaper: the forkserver, orphaned
    when the command exits, is re-parented here, and reaping it brings in the workers it reaped.
    """
    command = [str(V4), "pack", str(repo), "--budget", str(budget), "--format", "json", "-o", os.devnull]
    if question is not None:
        command += ["--question", question]
    _become_subreaper()
    start = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env={**os.environ, "V4_CACHE_DIR": str(cache_dir)})
    seen: set[int] = set()
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        seen |= _descendants(proc.pid)
        time.sleep(0.05)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped by wait4; tell Popen
    cpu = usage.ru_utime + usage.ru_stime + sum(_reap_orphan(p) for p in seen)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(command[:3])} failed ({proc.returncode}): {proc.stderr.read().decode()[-300:]}")
    return Timed(wall, cpu)


def _become_subreaper() -> None:
    import ctypes

    pr_set_child_subreaper = 36
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_child_subreaper, 1, 0, 0, 0)


def _descendants(root: int) -> set[int]:
    """Pids below `root` now, from /proc (parent pid is the 4th field of /proc/PID/stat)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as f:
                    ppid = int(f.read().rsplit(b")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    found, stack = set(), [root]
    while stack:
        for child in children.get(stack.pop(), []):
            found.add(child)
            stack.append(child)
    return found


def _reap_orphan(pid: int, patience_s: float = 10.0) -> float:
    """CPU seconds of a descendant re-parented to us once it exits (0 if it was reaped elsewhere)."""
    deadline = time.perf_counter() + patience_s
    while True:
        try:
            done, _, usage = os.wait4(pid, os.WNOHANG)
        except ChildProcessError:
            return 0.0  # not ours: its parent reaped it and counted it (a worker, into the forkserver)
        if done:
            return usage.ru_utime + usage.ru_stime
        if time.perf_counter() > deadline:
            return 0.0
        time.sleep(0.02)


def time_cold_and_warm(repo: Path, question: str, budget: int) -> dict[str, dict]:
    """Cold (a fresh, empty cache): a plain pack (a budget everything fits: no index, no ranking, as in
    benchmarks/bench_index.py) and the pack with the question; then on that cache: the same command
    again (v4 reuses its stored context) and a follow-up question (index cached, ranking and fill redone)."""
    plain_dir, cache_dir = (Path(tempfile.mkdtemp(prefix="v4-eval-cold-")) for _ in range(2))
    try:
        return {
            "cold_plain": vars(time_cli(repo, None, EVERYTHING, plain_dir)),
            "cold_v4": vars(time_cli(repo, question, budget, cache_dir)),
            "warm_v4_same": vars(time_cli(repo, question, budget, cache_dir)),
            "warm_v4_followup": vars(time_cli(repo, FOLLOW_UP, budget, cache_dir)),
        }
    finally:
        for directory in (plain_dir, cache_dir):
            shutil.rmtree(directory, ignore_errors=True)
