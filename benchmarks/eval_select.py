"""Selection quality: does `v4 pack --question` put the files a change touched into the budget?

Task instances (benchmarks/eval_support/):
    v4-history     this project's own commits: the message is the question; the gold set is the source files
                   the commit modified, checked out at its parent (mine_git.py)
    pypi-releases  consecutive PATCH releases of pinned PyPI sdists: the newer release's changelog entry is
                   the question; the gold set is the source files that differ, in the older sdist's tree
                   (mine_releases.py). This approximates commits by releases: GitHub is unreachable here and
                   local clones are shallow, while sdists are pinned and fetched offline-reproducibly.
Commits and releases touching only tests, docs or lockfiles have no gold and are dropped, as are changes to
more than 8 source files; every drop is counted with its reason.

Selectors, at budgets 8k, 32k and 128k tokens by default, on the same collected files:
    v4     pack(..., question, ranking="v4"): lexical + structural ranking, tiered fill (full, outline, path)
    bm25   the same packer and tiered fill, ranked by BM25 alone (the baseline the issue names)
    aider  aider-chat's RepoMap (its own venv; --setup-aider once): get_ranked_tags_map with no chat files,
           mentioned files and identifiers from the question, map_tokens = budget, its own token counter;
           its map shows signatures, so a file in it counts as an outline
    plain  (optional) pack without a question: the question-blind fill, a floor

Metrics (eval_support/metrics.py): mean file recall, all-gold and any-gold, counting files shown in full
("full") and shown in full or as an outline or head ("full or outline"). Time per instance: a cold pack
(fresh empty cache) with and without the question, the same pack warm, and aider's scan cold and warm.

    .venv/bin/python benchmarks/eval_select.py --setup-aider       # once: aider-chat into .data/aider-venv
    .venv/bin/python benchmarks/eval_select.py --quick             # a few small instances, while developing
    .venv/bin/python benchmarks/eval_select.py                     # everything: ~6 min for v4 + bm25 on 2 busy
                                                                   # cores, + ~30 min for aider the first time
    .venv/bin/python benchmarks/eval_select.py --list              # mine and show instances and drops only
    .venv/bin/python benchmarks/eval_select.py --methods v4,bm25 --sources v4-history --budgets 8k,32k

Results: tables on stdout, per-instance details in benchmarks/.data/results-select.json. Repositories,
sdist trees, pack caches and aider's results (reused unless --aider-fresh: aider does not change between
runs, v4 does) live in benchmarks/.data/eval/.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_pack import sources_digest
from benchmarks.eval_support import aider_map, mine_git, mine_releases
from benchmarks.eval_support.instance import Dropped, Instance
from benchmarks.eval_support.metrics import (
    LEVELS,
    Hit,
    Summary,
    count_statuses,
    score,
    summarize,
)
from benchmarks.eval_support.report import SWE_BENCH_NOTE, recall_table, time_table
from benchmarks.eval_support.run_v4 import (
    clock,
    gather,
    select,
    selection_api,
    time_cold_and_warm,
)
from benchmarks.inputs import DATA
from v4cli.context.cache import Cache
from v4cli.units import parse_count

WORK = DATA / "eval"
RESULTS = DATA / "results-select.json"
SOURCES = (mine_git.SOURCE, mine_releases.SOURCE)
HISTORY_UNTIL = "1936d5e"  # v4-history mines commits up to this one, so that the instance set stays fixed
QUICK = {mine_git.SOURCE: 3, mine_releases.SOURCE: 3}  # instances per source in --quick (small repos only)


def mine(sources: list[str], quick: bool, until: str = HISTORY_UNTIL) -> tuple[list[Instance], list[Dropped]]:
    instances: list[Instance] = []
    dropped: list[Dropped] = []
    if mine_git.SOURCE in sources:
        found, lost = mine_git.mine(ROOT, WORK, until)
        instances += found[-QUICK[mine_git.SOURCE]:] if quick else found
        dropped += lost
    if mine_releases.SOURCE in sources:
        names = {"click", "werkzeug", "httpx"} if quick else None  # --quick leaves the Django trees out
        found, lost = mine_releases.mine(WORK, names)
        instances += found[:QUICK[mine_releases.SOURCE]] if quick else found
        dropped += lost
    return instances, dropped


def _family(instance: Instance) -> str:
    """Instances of one code base share a pack cache (content-addressed, so sharing is exact)."""
    return instance.meta.get("package", "v4").lower()


def run_instance(instance: Instance, methods: list[str], budgets: list[int], cold: bool, fresh_aider: bool) -> dict:
    record = {"id": instance.id, "source": instance.source, "question": instance.question, "gold": instance.gold,
              "meta": instance.meta, "repo": str(instance.repo), "methods": {}, "time": {}}
    v4_methods = [m for m in methods if m != "aider"]
    if v4_methods:
        if cold:
            record["time"].update(time_cold_and_warm(instance.repo, instance.question, budgets[0]))
        cache_dir = WORK / "cache" / _family(instance)
        cache_dir.mkdir(parents=True, exist_ok=True)
        cache = Cache(cache_dir)
        collection = gather(instance.repo)
        candidates = {d.path for d in collection.documents}
        record["gold_not_candidates"] = sorted(set(instance.gold) - candidates)
        record["candidates"] = len(candidates)
        for method in v4_methods:
            per_budget = record["methods"].setdefault(method, {})
            for budget in budgets:
                with clock() as timed:
                    statuses, summary = select(collection, method, instance.question, budget, cache)
                per_budget[str(budget)] = _scored(instance, statuses, summary, vars(timed))
        cache.close()
    if "aider" in methods:
        runs = _aider_runs(instance, budgets, fresh_aider)
        record["time"].update({f"aider_{label}": run["timed"] for label, run in runs.items()})
        record["methods"]["aider"] = {
            b: _scored(instance, r["files"], {"tokens": r["tokens"], "files_by_status": count_statuses(r["files"]),
                                              "gold_lines": {g: r["lines"].get(g, 0) for g in instance.gold}},
                       {"wall_s": r["wall_s"], "cpu_s": r["cpu_s"]})
            for b, r in runs["warm"]["budgets"].items()}
    return record


def _aider_runs(instance: Instance, budgets: list[int], fresh: bool) -> dict[str, dict]:
    """aider's map cold then warm; kept in .data/eval/aider-results/ (aider does not change between runs of
    this harness, v4 does), reused unless `fresh` or the question, budgets or aider's version differ."""
    saved = WORK / "aider-results" / f"{instance.id.replace(':', '-')}.json"
    key = {"question": instance.question, "budgets": budgets, "aider": aider_map.VERSION, "model": aider_map.MODEL}
    if not fresh and saved.exists():
        stored = json.loads(saved.read_text())
        if stored.get("key") == key:
            return stored["runs"]
    tags = WORK / "aider-cache" / instance.id.replace(":", "-")
    runs = {}
    for label, is_cold in (("cold", True), ("warm", False)):
        with clock() as timed:
            runs[label] = aider_map.repo_map(instance.repo, instance.question, budgets, tags, is_cold)
        runs[label]["timed"] = vars(timed)
    saved.parent.mkdir(parents=True, exist_ok=True)
    saved.write_text(json.dumps({"key": key, "runs": runs}))
    return runs


def _scored(instance: Instance, statuses: dict[str, str], summary: dict, timed: dict) -> dict:
    return {
        "gold_status": {g: statuses.get(g, "absent") for g in instance.gold},
        **{level: vars(score(instance.gold, statuses, level)) for level in LEVELS},
        **summary, "time": timed,
    }


def aggregate(records: list[dict], methods: list[str], budgets: list[int]) -> list[dict]:
    groups = sorted({r["source"] for r in records}) + ["all"]
    rows = []
    for group in groups:
        chosen = [r for r in records if group in ("all", r["source"])]
        for budget in budgets:
            for method in methods:
                scored = [r["methods"][method][str(budget)] for r in chosen if method in r["methods"]]
                row = {"source": group, "n": len(chosen), "budget": budget, "method": method,
                       "mean_files_full": _mean([s["files_by_status"].get("full", 0) for s in scored]),
                       "mean_files_shown": _mean([sum(s["files_by_status"].get(k, 0) for k in ("full", "outline",
                                                 "truncated")) for s in scored])}
                for level in LEVELS:
                    summary = summarize([Hit(**s[level]) for s in scored])
                    row[level] = vars(summary) if summary else None
                rows.append(row)
    return rows


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _label(budget: int) -> str:
    return f"{budget // 1000}k" if budget % 1000 == 0 else str(budget)


def print_report(instances, dropped, records, rows, methods, budgets, aider_note, elapsed) -> None:
    print("\nmining:")
    for source in SOURCES:
        kept = sum(1 for i in instances if i.source == source)
        reasons: dict[str, int] = {}
        for d in dropped:
            if d.source == source:
                reasons[d.reason] = reasons.get(d.reason, 0) + 1
        if kept or reasons:
            print(f"  {source:<14} {kept} instances; dropped: "
                  + (", ".join(f"{k} {v}" for k, v in sorted(reasons.items())) or "none"))
    print("  pypi-releases approximates commits by patch releases (question = the release's changelog entry)")
    table = []
    for row in rows:
        full = Summary(**row["full"]) if row["full"] else None
        shown = Summary(**row["shown"]) if row["shown"] else None
        if row["method"] == "aider":
            full = None  # aider's map never shows a file whole
        table.append((row["source"], row["n"], _label(row["budget"]), row["method"], full, shown,
                      row["mean_files_full"], row["mean_files_shown"]))
    print("\nrecall of gold files, % (mean recall, all-gold, any-gold):")
    print(recall_table(table))
    print(SWE_BENCH_NOTE)
    if aider_note:
        print(f"aider: {aider_note}")
    for budget in budgets:
        lines = [n for r in records for g, n in r["methods"].get("aider", {}).get(str(budget), {})
                 .get("gold_lines", {}).items() if r["methods"]["aider"][str(budget)]["gold_status"][g] == "outline"]
        if lines:
            print(f"  aider at {_label(budget)}: a gold file in its map shows {sum(lines) / len(lines):.1f} code lines "
                  f"on average (its map keeps only the ranked definitions' lines)")
    timing = []
    for source in sorted({r["source"] for r in records}):
        chosen = [r for r in records if r["source"] == source]
        for key, what in (("cold_plain", "v4 pack, all fits (no index), cold cache"),
                          ("cold_v4", f"v4 pack --question, cold cache, {_label(budgets[0])}"),
                          ("warm_v4_same", "  the same command again (stored context)"),
                          ("warm_v4_followup", "  a follow-up question (warm index)"),
                          ("aider_cold", f"aider map, cold tags cache, {len(budgets)} budgets"),
                          ("aider_warm", f"aider map, warm tags cache, {len(budgets)} budgets")):
            got = [r["time"][key] for r in chosen if key in r["time"]]
            if got:
                timing.append((source, what, len(got), sum(t["wall_s"] for t in got) / len(got),
                               sum(t["cpu_s"] for t in got) / len(got)))
    if timing:
        print("\ntime per instance (mean; CPU = user+sys incl. threads and reaped children):")
        print(time_table(timing))
    print(f"\ntotal: {len(records)} instances, {elapsed:.0f} s wall")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 small instances per source")
    parser.add_argument("--sources", default=",".join(SOURCES))
    parser.add_argument("--methods", default="v4,bm25,aider", help="v4, bm25, aider, plain")
    parser.add_argument("--budgets", default="8k,32k,128k")
    parser.add_argument("--only", default="", help="run instances whose id contains one of these (comma-separated)")
    parser.add_argument("--until", default=HISTORY_UNTIL, help="v4-history: mine commits up to this revision")
    parser.add_argument("--no-cold", action="store_true", help="skip the cold-cache timings")
    parser.add_argument("--list", action="store_true", help="mine and list instances and drops, run nothing")
    parser.add_argument("--aider-fresh", action="store_true", help="run aider again instead of reusing its results")
    parser.add_argument("--setup-aider", action="store_true", help=f"install aider-chat {aider_map.VERSION}")
    parser.add_argument("--json", type=Path, default=RESULTS)
    args = parser.parse_args()
    if args.setup_aider:
        aider_map.setup()
        return
    sources = [s for s in args.sources.split(",") if s]
    methods = [m for m in args.methods.split(",") if m]
    budgets = [parse_count(b) for b in args.budgets.split(",")]
    started, code = time.perf_counter(), sources_digest()
    instances, dropped = mine(sources, args.quick, args.until)
    wanted = [w for w in args.only.split(",") if w]
    instances = [i for i in instances if not wanted or any(w in i.id for w in wanted)]
    if args.list:
        for i in instances:
            print(f"{i.id:<36} gold {len(i.gold)}: {', '.join(i.gold)}\n    {i.question[:150]!r}")
        for d in dropped:
            print(f"DROP {d.id:<31} {d.reason} {d.detail}")
        return
    if any(m in ("v4", "bm25") for m in methods) and selection_api() is None:
        raise SystemExit("v4cli.context.pack.pack() takes no question in this checkout: run --methods plain,aider")
    aider_note = ""
    if "aider" in methods:
        aider_note = aider_map.unavailable() or ""
        if aider_note:
            methods.remove("aider")
        else:
            aider_note = (f"aider-chat {aider_map.VERSION}, RepoMap with model {aider_map.MODEL}'s token counter; "
                          "offline (its model-price refresh from GitHub fails and falls back to the bundled map)")
    records = []
    for n, instance in enumerate(instances, 1):
        print(f"[{n}/{len(instances)}] {instance.id} (gold {len(instance.gold)})", flush=True)
        try:
            records.append(run_instance(instance, methods, budgets, not args.no_cold, args.aider_fresh))
        except Exception as exc:  # noqa: BLE001 -- one broken instance must not lose the rest of a long run
            print(f"    failed: {type(exc).__name__}: {exc}", flush=True)
            records.append({"id": instance.id, "source": instance.source, "error": f"{type(exc).__name__}: {exc}",
                            "traceback": traceback.format_exc()})
    good = [r for r in records if "error" not in r]
    rows = aggregate(good, methods, budgets)
    elapsed = time.perf_counter() - started
    if sources_digest() != code:
        code += " (changed during the run)"
        print("warning: v4cli's sources changed during the run", flush=True)
    print_report(instances, dropped, good, rows, methods, budgets, aider_note, elapsed)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - elapsed)),
        "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count()},
        "v4cli_sources": code, "head": mine_git.git("rev-parse", "HEAD", cwd=ROOT, check=False).strip(), "history_until": args.until,
        "budgets": budgets, "methods": methods, "aider": aider_note, "reference": SWE_BENCH_NOTE,
        "summary": rows, "instances": records,
        "dropped": [vars(d) for d in dropped], "wall_s": elapsed,
    }, indent=1))
    print(f"details: {args.json}")


if __name__ == "__main__":
    main()
