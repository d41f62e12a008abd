"""v4's DeepSeek V4 tokenizer (tiktoken's Rust BPE) against the reference, HF `tokenizers`, in one run.

Corpus: CPython's standard library `.py` files (site-packages excluded), sorted by path: reproducible on any
machine with the same Python. Measured, best of `--rounds` with ours and the reference interleaved:

    build      in-process: ours from tokenizer.json (cold) and from the on-disk vocabulary cache (warm),
               the reference's Tokenizer.from_file; and in a fresh process, import + build (what `v4 pack` pays)
    1 thread   ours: count() per text; reference: encode_batch_fast with TOKENIZERS_PARALLELISM=false
    all cores  ours: count_many(); reference: encode_batch_fast / encode_batch with parallelism on

It also checks that both give identical ids on every file. Target (the issue): at least 3x the reference's
throughput. The machine may be shared: the load average is printed before and after.

    .venv/bin/python benchmarks/bench_tokenizer.py [--rounds 3] [--max-mb 0]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tokenizers import Tokenizer  # noqa: E402

from v4cli.context import tokens  # noqa: E402

TARGET = 3.0


def stdlib_corpus(max_bytes: int) -> list[str]:
    root = sysconfig.get_paths()["stdlib"]
    paths = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in {"site-packages", "dist-packages", "__pycache__"})
        paths += [Path(folder, f) for f in sorted(files) if f.endswith(".py")]
    texts, size = [], 0
    for path in sorted(paths):
        texts.append(path.read_bytes().decode("utf-8", "replace"))
        size += len(texts[-1])
        if max_bytes and size >= max_bytes:
            break
    return texts


def best(rounds: int, run) -> float:
    """Fastest wall time of `rounds` runs."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def fresh_process(code: str, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, env={**os.environ, **env})
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-mb", type=float, default=0, help="cap the corpus (0: the whole stdlib)")
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")

    path = tokens.tokenizer_json_path()
    cache = Path(tempfile.mkdtemp(prefix="bench-tokcache-"))
    tokens.load_tokenizer(cache_dir=cache)  # prime the on-disk cache
    builds = {
        "ours, cold (tokenizer.json)": best(args.rounds, lambda: tokens.load_tokenizer()),
        "ours, warm (disk cache)": best(args.rounds, lambda: tokens.load_tokenizer(cache_dir=cache)),
        "reference Tokenizer.from_file": best(args.rounds, lambda: Tokenizer.from_file(str(path))),
    }
    process = {
        "ours: import + get_tokenizer (warm)": min(
            fresh_process(
                "from v4cli.context.tokens import get_tokenizer; get_tokenizer()", {"V4_CACHE_DIR": str(cache)}
            )
            for _ in range(args.rounds)
        ),
        "reference: import + from_file": min(
            fresh_process(f"from tokenizers import Tokenizer; Tokenizer.from_file({str(path)!r})", {})
            for _ in range(args.rounds)
        ),
    }
    print("\nbuild time (best of rounds)")
    for name, seconds in {**builds, **process}.items():
        print(f"  {name:40s} {seconds * 1000:8.0f} ms")
    ratio = builds["reference Tokenizer.from_file"] / builds["ours, warm (disk cache)"]
    print(f"  ratio reference / ours (warm, in-process) {ratio:8.2f}x")

    tok = tokens.load_tokenizer(cache_dir=cache)
    hf = Tokenizer.from_file(str(path))
    texts = stdlib_corpus(int(args.max_mb * 1e6))
    ours_ids = [tok.encode(t) for t in texts]
    ref_ids = [e.ids for e in hf.encode_batch_fast(texts, add_special_tokens=False)]
    same = sum(a == b for a, b in zip(ours_ids, ref_ids))
    total = sum(map(len, ref_ids))
    print(f"\ncorpus: {len(texts)} stdlib files, {sum(map(len, texts)) / 1e6:.1f} M chars, {total / 1e6:.2f} M tokens")
    print(f"identical ids: {same}/{len(texts)} files")

    def reference(batch, parallel: bool):
        def run():
            os.environ["TOKENIZERS_PARALLELISM"] = "true" if parallel else "false"
            batch(texts, add_special_tokens=False)

        return run

    wall: dict[str, dict[str, float]] = {"1 thread": {}, "all cores": {}}
    cpu: dict[str, dict[str, float]] = {"1 thread": {}, "all cores": {}}
    for _ in range(args.rounds):  # interleaved, so that load spikes hit both sides alike
        for mode, parallel in (("1 thread", False), ("all cores", True)):
            runs = {
                "ours": (lambda: tok.count_many(texts)) if parallel else (lambda: [tok.count(t) for t in texts]),
                "reference encode_batch_fast": reference(hf.encode_batch_fast, parallel),
            }
            if parallel:
                runs["reference encode_batch"] = reference(hf.encode_batch, parallel)
            for name, run in runs.items():
                start, start_cpu = time.perf_counter(), time.process_time()
                run()
                wall[mode][name] = min(wall[mode].get(name, float("inf")), time.perf_counter() - start)
                cpu[mode][name] = min(cpu[mode].get(name, float("inf")), time.process_time() - start_cpu)

    print("\nthroughput (best of rounds; per CPU-second is the steadier figure on a shared machine)")
    ok = True
    for mode in wall:
        for name in wall[mode]:
            print(
                f"  {mode:9s}  {name:28s} {total / wall[mode][name] / 1e6:7.2f} Mtok/s"
                f"  {total / cpu[mode][name] / 1e6:7.2f} Mtok per CPU-s"
            )
        ref = min((n for n in wall[mode] if n.startswith("reference")), key=wall[mode].get)
        ratio = wall[mode][ref] / wall[mode]["ours"]
        ok &= ratio >= TARGET
        print(
            f"  {mode:9s}  ratio ours / fastest reference: {ratio:.2f}x wall, "
            f"{cpu[mode][ref] / cpu[mode]['ours']:.2f}x CPU (target {TARGET:.0f}x)"
        )
    print(f"\n{'OK' if ok else 'MISS'}: throughput target; identical ids {'OK' if same == len(texts) else 'MISS'}")
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
