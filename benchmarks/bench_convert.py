"""`v4 convert` against llama.cpp's own converter: same output, how much faster, how much less memory.

Both converters turn the same random V4 checkpoints (made by tests/quant/tiny_v4.py) into GGUF, interleaved
in one run, each run in a fresh process:
- tiny-flash, tiny-pro: the two tiny variants (parity; timings there are mostly interpreter start-up);
- tiny-mtp: the flash checkpoint with `--mtp`, comparing our `mtp-OUT` sidecar with upstream's draft file;
- large: a several-GB checkpoint (`--large-gb`, default 4), where speed and memory are measured.
The outputs must be identical (metadata keys, types and values, tensor names, shapes, types and bytes)
apart from the documented differences (general.* naming keys, chat template, tensor order; see
convert_support/gguf_diff.py). Targets for ours: >= 2x faster, <= 1/4 of upstream's peak RSS.

Setup, once (a separate venv with CPU torch; torch is never a v4 dependency):
    benchmarks/setup_upstream.sh          # or: python benchmarks/bench_convert.py --setup

Run from the repository root with the project venv:
    .venv/bin/python benchmarks/bench_convert.py                  # tiny cases + 4 GB checkpoint
    .venv/bin/python benchmarks/bench_convert.py --large-gb 8 --repeat 2
    .venv/bin/python benchmarks/bench_convert.py --check-only     # tiny parity only; exit 1 on mismatch

Exit status 1 when any output differs. Generated checkpoints live in benchmarks/.data/ (the large one is
reused between runs), outputs and logs in benchmarks/.work/ (both gitignored).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.convert_support.gguf_diff import Diff, compare_gguf  # noqa: E402
from benchmarks.convert_support.measure import RunResult, log_tail, run_measured  # noqa: E402
from tests.quant.tiny_v4 import large_config, make_large_checkpoint, make_tiny_checkpoint  # noqa: E402

DATA = ROOT / "benchmarks" / ".data"
WORK = ROOT / "benchmarks" / ".work"
SETUP = ROOT / "benchmarks" / "setup_upstream.sh"
UPSTREAM_VENV = Path(os.environ.get("V4_UPSTREAM_VENV", ROOT / ".venv-upstream"))
UPSTREAM_SCRIPT = WORK / "llama_cpp_python-0.3.36" / "vendor" / "llama.cpp" / "convert_hf_to_gguf.py"


@dataclass
class Case:
    name: str
    make: Callable[[], Path]
    mtp: bool = False  # compare the MTP draft files instead of the main model
    timed: bool = False  # report speed and memory


def upstream_command(src: Path, out: Path, mtp: bool) -> list[str]:
    python = UPSTREAM_VENV / "bin" / "python"
    if not python.exists() or not UPSTREAM_SCRIPT.exists():
        sys.exit(f"upstream converter not set up; run {SETUP.relative_to(ROOT)} (or pass --setup)")
    return [str(python), str(UPSTREAM_SCRIPT), str(src), "--outfile", str(out), *(["--mtp"] if mtp else [])]


def ours_command(src: Path, out: Path, mtp: bool) -> list[str]:
    return [sys.executable, "-m", "v4cli", "convert", str(src), "-o", str(out), *(["--mtp"] if mtp else [])]


def tiny_checkpoint(variant: str) -> Path:
    # regenerated every run (under a second); the directory name becomes upstream's general.name
    return make_tiny_checkpoint(DATA / f"tiny-{variant}", variant=variant)


def large_checkpoint(target_gb: float) -> Path:
    """Reused when its config matches, since writing several GB takes a while."""
    path = DATA / f"large-{target_gb:g}gb"
    config_file = path / "config.json"
    if config_file.exists() and json.loads(config_file.read_text()) == large_config(target_gb):
        return path
    shutil.rmtree(path, ignore_errors=True)
    print(f"generating {path.relative_to(ROOT)} ...", file=sys.stderr, flush=True)
    return make_large_checkpoint(path, target_gb=target_gb)


def convert_both(case: Case, src: Path, repeat: int) -> tuple[dict[str, list[RunResult]], Path, Path]:
    """Upstream and ours alternately (A B B A ...), so drift on a shared machine hits both alike.

    Returns the runs per tool and the two files to compare (ours, upstream)."""
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE", "PYTHONPATH": str(ROOT)}
    out_up, out_ours = WORK / "out" / f"{case.name}-upstream.gguf", WORK / "out" / f"{case.name}-ours.gguf"
    compared_ours = out_ours.with_name(f"mtp-{out_ours.name}") if case.mtp else out_ours
    out_up.parent.mkdir(parents=True, exist_ok=True)
    runs: dict[str, list[RunResult]] = {"upstream": [], "ours": []}
    for rep in range(repeat):
        for tool in (["upstream", "ours"] if rep % 2 == 0 else ["ours", "upstream"]):
            out = out_up if tool == "upstream" else out_ours
            for stale in (out_up,) if tool == "upstream" else (out_ours, compared_ours):
                stale.unlink(missing_ok=True)
            command = upstream_command if tool == "upstream" else ours_command
            log = WORK / "logs" / f"{case.name}-{tool}-{rep}.log"
            result = run_measured(tool, command(src, out, case.mtp), log, cwd=ROOT, env=env)
            print(f"  {case.name:10} {tool:8} run {rep + 1}: {result.wall_s:7.2f} s {result.peak_rss_mb:7.0f} MB"
                  f"  rc={result.returncode}", file=sys.stderr, flush=True)
            if result.returncode != 0:
                sys.exit(f"{tool} converter failed on {case.name} (log {result.log}):\n{log_tail(result.log)}")
            runs[tool].append(result)
    return runs, compared_ours, out_up


def report_diff(name: str, diff: Diff) -> None:
    for line in diff.allowed:
        print(f"  allowed  {line}")
    for line in diff.notes:
        print(f"  note     {line}")
    for line in diff.mismatches:
        print(f"  MISMATCH {line}")
    verdict = "identical (up to the allowed differences)" if diff.ok else f"{len(diff.mismatches)} mismatch(es)"
    print(f"{name}: {verdict}", flush=True)


def report_speed(name: str, runs: dict[str, list[RunResult]]) -> None:
    up, ours = runs["upstream"], runs["ours"]
    t_up, t_ours = min(r.wall_s for r in up), min(r.wall_s for r in ours)
    m_up, m_ours = max(r.peak_rss_mb for r in up), max(r.peak_rss_mb for r in ours)
    print(f"{name:10} upstream {t_up:8.2f} s {m_up:7.0f} MB | ours {t_ours:8.2f} s {m_ours:7.0f} MB | "
          f"speed-up {t_up / t_ours:5.2f}x (target >= 2) | memory {m_ours / m_up:5.2f} of upstream (target <= 0.25)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--setup", action="store_true", help="run setup_upstream.sh first")
    parser.add_argument("--check-only", action="store_true", help="tiny parity cases only; exit 1 on mismatch")
    parser.add_argument("--large-gb", type=float, default=4.0, help="size of the large checkpoint (default 4)")
    parser.add_argument("--skip-large", action="store_true", help="only the tiny cases")
    parser.add_argument("--repeat", type=int, default=1, help="runs per converter for timed cases (default 1)")
    parser.add_argument("--keep", action="store_true", help="keep the converted GGUF files")
    args = parser.parse_args()
    if args.setup:
        subprocess.run(["bash", str(SETUP)], check=True)

    cases = [
        Case("tiny-flash", lambda: tiny_checkpoint("flash"), timed=True),
        Case("tiny-pro", lambda: tiny_checkpoint("pro")),
        Case("tiny-mtp", lambda: tiny_checkpoint("flash"), mtp=True),
    ]
    if not (args.check_only or args.skip_large):
        cases.append(Case("large", lambda: large_checkpoint(args.large_gb), timed=True))
    failed = False
    timed: list[tuple[str, dict[str, list[RunResult]]]] = []
    for case in cases:
        repeat = max(1, args.repeat) if case.timed and not args.check_only else 1
        runs, ours, upstream = convert_both(case, case.make(), repeat)
        diff = compare_gguf(ours, upstream)
        report_diff(case.name, diff)
        failed |= not diff.ok
        if case.timed:
            timed.append((case.name, runs))
        if not args.keep:
            for path in ours.parent.glob(f"*{case.name}-*.gguf"):
                path.unlink()
    if not args.check_only:
        print("\nwall time (best of runs) and peak RSS (max of runs), one fresh process per run:")
        for name, runs in timed:
            report_speed(name, runs)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
