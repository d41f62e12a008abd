"""`v4 ask`'s client overhead: how long from the command's start until its request reaches the server.

The server is tests/backends/fake_server.py's fake DeepSeek API on 127.0.0.1 (benchmarks/ask_support.py adds
arrival timestamps); it answers at once, so everything measured is v4's own work. The input is about 0.9M
DeepSeek V4 tokens of CPython's standard library committed as one git repository (ask_support.py), which fits
deepseek-flash's default budget whole. Each round runs, in a fresh process each:

    start       v4 --version: the cost of starting Python and v4 at all
    ask cold    v4 ask --backend deepseek --base-url URL --thinking off PATH QUESTION, V4_CACHE_DIR empty
    ask warm    the same command again, same V4_CACHE_DIR (token counts and redactions cached)
    pack warm   v4 pack PATH -o FILE, same V4_CACHE_DIR: the packing part alone, for comparison

Overhead = arrival of the POST /chat/completions headers at the server minus the moment before the process
was spawned (both time.time(), same machine); "body" is when the server had read the whole request body.
Wall and CPU (user+sys of the process tree, wait4) cover the whole run. V4_DATA_DIR (the answer log) and
V4_CONFIG point into a temporary directory; bytecode is cached in benchmarks/.data/pycache (one unmeasured
ask and pack fill it first), as an installed v4 would have it. When the warm overhead's median is above
--profile-above seconds, one more warm ask runs under cProfile: the top v4cli functions by cumulative time
and the top functions of all by own time are printed (main thread only: tokenizer worker threads show up
as time waiting on them).

    .venv/bin/python benchmarks/bench_ask.py                 # 5 rounds
    .venv/bin/python benchmarks/bench_ask.py --runs 3 --profile-above 0   # always profile

Results: a table on stdout and benchmarks/.data/results-ask.json (every run, medians, input, profile).
The machine may be shared: each run records the 1-minute load average when it started.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.ask_support import INPUT, TimedDeepSeek, prepare_input  # noqa: E402
from benchmarks.inputs import DATA  # noqa: E402

PYTHON = str(ROOT / ".venv" / "bin" / "python")
RESULTS = DATA / "results-ask.json"
PROFILES = DATA / "ask-profile"
PYCACHE = DATA / "pycache"
API_KEY = "sk-bench-ask"
QUESTION = "Where is the entry point of this code base?"
MODES = ("start", "ask cold", "ask warm", "pack warm")


def base_env(tmp: Path) -> dict[str, str]:
    """The caller's environment without any v4 or provider settings, plus the fake server's key.

    Bytecode is cached under PYCACHE, as an installed v4 has it: with PYTHONDONTWRITEBYTECODE set (some
    sandboxes set it) every run would compile v4cli from source, about 0.1 s that users never pay.
    """
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("V4_", "DEEPSEEK_", "OPENAI_")) and k not in ("PYTHONPATH", "PYTHONDONTWRITEBYTECODE")}
    return {**env, "DEEPSEEK_API_KEY": API_KEY, "V4_CONFIG": str(tmp / "config.toml"),
            "V4_DATA_DIR": str(tmp / "data"), "PYTHONPYCACHEPREFIX": str(PYCACHE), "NO_COLOR": "1"}


def run_timed(cmd: list[str], env: dict[str, str], log: Path) -> dict:
    """One command in a fresh process: start time (time.time()), wall and CPU time of the process tree."""
    load = os.getloadavg()[0]
    with open(log, "wb") as out:
        started = time.time()
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT,
                                env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        ended = time.time()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"{' '.join(cmd[2:5])} ... failed ({code}); its output:\n"
                         f"{log.read_text(errors='replace')[-2000:]}")
    return {"started": started, "wall_s": ended - started, "cpu_s": usage.ru_utime + usage.ru_stime,
            "load": load}


def ask_cmd(server: TimedDeepSeek, prefix: list[str]) -> list[str]:
    return [*prefix, "-m", "v4cli", "ask", "--backend", "deepseek", "--base-url", server.base_url,
            "--thinking", "off", str(INPUT), QUESTION]


def run_ask(server: TimedDeepSeek, env: dict[str, str], log: Path, prefix: list[str] | None = None) -> dict:
    """`v4 ask` once; exactly one chat request must arrive, and the answer must be printed."""
    seen = len(server.arrivals)
    run = run_timed(ask_cmd(server, prefix or [PYTHON]), env, log)
    server.forget_requests()
    arrivals = [a for a in server.arrivals[seen:] if a.path.endswith("/chat/completions")]
    if len(arrivals) != 1:
        raise SystemExit(f"expected one chat request, the server saw {len(arrivals)}; see {log}")
    if server.answer.text not in log.read_text(errors="replace"):
        raise SystemExit(f"v4 ask did not print the fake answer; see {log}")
    a = arrivals[0]
    return {**run, "overhead_s": a.headers_at - run["started"], "body_s": a.body_at - run["started"],
            "request_bytes": a.body_bytes}


def measure(runs: int, tmp: Path, env: dict[str, str]) -> dict[str, list[dict]]:
    results: dict[str, list[dict]] = {m: [] for m in MODES}
    logs = tmp / "logs"
    logs.mkdir()
    with TimedDeepSeek(api_key=API_KEY) as server:
        warm_up = {**env, "V4_CACHE_DIR": str(tmp / "cache-warm-up")}  # fills PYCACHE; not measured
        run_ask(server, warm_up, logs / "warm-up-ask.txt")
        run_timed([PYTHON, "-m", "v4cli", "pack", str(INPUT), "-o", str(tmp / "packed.xml")], warm_up,
                  logs / "warm-up-pack.txt")
        shutil.rmtree(tmp / "cache-warm-up")
        for r in range(runs):
            cache = tmp / f"cache-{r}"  # fresh per round: its first ask is cold, the second warm
            round_env = {**env, "V4_CACHE_DIR": str(cache)}
            rows = {
                "start": run_timed([PYTHON, "-m", "v4cli", "--version"], round_env, logs / "start.txt"),
                "ask cold": run_ask(server, round_env, logs / "ask-cold.txt"),
                "ask warm": run_ask(server, round_env, logs / "ask-warm.txt"),
                "pack warm": run_timed([PYTHON, "-m", "v4cli", "pack", str(INPUT), "-o", str(tmp / "packed.xml")],
                                       round_env, logs / "pack-warm.txt"),
            }
            for mode, row in rows.items():
                results[mode].append(row)
            print(f"  round {r + 1}/{runs}: " + ", ".join(
                f"{m} {row['overhead_s']:.2f} s to the request" if "overhead_s" in row else f"{m} {row['wall_s']:.2f} s"
                for m, row in rows.items()) + f"  (load {rows['start']['load']:.1f})", flush=True)
            shutil.rmtree(cache, ignore_errors=True)
    return results


def summarize(results: dict[str, list[dict]]) -> dict:
    """Per mode: the median of each measure the mode has, and the spread of its wall time."""
    summary = {}
    for mode, rows in results.items():
        keys = [k for k in ("overhead_s", "body_s", "wall_s", "cpu_s") if k in rows[0]]
        summary[mode] = {k: statistics.median(r[k] for r in rows) for k in keys}
        summary[mode].update(min_wall_s=min(r["wall_s"] for r in rows), max_wall_s=max(r["wall_s"] for r in rows))
    return summary


def print_table(summary: dict, info: dict, runs: int) -> None:
    print(f"\nv4 ask client overhead on {INPUT.name}: {info['files']:,} files, {info['bytes'] / 1e6:.1f} MB, "
          f"{info['tokens']:,} DeepSeek V4 tokens; medians of {runs} runs, seconds")
    print(f"{'':11} {'to request':>10} {'to body':>8} {'wall':>7} {'cpu':>7} {'wall min-max':>14}")
    for mode, s in summary.items():
        def cell(key: str, width: int) -> str:
            return f"{s[key]:{width}.2f}" if key in s else f"{'-':>{width}}"

        print(f"{mode:11} {cell('overhead_s', 10)} {cell('body_s', 8)} {cell('wall_s', 7)} {cell('cpu_s', 7)} "
              f"{s['min_wall_s']:6.2f}-{s['max_wall_s']:<6.2f}")
    warm, pack, start = summary["ask warm"], summary["pack warm"], summary["start"]
    print(f"\nask warm: {warm['overhead_s']:.2f} s to the request = start {start['wall_s']:.2f} s "
          f"+ the rest {warm['overhead_s'] - start['wall_s']:.2f} s; pack warm alone {pack['wall_s']:.2f} s "
          f"(overhead / pack = {warm['overhead_s'] / pack['wall_s']:.2f}); "
          f"cold / warm overhead = {summary['ask cold']['overhead_s'] / warm['overhead_s']:.1f}x")


def profile(tmp: Path, env: dict[str, str], top: int) -> dict:
    """One warm `v4 ask` under cProfile (after a cold one fills the cache); the top v4cli functions by
    cumulative time, main thread only."""
    PROFILES.mkdir(parents=True, exist_ok=True)
    prof = PROFILES / "ask-warm.prof"
    env = {**env, "V4_CACHE_DIR": str(tmp / "cache-profile")}
    with TimedDeepSeek(api_key=API_KEY) as server:
        run_ask(server, env, PROFILES / "ask-cold.txt")
        row = run_ask(server, env, PROFILES / "ask-warm.txt", [PYTHON, "-m", "cProfile", "-o", str(prof)])
    print(f"\nwarm v4 ask under cProfile: {row['overhead_s']:.2f} s to the request, {row['wall_s']:.2f} s wall "
          f"(profile: {prof})")
    rows = []
    for (filename, line, func), (_, calls, own, cumulative, _) in pstats.Stats(str(prof)).stats.items():
        where = os.path.relpath(filename, ROOT) if filename.startswith(str(ROOT)) else filename
        rows.append({"function": f"{where}:{line}({func})", "calls": calls, "own_s": own,
                     "cumulative_s": cumulative, "v4cli": f"{os.sep}v4cli{os.sep}" in filename})
    ours = sorted((r for r in rows if r["v4cli"]), key=lambda r: -r["cumulative_s"])[:top]
    own = sorted(rows, key=lambda r: -r["own_s"])[:top]
    for title, chosen in (("v4cli functions by cumulative time", ours), ("all functions by own time", own)):
        print(f"\n{'cumulative':>10} {'own':>7} {'calls':>8}  {title}")
        for r in chosen:
            print(f"{r['cumulative_s']:10.3f} {r['own_s']:7.3f} {r['calls']:8}  {r['function']}")
    return {"v4cli_by_cumulative": ours, "all_by_own": own}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=5, help="rounds of start, ask cold, ask warm, pack warm")
    ap.add_argument("--tokens", type=int, default=900_000, help="size of the input in DeepSeek V4 tokens")
    ap.add_argument("--profile-above", type=float, default=1.0,
                    help="profile one warm ask when the warm overhead's median is above this many seconds")
    ap.add_argument("--top", type=int, default=10, help="rows of the profile to print")
    ap.add_argument("--json", type=Path, default=RESULTS)
    args = ap.parse_args()
    if args.runs < 1:
        sys.exit("--runs must be at least 1")

    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    with tempfile.TemporaryDirectory(prefix="v4-bench-ask-") as name:
        tmp = Path(name)
        env = base_env(tmp)
        info = prepare_input(args.tokens, PYTHON, env)
        print(f"input {INPUT}: {info['files']:,} files ({info['first']} .. {info['last']}), "
              f"{info['tokens']:,} tokens; {args.runs} rounds", flush=True)
        results = measure(args.runs, tmp, env)
        summary = summarize(results)
        print_table(summary, info, args.runs)
        hotspots = None
        if summary["ask warm"]["overhead_s"] > args.profile_above:
            hotspots = profile(tmp, env, args.top)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({
        "started": started, "python": platform.python_version(), "cpus": os.cpu_count(), "input": info,
        "question": QUESTION, "summary": summary, "runs": results, "profile_warm_ask": hotspots,
    }, indent=1))
    print(f"\nresults: {args.json}")


if __name__ == "__main__":
    main()
