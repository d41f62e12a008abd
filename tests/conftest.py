"""Shared fixtures: real git repositories in temp dirs, an isolated cache, a CLI runner in a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def git(repo: Path, *args: str) -> str:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",  # the machine's config is not ours
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    return subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True).stdout


def write_tree(root: Path, files: dict[str, str | bytes]) -> Path:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


def make_git_repo(root: Path, files: dict[str, str | bytes], commit: bool = True) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q", "-b", "main")
    write_tree(root, files)
    if commit:
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", "init")
    return root


@pytest.fixture
def cache_dir(tmp_path, monkeypatch) -> Path:
    """Every test gets its own cache so that runs never see each other's entries."""
    path = tmp_path / "cache"
    monkeypatch.setenv("V4_CACHE_DIR", str(path))
    monkeypatch.setenv("V4_CONFIG", str(tmp_path / "no-config.toml"))
    monkeypatch.setenv("V4_DATA_DIR", str(tmp_path / "data"))
    for name in ("DEEPSEEK_API_KEY", "V4_BACKEND", "V4_BASE_URL", "V4_MODEL", "V4_MODEL_PATH", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)
    return path


def run_v4(*args: str, cwd: Path | None = None, stdin: bytes | None = None, env: dict | None = None,
           timeout: float = 120) -> subprocess.CompletedProcess:
    """Run the real CLI in a subprocess, as a user would."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "v4cli", *args],
        cwd=cwd,
        input=stdin if stdin is not None else b"",
        capture_output=True,
        env=full_env,
        timeout=timeout,
    )
