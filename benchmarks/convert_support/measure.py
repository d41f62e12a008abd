"""Run one command in a fresh process and measure its wall time and peak resident memory."""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class RunResult:
    label: str
    wall_s: float
    peak_rss_mb: float  # the process and the children it waited for (ru_maxrss of wait4)
    returncode: int
    log: Path


def run_measured(label: str, cmd: list[str], log: Path, *, cwd: Path | None = None, env: dict | None = None) -> RunResult:
    """wait4() gives the rusage of this child alone, so several runs in one benchmark do not mix."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=cwd, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped by wait4; tell Popen
    return RunResult(label, wall, usage.ru_maxrss / 1024, proc.returncode, log)


def log_tail(log: Path, lines: int = 15) -> str:
    text = log.read_text(errors="replace").splitlines()
    return "\n".join(text[-lines:])
