"""aider's repo map (aider-chat, its RepoMap) as a third selector, isolated in its own venv.

aider is never a dependency of v4: it is installed by `--setup-aider` into benchmarks/.data/aider-venv and
driven through aider_worker.py in a subprocess. Offline: litellm is told to use its bundled model map, and
aider's own attempt to refresh model prices from GitHub fails (no network here) and falls back to the
bundled copy; nothing else is fetched. Its tags cache lives in benchmarks/.data/eval/aider-cache/<instance>,
outside the repository, so v4 never sees it; removing it makes aider's next scan cold.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from benchmarks.inputs import DATA

VERSION = "0.86.2"
VENV = DATA / "aider-venv"
PYTHON = VENV / "bin" / "python"
WORKER = Path(__file__).with_name("aider_worker.py")
MODEL = "deepseek/deepseek-chat"  # v4's own target; its token counter is the one aider would use for it
TIMEOUT_S = 1800


def setup() -> None:
    """Install aider-chat into its own venv (once; needs the PyPI registry, nothing else)."""
    if not PYTHON.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run([str(PYTHON), "-m", "pip", "install", "-q", f"aider-chat=={VERSION}"], check=True)


def unavailable() -> str | None:
    """Why aider cannot run here, or None when it can."""
    if not PYTHON.exists():
        return f"no {VENV} (run with --setup-aider once)"
    probe = subprocess.run([str(PYTHON), "-c", "import aider, aider.repomap; print(aider.__version__)"], check=False,
                           capture_output=True, text=True, env=_env())
    if probe.returncode != 0:
        return "aider does not import: " + (probe.stderr.strip().splitlines() or ["?"])[-1]
    return None


def _env() -> dict[str, str]:
    home = DATA / "aider-home"  # aider writes caches and analytics settings under HOME; keep them here
    home.mkdir(parents=True, exist_ok=True)
    return {**os.environ, "HOME": str(home), "LITELLM_LOCAL_MODEL_COST_MAP": "True", "AIDER_ANALYTICS": "false"}


def repo_map(root: Path, question: str, budgets: list[int], tags_cache: Path, cold: bool) -> dict:
    """aider's map at each budget: {"budgets": {str(budget): {"files", "tokens", "wall_s", "cpu_s"}},
    "total": {"wall_s", "cpu_s"}}; cold removes its tags cache first."""
    if cold:
        shutil.rmtree(tags_cache, ignore_errors=True)
    tags_cache.parent.mkdir(parents=True, exist_ok=True)
    request = {"root": str(root.resolve()), "question": question, "budgets": budgets, "model": MODEL,
               "tags_cache": str(tags_cache.resolve())}
    done = subprocess.run([str(PYTHON), str(WORKER)], input=json.dumps(request), capture_output=True, text=True, check=False,
                          env=_env(), timeout=TIMEOUT_S)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"aider worker failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return json.loads(lines[-1])
