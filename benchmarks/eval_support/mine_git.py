"""Task instances from this project's own git history: real commits, with their messages as questions.

The project repository is cloned (never touched: no checkout, no state change) into work/v4-history, and
each instance's tree is a detached worktree of that clone at the commit's parent. Gold = source files
(classify.py) the commit modified; files it added did not exist yet, and a commit that only touches tests,
docs or lockfiles has no gold and is dropped, as is one touching more than MAX_GOLD source files or one
that adds more source files than it modifies (its message describes code the parent does not have). Merge
commits and the root commit have no single parent to ask about and are skipped.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from benchmarks.eval_support.classify import is_source
from benchmarks.eval_support.instance import MAX_GOLD, Dropped, Instance, git

SOURCE = "v4-history"


def _clone(project: Path, dest: Path) -> None:
    """A private clone, refreshed with fetch so that later runs see new commits; the project is only read."""
    if not (dest / ".git").exists():
        shutil.rmtree(dest, ignore_errors=True)
        dest.parent.mkdir(parents=True, exist_ok=True)
        git("clone", "-q", "--no-hardlinks", "--no-checkout", str(project), str(dest))
    else:
        git("fetch", "-q", "origin", cwd=dest)


def mine(project: Path, work: Path, until: str = "HEAD") -> tuple[list[Instance], list[Dropped]]:
    """Instances for the commits reachable from `until` in `project` (oldest first)."""
    clone = work / "v4-history"
    _clone(project, clone)
    tip = git("rev-parse", until, cwd=project).strip()
    git("fetch", "-q", "origin", tip, cwd=clone)
    log = git("log", "--reverse", "--format=%H%x00%P%x00%B%x1e", tip, cwd=clone)
    instances: list[Instance] = []
    dropped: list[Dropped] = []
    for record in filter(None, (r.strip("\n") for r in log.split("\x1e"))):
        commit, parents, message = record.split("\x00", 2)
        iid = f"v4:{commit[:12]}"
        if len(parents.split()) != 1:
            dropped.append(Dropped(iid, SOURCE, "no-parent" if not parents else "merge"))
            continue
        parent = parents
        status = git("diff", "--no-renames", "--name-status", "-z", parent, commit, cwd=clone).split("\x00")
        changes = list(zip(status[::2], status[1::2]))
        gold = sorted(path for kind, path in changes if kind == "M" and is_source(path))
        added = sum(1 for kind, path in changes if kind == "A" and is_source(path))
        if not gold:
            dropped.append(Dropped(iid, SOURCE, "no-source-change", message.splitlines()[0][:80]))
            continue
        if len(gold) > MAX_GOLD:
            dropped.append(Dropped(iid, SOURCE, "too-many-gold", f"{len(gold)} files"))
            continue
        if added > len(gold):  # the message describes code that does not exist at the parent yet
            dropped.append(Dropped(iid, SOURCE, "mostly-new-files", f"{added} added, {len(gold)} modified"))
            continue
        repo = work / "repos" / iid.replace(":", "-")
        _worktree(clone, repo, parent)
        instances.append(Instance(iid, SOURCE, message.strip(), gold, repo,
                                  {"commit": commit, "parent": parent, "added_sources": added}))
    return instances, dropped


def _worktree(clone: Path, repo: Path, parent: str) -> None:
    """A detached worktree of the clone at `parent`: a real git checkout, cheap to make, kept for reruns."""
    if (repo / ".git").exists() and git("rev-parse", "HEAD", cwd=repo, check=False).strip() == parent:
        return
    shutil.rmtree(repo, ignore_errors=True)
    git("worktree", "prune", cwd=clone)
    repo.parent.mkdir(parents=True, exist_ok=True)
    git("worktree", "add", "-q", "--detach", str(repo.resolve()), parent, cwd=clone)
