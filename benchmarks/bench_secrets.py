"""Secret scanning: v4's hand-written scanner against detect-secrets, in one run, on the same inputs.

Two measures:
- quality on the labelled corpus of tests/context/secrets_corpus.py (true secrets of every kind planted in
  realistic files, plus look-alikes): recall (a planted secret counts as found when the scanner reports
  its line; for v4 its value must also be gone from the output) and false positives (reports on look-alikes);
- speed in MB/s of CPU time over Python files of this interpreter's standard library
  (``sysconfig.get_paths()["stdlib"]``, site-packages excluded, sorted, every Nth file).

detect-secrets runs with its default plugins and filters; sockets are disabled for the whole run, which
shows that both work offline.

    .venv/bin/python benchmarks/bench_secrets.py              # every 8th stdlib file (~4 MB)
    .venv/bin/python benchmarks/bench_secrets.py --every 1    # the whole stdlib (detect-secrets: minutes)
"""

from __future__ import annotations

import argparse
import pathlib
import socket
import sys
import sysconfig
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from tests.context.secrets_corpus import CorpusFile, look_alike_files, true_secret_files  # noqa: E402
from v4cli.context.secrets import redact  # noqa: E402


def _no_network(*args, **kwargs):
    raise OSError("network disabled by bench_secrets.py")


def v4_lines(path: pathlib.Path, text: str) -> set[int]:
    return {r.line for r in redact(text)[1]}


def detect_secrets_lines(path: pathlib.Path, text: str) -> set[int]:
    from detect_secrets.core.scan import scan_file

    return {secret.line_number for secret in scan_file(str(path))}


def score(scan, files: list[CorpusFile], look_alikes: list[CorpusFile], workdir: pathlib.Path) -> tuple[int, int, int]:
    """(found, planted, false positives) of ``scan`` on the corpus."""
    found = planted = false_positives = 0
    for f in files + look_alikes:
        path = workdir / f.name
        path.write_text(f.text, encoding="utf-8")
        lines = scan(path, f.text)
        if f.planted:
            out = redact(f.text)[0] if scan is v4_lines else ""
            planted += len(f.planted)
            found += sum(p.line in lines and p.value not in out for p in f.planted)
            false_positives += len(lines - {p.line for p in f.planted})
        else:
            false_positives += len(lines)
    return found, planted, false_positives


def speed(scan, paths: list[pathlib.Path]) -> float:
    """MB/s of CPU time; files are read before the clock starts (detect-secrets reads them itself)."""
    texts = [(p, p.read_text(encoding="utf-8", errors="replace")) for p in paths]
    size = sum(p.stat().st_size for p in paths)
    start = time.process_time()
    for path, text in texts:
        scan(path, text)
    return size / 1e6 / (time.process_time() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--every", type=int, default=8, help="take every Nth stdlib file (default 8; 1 = all)")
    parser.add_argument("--seeds", type=int, default=5, help="corpus seeds to score on (default 5)")
    args = parser.parse_args()

    from detect_secrets.settings import default_settings

    socket.socket.connect = _no_network  # type: ignore[method-assign]
    root = pathlib.Path(sysconfig.get_paths()["stdlib"])
    paths = sorted(p for p in root.rglob("*.py") if "site-packages" not in p.parts)[:: args.every]
    size = sum(p.stat().st_size for p in paths) / 1e6
    files = [f for seed in range(args.seeds) for f in true_secret_files(seed)]
    look_alikes = [f for seed in range(args.seeds) for f in look_alike_files(seed)]

    print(f"corpus: {sum(len(f.planted) for f in files)} planted secrets in {len(files)} files, "
          f"{len(look_alikes)} look-alike files; speed: {len(paths)} stdlib files, {size:.1f} MB")
    results = {}
    with default_settings():
        for name, scan in (("v4", v4_lines), ("detect-secrets", detect_secrets_lines)):
            with tempfile.TemporaryDirectory() as tmp:
                found, planted, fps = score(scan, files, look_alikes, pathlib.Path(tmp))
            results[name] = speed(scan, paths)
            print(f"{name:15s} recall {found}/{planted} ({found / planted:.1%})  false positives {fps:4d}  "
                  f"speed {results[name]:8.2f} MB/s")
    print(f"speed ratio v4 / detect-secrets: {results['v4'] / results['detect-secrets']:.0f}x")


if __name__ == "__main__":
    main()
