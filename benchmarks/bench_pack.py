"""`v4 pack` side by side with the anchors: repomix, gitingest and files-to-prompt, in one run.

Every tool packs the whole tree of the same pinned inputs (benchmarks/inputs.py) into a file. Tools are
interleaved round-robin (the starting tool rotates each round) and each runs cold then warm:

    v4               cold: V4_CACHE_DIR is a fresh empty dir; warm: the same dir again
    repomix          cold: REPOMIX_TOKEN_CACHE_PATH is a fresh path; warm: the same path (its token cache)
    gitingest, f2p   no cache: warm is simply the second run (files in the OS page cache)

"Cold" means cold tool caches, not a cold OS page cache (dropping that would disturb everyone else on the
machine). Per run we measure wall time, user+sys CPU time of the process tree (wait4 rusage: repomix runs
worker threads on all cores, so wall time alone flatters it on a many-core box) and peak RSS of the tree
(the sum over live processes, sampled from /proc every 50 ms, and never below one process's own VmHWM). Each
tool's own claims (files, tokens) are parsed from its output and log, and the sets of packed paths are
compared with v4's, so the reader can tell whether the comparison is like for like.

Targets (the issue): on medium and large, v4 cold wall <= 1/3 of repomix's, warm <= 1/10, peak RSS below.

    .venv/bin/python benchmarks/bench_pack.py --setup                  # install the anchors, prepare inputs
    .venv/bin/python benchmarks/bench_pack.py                          # small, medium, medium-nogit, large; 3 rounds
    .venv/bin/python benchmarks/bench_pack.py --inputs medium --rounds 5 --tools v4,repomix
    .venv/bin/python benchmarks/bench_pack.py --inputs medium --repomix-nosec   # adds repomix --no-security-check
    .venv/bin/python benchmarks/bench_pack.py --inputs large --v4-all   # adds v4 without its ignore list
    .venv/bin/python benchmarks/bench_pack.py --profile medium         # cProfile of v4 pack, cold and warm

Results: a table on stdout and benchmarks/.data/results-pack.json; outputs and logs of the last run of each
tool under benchmarks/.data/runs/.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.inputs import DATA, INPUTS, describe, prepare  # noqa: E402

ANCHORS = ROOT / ".anchors"
INSTALLER = ROOT.parent / "shared" / "tools" / "install-anchors.sh"
RUNS = DATA / "runs"
RESULTS = DATA / "results-pack.json"
V4_BUDGET = "100m"  # far above any input: nothing is fitted away, the whole tree is packed
V4_EXTRA: list[str] = []  # --v4-extra: more options for v4 pack (e.g. --no-redact, --max-file-size 0)
PAGE = os.sysconf("SC_PAGE_SIZE")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
TARGETS = {"cold_wall": 1 / 3, "warm_wall": 1 / 10, "peak_rss": 1.0}  # v4 / repomix, medium and large


# ---------------------------------------------------------------------------------------------- measuring


@dataclass
class Measure:
    wall_s: float
    cpu_s: float  # user + sys of the process and every descendant it reaped
    peak_rss_mb: float  # the process tree
    returncode: int
    load_before: float  # 1-minute load average when the run started: how busy the shared machine was


def _tree_rss(pid: int, hwm: dict[int, int]) -> int:
    """Current RSS summed over the process tree; records each process's own peak (VmHWM) in `hwm`."""
    total, stack, seen = 0, [pid], set()
    while stack:
        p = stack.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        hwm[p] = max(hwm.get(p, 0), int(line.split()[1]) * 1024)
                    elif line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
            for tid in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{tid}/children") as f:
                    stack.extend(int(c) for c in f.read().split())
        except (OSError, ValueError):
            pass  # the process ended between two reads
    return total


def run_measured(cmd: list[str], log: Path, *, env: dict[str, str], cwd: Path) -> Measure:
    """One command in a fresh process; wait4 gives the CPU time of this child and what it reaped.

    Peak memory comes from /proc, not from wait4's ru_maxrss: Linux carries the parent's high-water mark
    into a child across fork and exec, so ru_maxrss reports the benchmark's own size for any tool smaller.
    """
    load = os.getloadavg()[0]
    peak, hwm = [0], {}
    with open(log, "wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=cwd, env=env)
        done = threading.Event()

        def sample() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], _tree_rss(proc.pid, hwm))
                done.wait(0.05)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        done.set()
        sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    peak_mb = max([peak[0], *hwm.values()]) / 2**20  # a short spike of one process between two samples
    return Measure(wall, usage.ru_utime + usage.ru_stime, peak_mb, proc.returncode, load)


# ---------------------------------------------------------------------------------------------- the tools


@dataclass
class Claims:
    """What a tool says it packed: its own file and token counts, and the paths found in its output."""

    files: int | None = None
    tokens: int | None = None
    tokenizer: str = ""
    paths: set[str] = field(default_factory=set)
    left_out: dict[str, int] = field(default_factory=dict)  # v4's coverage footer: reason -> count


def _relative(paths: list[str], src: Path) -> set[str]:
    prefix = str(src).rstrip("/") + "/"
    return {p[len(prefix):] if p.startswith(prefix) else p for p in paths}


def _number(text: str, pattern: str) -> int | None:
    m = re.search(pattern, text)
    if not m:
        return None
    value = m.group(1).replace(",", "")
    scale = {"k": 1e3, "M": 1e6}.get(value[-1], 1)
    return int(float(value.rstrip("kM")) * scale)


class Tool:
    name = ""
    ext = "txt"

    def command(self, src: Path, out: Path) -> list[str]:
        raise NotImplementedError

    def env(self, cache: Path) -> dict[str, str]:
        return dict(os.environ)

    def claims(self, src: Path, out: Path, log: str) -> Claims:
        raise NotImplementedError


class V4(Tool):
    name, ext = "v4", "xml"
    flags: tuple[str, ...] = ()

    def command(self, src: Path, out: Path) -> list[str]:
        return [sys.executable, "-m", "v4cli", "pack", str(src), "--budget", V4_BUDGET, "-o", str(out),
                *self.flags, *V4_EXTRA]

    def env(self, cache: Path) -> dict[str, str]:
        return {**os.environ, "V4_CACHE_DIR": str(cache), "PYTHONPATH": str(ROOT)}

    def claims(self, src: Path, out: Path, log: str) -> Claims:
        text = out.read_text(errors="replace")
        files = re.findall(r'^<file path="([^"]*)" tokens="(\d+)"', text, re.M)
        c = Claims(len(files), sum(int(t) for _, t in files), "deepseek-v4")
        c.paths = _relative([html.unescape(p) for p, _ in files], src)
        cov = text[text.rfind("<coverage>"):] if "<coverage>" in text else ""
        for line in cov.splitlines()[1:-1]:
            reason, _, rest = line.partition(": ")
            if reason in ("included", "truncated", "redacted") or not rest:
                continue
            more = re.match(r"\.\.\. and (\d+) more", rest)
            c.left_out[reason] = c.left_out.get(reason, 0) + (int(more.group(1)) if more else 1)
        c.left_out["redacted"] = len(re.findall(r"^redacted: ", cov, re.M))
        return c


class V4All(V4):
    """v4 packing at least what repomix packs: no built-in ignore list, repomix's 50 MB size limit."""

    name, flags = "v4-all", ("--no-default-ignores", "--max-file-size", "50MB")


class V4Installed(V4):
    """v4 on a repository it has never packed, on an installation that has run once before: the cold cache holds
    the tokenizer's prepared vocabulary (built once per installation, like the BPE tables repomix's package
    ships), and no file's count. Plain `v4` cold starts from an empty cache directory, vocabulary included."""

    name = "v4-installed"

    def env(self, cache: Path) -> dict[str, str]:
        if not any(cache.glob("tokenizer-*.bin")):
            for prepared in _prepared_vocabulary().glob("tokenizer-*.bin"):
                shutil.copy(prepared, cache)
        return super().env(cache)


def _prepared_vocabulary() -> Path:
    """A cache directory holding only the prepared vocabulary, made once per benchmark run."""
    folder = RUNS / "_vocabulary"
    if not any(folder.glob("tokenizer-*.bin")):
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        subprocess.run([sys.executable, "-c", "import sys; from pathlib import Path; from v4cli.context.tokens "
                        "import load_tokenizer; load_tokenizer(cache_dir=Path(sys.argv[1]))", str(folder)],
                       check=True, env=env)
    return folder


class Repomix(Tool):
    name, ext = "repomix", "xml"
    flags: tuple[str, ...] = ()

    def command(self, src: Path, out: Path) -> list[str]:
        # an absolute path: a relative 'owner/repo'-looking one makes repomix try GitHub
        return [str(ANCHORS / "bin" / "repomix"), str(src.resolve()), "-o", str(out), *self.flags]

    def env(self, cache: Path) -> dict[str, str]:
        return {**os.environ, "REPOMIX_TOKEN_CACHE_PATH": str(cache / "token-counts.json")}

    def claims(self, src: Path, out: Path, log: str) -> Claims:
        log = ANSI.sub("", log)
        c = Claims(_number(log, r"Total Files:\s*([\d,]+)"), _number(log, r"Total Tokens:\s*([\d,]+)"), "o200k_base")
        paths = re.findall(r'^<file path="([^"]*)">', out.read_text(errors="replace"), re.M)
        c.paths = _relative([html.unescape(p) for p in paths], src)
        return c


class RepomixNoSecurity(Repomix):
    name, flags = "repomix-nosec", ("--no-security-check",)


class Gitingest(Tool):
    name = "gitingest"

    def command(self, src: Path, out: Path) -> list[str]:
        return [str(ANCHORS / "bin" / "gitingest"), str(src), "-o", str(out)]

    def claims(self, src: Path, out: Path, log: str) -> Claims:
        c = Claims(_number(log, r"Files analyzed:\s*([\d,]+)"), _number(log, r"Estimated tokens:\s*([\d.,]+[kM]?)"),
                   "o200k_base (estimate)")
        paths = re.findall(r"^={10,}\nFILE: (.*)\n={10,}$", out.read_text(errors="replace"), re.M)
        c.paths = _relative(paths, src)
        return c


class FilesToPrompt(Tool):
    name = "files-to-prompt"

    def command(self, src: Path, out: Path) -> list[str]:
        return [str(ANCHORS / "bin" / "files-to-prompt"), str(src), "--cxml", "-o", str(out)]

    def claims(self, src: Path, out: Path, log: str) -> Claims:
        paths = re.findall(r"^<source>(.*)</source>$", out.read_text(errors="replace"), re.M)
        c = Claims(len(paths), None, "none")
        c.paths = _relative(paths, src)
        return c


TOOLS: dict[str, Tool] = {
    t.name: t for t in (V4(), V4All(), V4Installed(), Repomix(), RepomixNoSecurity(), Gitingest(), FilesToPrompt())
}
DEFAULT_TOOLS = ("v4", "repomix", "gitingest", "files-to-prompt")
NOGIT_TOOLS = ("v4", "v4-installed", "repomix", "repomix-nosec")  # the walker comparison needs only v4 and the main anchor


# ---------------------------------------------------------------------------------------------- running


def ensure_anchors(force: bool) -> None:
    missing = [t for t in ("repomix", "gitingest", "files-to-prompt") if not (ANCHORS / "bin" / t).exists()]
    if not force and not missing:
        return
    if not INSTALLER.exists():
        sys.exit(f"anchors missing ({', '.join(missing)}) and no installer at {INSTALLER}")
    subprocess.run(["bash", str(INSTALLER), str(ANCHORS)], check=True)


def run_input(name: str, tools: list[str], rounds: int, once: frozenset[str] = frozenset()) -> dict:
    src = prepare(name)
    record: dict = {"input": name, "source": str(src), **describe(src), "runs": {}, "claims": {}, "errors": {},
                    "v4cli_sources": sources_digest()}
    for tool in tools:
        record["runs"][tool] = {"cold": [], "warm": []}
    for r in range(rounds):
        order = tools[r % len(tools):] + tools[: r % len(tools)]
        for tname in order:
            if r > 0 and tname in once:
                continue
            tool = TOOLS[tname]
            work = RUNS / name / tname
            cache = work / "cache"
            shutil.rmtree(work, ignore_errors=True)
            cache.mkdir(parents=True)
            out = work / f"out.{tool.ext}"
            for mode in ("cold", "warm"):
                log = work / f"log-{mode}.txt"
                m = run_measured(tool.command(src, out), log, env=tool.env(cache), cwd=work)
                print(f"  {name:12} round {r + 1} {tname:15} {mode}: {m.wall_s:7.2f} s wall {m.cpu_s:7.2f} s cpu "
                      f"{m.peak_rss_mb:7.0f} MB  (load {m.load_before:.1f}){'' if m.returncode == 0 else '  FAILED'}",
                      flush=True)
                if m.returncode != 0:  # the next round tries again: a failure is reported, not fatal
                    record["errors"][tname] = log.read_text(errors="replace")[-2000:]
                    break
                record["runs"][tname][mode].append(asdict(m))
            else:
                if r == rounds - 1 or tname not in record["claims"]:
                    c = tool.claims(src, out, log.read_text(errors="replace"))
                    record["claims"][tname] = {"files": c.files, "tokens": c.tokens, "tokenizer": c.tokenizer,
                                               "output_bytes": out.stat().st_size, "left_out": c.left_out,
                                               "_paths": c.paths}
    _compare_paths(record)
    if sources_digest() != record["v4cli_sources"]:
        record["v4cli_sources"] += " (changed during the run)"
        print(f"  warning: v4cli's sources changed while {name} was measured", flush=True)
    return record


def _compare_paths(record: dict) -> None:
    """Which files each anchor packed that v4 did not, and the reverse, by extension: the fairness check."""
    claims = record["claims"]
    base = claims.get("v4", {}).pop("_paths", None)
    for tname, c in claims.items():
        paths = c.pop("_paths", None)
        if base is None or paths is None or tname == "v4":
            continue
        only_anchor, only_v4 = sorted(paths - base), sorted(base - paths)
        c["vs_v4"] = {"only_here": len(only_anchor), "only_v4": len(only_v4),
                      "only_here_by_ext": _by_ext(only_anchor), "only_v4_by_ext": _by_ext(only_v4),
                      "only_here_examples": only_anchor[:8], "only_v4_examples": only_v4[:8]}


def _by_ext(paths: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for p in paths:
        base = p.rsplit("/", 1)[-1]
        ext = base.rsplit(".", 1)[-1] if "." in base[1:] else base
        counts[ext] = counts.get(ext, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1])[:8])


# ---------------------------------------------------------------------------------------------- reporting


def _stats(values: list[float]) -> dict | None:
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values)}


def summarize(record: dict) -> None:
    summary: dict = {}
    for tname, modes in record["runs"].items():
        summary[tname] = {mode: {k: _stats([run[k] for run in runs]) for k in ("wall_s", "cpu_s", "peak_rss_mb")}
                          for mode, runs in modes.items()}
    record["summary"] = summary
    record["v4_over"] = {}
    for mine in ("v4", "v4-installed", "v4-all"):
        for anchor in ("repomix", "repomix-nosec"):
            a_sum, b_sum = summary.get(mine), summary.get(anchor)
            if not a_sum or not b_sum:
                continue
            ratios: dict = {}
            for mode in ("cold", "warm"):
                for k in ("wall_s", "cpu_s", "peak_rss_mb"):
                    a, b = a_sum[mode][k], b_sum[mode][k]
                    if a and b:
                        ratios[f"{mode}_{k}"] = a["median"] / b["median"]
            # the machine's speed drifts between rounds: the median of each round's own ratio resists that drift
            mine_cold, anchor_cold = record["runs"][mine]["cold"], record["runs"][anchor]["cold"]
            if mine_cold and len(mine_cold) == len(anchor_cold):
                ratios["cold_wall_paired"] = statistics.median(
                    m["wall_s"] / a["wall_s"] for m, a in zip(mine_cold, anchor_cold))
            record["v4_over"][f"{mine} / {anchor}"] = ratios


def _median(summary: dict, tname: str, mode: str, key: str) -> str:
    s = summary.get(tname, {}).get(mode, {}).get(key)
    if not s:
        return "-"
    spread = f"±{(s['max'] - s['min']) / 2 / s['median'] * 100:.0f}%" if s["n"] > 1 and s["median"] else ""
    return f"{s['median']:.2f}{spread}" if key != "peak_rss_mb" else f"{s['median']:.0f}{spread}"


def print_table(records: list[dict]) -> None:
    print("\nmedians (± half the min-max spread); wall and CPU in seconds, peak RSS of the process tree in MB")
    head = f"{'input':13} {'tool':16} {'cold wall':>12} {'cold cpu':>12} {'cold RSS':>11} {'warm wall':>12} " \
           f"{'warm cpu':>12} {'warm RSS':>11} {'files':>7} {'tokens':>12} {'out MB':>8}"
    print(head)
    print("-" * len(head))
    for rec in records:
        s = rec["summary"]
        for tname in rec["runs"]:
            c = rec["claims"].get(tname, {})
            row = [_median(s, tname, m, k) for m in ("cold", "warm") for k in ("wall_s", "cpu_s", "peak_rss_mb")]
            if tname in rec["errors"] and not rec["runs"][tname]["cold"]:
                row = ["FAILED"] + ["-"] * 5
            tokens = f"{c['tokens']:,}" if c.get("tokens") is not None else "-"
            out_mb = f"{c['output_bytes'] / 1e6:.1f}" if c.get("output_bytes") is not None else "-"
            print(f"{rec['input']:13} {tname:16} {row[0]:>12} {row[1]:>12} {row[2]:>11} {row[3]:>12} {row[4]:>12} "
                  f"{row[5]:>11} {c.get('files') if c.get('files') is not None else '-':>7} {tokens:>12} {out_mb:>8}")
    print("\nratios of medians; targets for v4 / repomix on medium and large: "
          "cold wall <= 0.33, warm wall <= 0.10, RSS < 1")
    for rec in records:
        if not rec["v4_over"]:
            print(f"  {rec['input']:13} (no ratio: v4 or repomix missing or failed)")
        for anchor, r in rec["v4_over"].items():
            checks = []
            if rec["input"] != "small":
                rss = max(r.get("cold_peak_rss_mb", 9), r.get("warm_peak_rss_mb", 9))
                checks = [f"cold {'OK' if r.get('cold_wall_s', 9) <= TARGETS['cold_wall'] else 'MISS'}",
                          f"warm {'OK' if r.get('warm_wall_s', 9) <= TARGETS['warm_wall'] else 'MISS'}",
                          f"RSS {'OK' if rss < TARGETS['peak_rss'] else 'MISS'}"]
            paired = f" (per round {r['cold_wall_paired']:.2f})" if "cold_wall_paired" in r else ""
            print(f"  {rec['input']:13} {anchor:24} wall cold {r.get('cold_wall_s', 0):.2f}{paired} "
                  f"warm {r.get('warm_wall_s', 0):.2f} | cpu cold {r.get('cold_cpu_s', 0):.2f} "
                  f"warm {r.get('warm_cpu_s', 0):.2f} | RSS cold {r.get('cold_peak_rss_mb', 0):.2f} "
                  f"warm {r.get('warm_peak_rss_mb', 0):.2f}  {' '.join(checks)}")
    print("\nwhat each anchor packed compared with v4 (files only in the anchor's output / only in v4's):")
    for rec in records:
        for tname, c in rec["claims"].items():
            d = c.get("vs_v4")
            if d:
                print(f"  {rec['input']:13} {tname:16} +{d['only_here']} {d['only_here_by_ext']}  "
                      f"-{d['only_v4']} {d['only_v4_by_ext']}")
        lo = rec["claims"].get("v4", {}).get("left_out")
        if lo:
            print(f"  {rec['input']:13} v4 left out / redacted: {lo}")
    for rec in records:
        for tname, err in rec["errors"].items():
            print(f"\n{rec['input']} {tname} FAILED at least once; log tail:\n{err[-600:]}")


def sources_digest() -> str:
    """A digest of v4cli's sources: the code a result belongs to, committed or not."""
    import hashlib

    digest = hashlib.sha256()
    for f in sorted((ROOT / "v4cli").rglob("*.py")):
        digest.update(f.relative_to(ROOT).as_posix().encode() + b"\0" + f.read_bytes())
    return digest.hexdigest()[:16]


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version(), "cpus": str(os.cpu_count())}
    for t in ("repomix", "gitingest", "files-to-prompt"):
        exe = ANCHORS / "bin" / t
        if not exe.exists():
            continue
        python = str(ANCHORS / "venv" / "bin" / "python")
        metadata = f"import importlib.metadata as m; print(m.version('{t}'))"
        cmd = [str(exe), "--version"] if t == "repomix" else [python, "-c", metadata]
        out[t] = subprocess.run(cmd, capture_output=True, text=True).stdout.strip()
    return out


# ---------------------------------------------------------------------------------------------- profiling


def profile(name: str, top: int) -> None:
    """cProfile of `v4 pack` on one input, cold then warm; the main thread only (worker processes or threads
    show up as time waiting on them: profile those with py-spy --subprocesses)."""
    import pstats

    src = prepare(name)
    work = RUNS / name / "v4-profile"
    shutil.rmtree(work, ignore_errors=True)
    (work / "cache").mkdir(parents=True)
    tool = TOOLS["v4"]
    for mode in ("cold", "warm"):
        prof = work / f"{mode}.prof"
        cmd = [sys.executable, "-m", "cProfile", "-o", str(prof), "-m", "v4cli", "pack", str(src),
               "--budget", V4_BUDGET, "-o", str(work / "out.xml"), *V4_EXTRA]
        m = run_measured(cmd, work / f"log-{mode}.txt", env=tool.env(work / "cache"), cwd=ROOT)
        print(f"\n=== v4 pack {name} {mode} under cProfile: {m.wall_s:.2f} s wall, {m.cpu_s:.2f} s cpu, "
              f"{m.peak_rss_mb:.0f} MB (rc {m.returncode}) ===")
        if m.returncode != 0 or not prof.exists():
            print((work / f"log-{mode}.txt").read_text(errors="replace")[-1500:])
            return
        stats = pstats.Stats(str(prof))
        stats.sort_stats("cumulative").print_stats(top)
        stats.sort_stats("tottime").print_stats(top)


# ---------------------------------------------------------------------------------------------- main


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--setup", action="store_true", help="(re)install the anchors and prepare the inputs, then stop")
    ap.add_argument("--inputs", default="small,medium,medium-nogit,large", help="comma-separated, from inputs.py")
    ap.add_argument("--tools", default=",".join(DEFAULT_TOOLS), help=f"comma-separated, from {', '.join(TOOLS)}")
    ap.add_argument("--repomix-nosec", action="store_true", help="also run repomix --no-security-check")
    ap.add_argument("--v4-all", action="store_true", help="also run v4 without its ignore list, 50 MB size limit")
    ap.add_argument("--v4-installed", action="store_true",
                    help="also run v4 whose cold cache holds the tokenizer's prepared vocabulary (a new repository)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--profile", metavar="INPUT", help="profile v4 pack on this input instead of benchmarking")
    ap.add_argument("--top", type=int, default=30, help="rows of the profile to print")
    ap.add_argument("--v4-extra", default="", help="more options for v4 pack, space-separated (e.g. --no-redact)")
    ap.add_argument("--once", default="", help="comma-separated tools to run in the first round only (slow anchors)")
    ap.add_argument("--json", type=Path, default=RESULTS)
    args = ap.parse_args()

    V4_EXTRA.extend(args.v4_extra.split())
    if args.setup:
        ensure_anchors(force=True)
        for n in INPUTS:
            print(n, prepare(n))
        return
    if args.profile:
        profile(args.profile, args.top)
        return
    ensure_anchors(force=False)
    tools = [t for t in args.tools.split(",") if t]
    for flag, extra in ((args.repomix_nosec, "repomix-nosec"), (args.v4_all, "v4-all"),
                        (args.v4_installed, "v4-installed")):
        if flag and extra not in tools:
            tools.append(extra)
    unknown = [t for t in tools if t not in TOOLS]
    if unknown:
        sys.exit(f"unknown tool(s) {', '.join(unknown)}; choose from {', '.join(TOOLS)}")

    records = []
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    for name in [n for n in args.inputs.split(",") if n]:
        chosen = [t for t in tools if t in NOGIT_TOOLS] if name.endswith("-nogit") else tools
        print(f"{name}: {', '.join(chosen)} x {args.rounds} rounds, cold + warm", flush=True)
        rec = run_input(name, chosen, args.rounds, frozenset(t for t in args.once.split(",") if t))
        summarize(rec)
        records.append(rec)
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"started": started, "versions": _versions(), "v4_budget": V4_BUDGET,
                                         "targets_v4_over_repomix": TARGETS, "inputs": records}, indent=1))
    print_table(records)
    print(f"\nresults: {args.json}")


if __name__ == "__main__":
    main()
