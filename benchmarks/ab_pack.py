"""`v4 pack` of two revisions of v4 against each other, interleaved, cold: is a change faster?

This machine's speed drifts by 20-30% within minutes, more than most changes gain. Rounds alternate the two
revisions (the first one swapping each round), so that both see the same drift, and the verdict is the median
of each round's own ratio (B / A), for wall and CPU time, with its spread.

Each revision's `v4cli` is taken with `git archive` into a temporary directory and run as
`python -P -m v4cli pack INPUT --budget 100m -o OUT` with PYTHONPATH pointing there, from a neutral working
directory: with plain `-m`, Python puts the working directory first on sys.path, and a run from the checkout
would import the checkout's v4cli whatever PYTHONPATH says. Each run gets a fresh empty V4_CACHE_DIR.

    .venv/bin/python benchmarks/ab_pack.py HEAD~1 HEAD                      # medium, 24 rounds
    .venv/bin/python benchmarks/ab_pack.py main WORKTREE --input large --rounds 12

WORKTREE stands for the checkout's files as they are now, committed or not.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_pack import run_measured  # noqa: E402
from benchmarks.inputs import prepare  # noqa: E402

WORKTREE = "WORKTREE"


def export(revision: str, into: Path) -> None:
    """v4cli of `revision` (or of the working tree) under `into`."""
    into.mkdir(parents=True)
    if revision == WORKTREE:
        shutil.copytree(ROOT / "v4cli", into / "v4cli", ignore=shutil.ignore_patterns("__pycache__"))
        return
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision, "v4cli"], capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("a", help="the baseline revision")
    parser.add_argument("b", help=f"the revision measured against it ({WORKTREE}: the working tree)")
    parser.add_argument("--input", default="medium", help="an input of benchmarks/inputs.py (default: medium)")
    parser.add_argument("--rounds", type=int, default=24)
    args = parser.parse_args()
    src = prepare(args.input)
    with tempfile.TemporaryDirectory(prefix="v4-ab-") as tmp:
        work = Path(tmp)
        for name, revision in (("a", args.a), ("b", args.b)):
            export(revision, work / name)
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}  # compiled once, like users
        runs: dict[str, list[tuple[float, float]]] = {"a": [], "b": []}
        for round_ in range(args.rounds):
            for name in ("a", "b") if round_ % 2 == 0 else ("b", "a"):
                cache = Path(tempfile.mkdtemp(prefix="cache-", dir=work))
                cmd = [sys.executable, "-P", "-m", "v4cli", "pack", str(src), "--budget", "100m",
                       "-o", str(work / f"out-{name}.xml")]
                measure = run_measured(cmd, work / f"log-{name}.txt", cwd=work,
                                       env={**env, "PYTHONPATH": str(work / name), "V4_CACHE_DIR": str(cache)})
                shutil.rmtree(cache)
                if measure.returncode != 0:
                    raise SystemExit(f"{name} failed; see its log:\n" + (work / f"log-{name}.txt").read_text())
                runs[name].append((measure.wall_s, measure.cpu_s))
            (wall_a, cpu_a), (wall_b, cpu_b) = runs["a"][-1], runs["b"][-1]
            print(f"round {round_ + 1:>2}: a {wall_a:5.2f} s ({cpu_a:5.2f} cpu)   b {wall_b:5.2f} s ({cpu_b:5.2f} cpu)"
                  f"   b/a {wall_b / wall_a:.3f}", flush=True)
        same = (work / "out-a.xml").read_bytes() == (work / "out-b.xml").read_bytes()
    walls = [b[0] / a[0] for a, b in zip(runs["a"], runs["b"])]
    cpus = [b[1] / a[1] for a, b in zip(runs["a"], runs["b"])]
    print(f"\n{args.input}, {args.rounds} rounds: a = {args.a}, b = {args.b}; outputs {'identical' if same else 'DIFFER'}")
    for name in ("a", "b"):
        print(f"  {name}: median wall {statistics.median(w for w, _ in runs[name]):.2f} s, "
              f"CPU {statistics.median(c for _, c in runs[name]):.2f} s")
    print(f"  b / a per round: wall {statistics.median(walls):.3f} (quartiles {_quartiles(walls)}), "
          f"CPU {statistics.median(cpus):.3f} (quartiles {_quartiles(cpus)})")


def _quartiles(values: list[float]) -> str:
    if len(values) < 4:
        return "-"
    low, _, high = statistics.quantiles(values, n=4)
    return f"{low:.3f}..{high:.3f}"


if __name__ == "__main__":
    main()
