"""What question-aware selection costs on top of a plain pack: the index (cold), then ranking alone (warm).

Per input (benchmarks/inputs.py; `large` is a 12k-file repository), interleaved over rounds, each in a fresh
cache directory:

    plain        v4 pack -b 100m                     everything fits: nothing is indexed or ranked
    index-cold   v4 pack -b 128k -q Q1               cold cache: counts, secret scan, index, ranking
    ranked-warm  v4 pack -b 128k -q Q2   (same dir)  counts and index cached; a new question: ranking only

and prints the ratios index-cold / plain ("indexing costs a small multiple of a plain pack", issue 3) and
ranked-warm / plain. Wall time is the measure to read on a quiet machine: the index parses in worker processes
started by a forkserver, whose CPU time the parent's rusage does not see, so the CPU column undercounts
index-cold.

    .venv/bin/python benchmarks/bench_index.py                      # medium and large, 2 rounds
    .venv/bin/python benchmarks/bench_index.py --inputs large --rounds 3
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_pack import run_measured  # noqa: E402
from benchmarks.inputs import DATA, prepare  # noqa: E402

V4 = [sys.executable, "-m", "v4cli", "pack"]
QUESTIONS = (
    "Where are database transactions committed and rolled back with savepoints?",
    "How does the template engine resolve a variable lookup with dots?",
)
MODES = ("plain", "index-cold", "ranked-warm")


def run_round(src: Path, logs: Path) -> dict[str, tuple[float, float, float]]:
    """One round of the three modes: mode -> (wall s, cpu s, peak MB)."""
    cache = Path(tempfile.mkdtemp(prefix="v4-bench-index-"))
    plain_cache = Path(tempfile.mkdtemp(prefix="v4-bench-index-plain-"))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed v4 has bytecode
    runs = {
        "plain": (V4 + [".", "-b", "100m", "-o", str(logs / "plain.xml")], plain_cache),
        "index-cold": (V4 + [".", "-b", "128k", "-q", QUESTIONS[0], "-o", str(logs / "cold.xml")], cache),
        "ranked-warm": (V4 + [".", "-b", "128k", "-q", QUESTIONS[1], "-o", str(logs / "warm.xml")], cache),
    }
    out = {}
    try:
        for mode, (cmd, directory) in runs.items():
            m = run_measured(cmd, logs / f"{mode}.log", env={**env, "V4_CACHE_DIR": str(directory)}, cwd=src)
            if m.returncode != 0:
                raise SystemExit(f"{mode} failed (exit {m.returncode}); see {logs / f'{mode}.log'}")
            out[mode] = (m.wall_s, m.cpu_s, m.peak_rss_mb)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
        shutil.rmtree(plain_cache, ignore_errors=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", default="medium,large")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    print(f"{'input':<8} {'mode':<12} {'wall s':>8} {'cpu s':>8} {'peak MB':>8} {'wall / plain':>13}")
    for name in args.inputs.split(","):
        src = prepare(name)
        logs = DATA / "runs" / f"index-{name}"
        logs.mkdir(parents=True, exist_ok=True)
        rounds = [run_round(src, logs) for _ in range(args.rounds)]
        median = {mode: [statistics.median(r[mode][k] for r in rounds) for k in range(3)] for mode in MODES}
        for mode in MODES:
            wall, cpu, peak = median[mode]
            print(f"{name:<8} {mode:<12} {wall:>8.2f} {cpu:>8.2f} {peak:>8.0f} {wall / median['plain'][0]:>13.2f}")
    print(f"(medians of {args.rounds} rounds; 1-minute load at the end: {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
