"""A task instance: a question about a repository at some revision, and the source files that answer it."""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

MAX_GOLD = 8  # bigger change sets are refactors or release sweeps, not one question's answer


@dataclass
class Instance:
    id: str  # stable and unique: "v4:<sha12>", "pypi:click-8.1.6..8.1.7"
    source: str  # "v4-history" or "pypi-releases"
    question: str
    gold: list[str]  # source files changed, as paths relative to `repo` (which holds them all)
    repo: Path  # the tree before the change, a git repository
    meta: dict = field(default_factory=dict)  # provenance: commit and parent, versions, changelog path


@dataclass
class Dropped:
    """A candidate that did not become an instance, and why (reported in the mining statistics)."""

    id: str
    source: str
    reason: str  # "no-source-change", "too-many-gold", "no-changelog", "empty-notes", "no-parent", ...
    detail: str = ""


_GIT_ENV = {
    "GIT_AUTHOR_NAME": "eval", "GIT_AUTHOR_EMAIL": "eval@example.invalid", "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z",
    "GIT_COMMITTER_NAME": "eval", "GIT_COMMITTER_EMAIL": "eval@example.invalid",
    "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
}


def git(*args: str, cwd: Path | None = None, check: bool = True) -> str:
    """Run git without the machine's config (so that hooks, signing or autocrlf never change the result).

    Tried three times: the project repository is read while its own session commits to it, and a read
    that meets a ref being rewritten fails once and then succeeds."""
    for attempt in range(3):
        done = subprocess.run(["git", *args], cwd=cwd, env={**os.environ, **_GIT_ENV}, check=False,
                              capture_output=True, text=True)
        if done.returncode == 0 or not check:
            return done.stdout
        time.sleep(1 + attempt)
    raise RuntimeError(f"git {' '.join(args)} failed in {cwd}: {done.stderr.strip()[-300:]}")


def commit_tree(repo: Path) -> None:
    """Make a directory one committed git repository, so v4 enumerates it as it would a user's checkout."""
    git("-c", "init.defaultBranch=main", "init", "-q", cwd=repo)
    git("add", "-A", cwd=repo)
    git("commit", "-q", "--no-verify", "--allow-empty", "-m", "tree under evaluation", cwd=repo)
