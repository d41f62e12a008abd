"""Support for benchmarks/bench_ask.py: a fake DeepSeek server that timestamps arrivals, and the ~1M-token input.

`TimedDeepSeek` is tests/backends/fake_server.py's FakeDeepSeek (a real HTTP server on 127.0.0.1) whose
handler notes, for every POST, when its headers were parsed and when its body had been read, in `time.time()`
seconds: the benchmark runs `v4 ask` in a child process on the same machine and subtracts its start time.

`prepare_input()` builds benchmarks/.data/ask-1m/: CPython's standard library `.py` files (site-packages
excluded) in sorted path order, the longest prefix whose DeepSeek V4 token count, as `v4 pack` reports it,
stays at or under the target, committed as one git repository. Reproducible offline on any machine with the
same Python version; rebuilt when the target or the Python version changes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.inputs import DATA, _commit_all  # noqa: E402
from tests.backends.fake_server import FakeDeepSeek, _Handler  # noqa: E402

INPUT = DATA / "ask-1m"
_MARKER = DATA / ".ask-1m.ready"
_FRAMING_SHARE = 0.97  # per-file tokens leave room for the context's own markup (file headers, tree)


# ---------------------------------------------------------------------------------------------- the server


@dataclass
class Arrival:
    path: str
    headers_at: float  # time.time() when the request line and headers had been parsed
    body_at: float  # time.time() when the whole body had been read
    body_bytes: int


class _StampedReader:
    """The handler's input stream; notes when the last `read()` (the body) returned."""

    def __init__(self, raw) -> None:
        self._raw = raw
        self.read_at: float | None = None

    def read(self, *args):
        data = self._raw.read(*args)
        self.read_at = time.time()
        return data

    def __getattr__(self, name: str):
        return getattr(self._raw, name)


class _TimedHandler(_Handler):
    def do_POST(self) -> None:
        headers_at = time.time()
        original, self.rfile = self.rfile, _StampedReader(self.rfile)
        reader = self.rfile
        try:
            super().do_POST()
        finally:
            self.rfile = original
            fake: TimedDeepSeek = self.server.fake  # type: ignore[assignment]
            with fake.arrivals_lock:
                fake.arrivals.append(Arrival(self.path, headers_at, reader.read_at or headers_at,
                                             int(self.headers.get("content-length") or 0)))


class TimedDeepSeek(FakeDeepSeek):
    """FakeDeepSeek that records an `Arrival` per POST and keeps no request bodies (each is megabytes)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        self.arrivals: list[Arrival] = []
        self.arrivals_lock = threading.Lock()
        self._httpd.RequestHandlerClass = _TimedHandler

    def forget_requests(self) -> None:
        """Drop the recorded requests (the base class keeps each body); the arrivals stay."""
        self.requests.clear()


# ---------------------------------------------------------------------------------------------- the input


def stdlib_files() -> tuple[Path, list[str]]:
    """The stdlib's root and its `.py` files as sorted relative POSIX paths."""
    root = Path(sysconfig.get_paths()["stdlib"])
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in {"site-packages", "dist-packages", "__pycache__"}]
        rel = Path(folder).relative_to(root)
        found += [(rel / f).as_posix() for f in files if f.endswith(".py")]
    return root, sorted(found)


def pack_manifest(python: str, path: Path, env: dict[str, str]) -> dict:
    """`v4 pack PATH -f json` with a budget far above the input: the manifest, every file counted."""
    out = subprocess.run([python, "-m", "v4cli", "pack", str(path), "-f", "json", "--budget", "100m"],
                         cwd=ROOT, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"v4 pack {path} failed ({out.returncode}):\n{out.stderr[-2000:]}")
    return json.loads(out.stdout)


def _copy(root: Path, files: list[str], dest: Path) -> None:
    for rel in files:
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / rel, target)


def prepare_input(target_tokens: int, python: str, env: dict[str, str]) -> dict:
    """Build (or reuse) benchmarks/.data/ask-1m; returns its description: files, bytes, tokens, python."""
    wanted = {"target_tokens": target_tokens, "python": sys.version.split()[0]}
    if _MARKER.exists() and INPUT.is_dir():
        info = json.loads(_MARKER.read_text())
        if {k: info.get(k) for k in wanted} == wanted:
            return info
    print(f"building {INPUT} (~{target_tokens:,} tokens of the stdlib) ...", flush=True)
    shutil.rmtree(INPUT, ignore_errors=True)
    _MARKER.unlink(missing_ok=True)
    root, files = stdlib_files()
    with tempfile.TemporaryDirectory(prefix="v4-ask-input-") as tmp:
        # Count a generous prefix once with v4 itself (about 3.3 bytes per token on Python source), then keep
        # the longest prefix that fits. A plain directory outside this checkout: inside, the enclosing
        # repository's .gitignore (benchmarks/.data/) would hide it from v4's walker.
        stage, run_env = Path(tmp) / "stage", {**env, "V4_CACHE_DIR": str(Path(tmp) / "cache")}
        candidates, size = [], 0
        for rel in files:
            if size > target_tokens * 6:
                break
            candidates.append(rel)
            size += (root / rel).stat().st_size
        _copy(root, candidates, stage)
        counted = {f["path"]: f["tokens"] for f in pack_manifest(python, stage, run_env)["files"]}
        chosen, total = [], 0
        for rel in candidates:
            tokens = counted.get(rel, 0)  # a file v4 skips (ignore list, binary) costs nothing
            if total + tokens > target_tokens * _FRAMING_SHARE:
                break
            chosen.append(rel)
            total += tokens
        _copy(root, chosen, INPUT)
        _commit_all(INPUT)
        manifest = pack_manifest(python, INPUT, run_env)
    info = {**wanted, "files": len(chosen), "bytes": sum((root / r).stat().st_size for r in chosen),
            "tokens": manifest["tokens"], "files_by_status": manifest["files_by_status"],
            "files_skipped": manifest["files_skipped"], "first": chosen[0], "last": chosen[-1]}
    _MARKER.write_text(json.dumps(info, indent=1))
    return info
