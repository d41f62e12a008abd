"""Task instances from consecutive patch releases on PyPI: an approximation of mining commits.

GitHub is out of reach from this workplace and the local clones are shallow, so a repository's commit
history cannot be mined; PyPI's sdists can, pinned and offline-reproducible. A patch release is a small
batch of fixes, described by its changelog entry. So:

    question  the newer release's notes, from the changelog the newer sdist ships (changelog.py)
    gold      source files (classify.py) present in both sdists whose content differs, ignoring lines
              that only bump a version; files added by the release cannot be found before it exists
    repo      the older sdist's tree, committed as one git repository

It is coarser than one commit: a release bundles several fixes under one question, and its notes may
mention fixes whose files are not in the sdist. Pairs with no changelog, empty notes, no source change or
more than MAX_GOLD changed files are dropped, with the reason recorded.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from benchmarks.eval_support.changelog import release_notes
from benchmarks.eval_support.classify import is_source
from benchmarks.eval_support.instance import MAX_GOLD, Dropped, Instance, commit_tree
from benchmarks.eval_support.releases import release_pairs
from benchmarks.inputs import Package

SOURCE = "pypi-releases"
_VERSION_LINE = re.compile(r"__version__|\bversion\s*[=:]|VERSION\s*=", re.IGNORECASE)
_MIN_WORDS = 4  # "Security release." or "Fix packaging." says nothing a selector could use


def tree_of(package: Package, trees: Path) -> Path:
    """The sdist unpacked (once) under trees/<name>-<version>/."""
    dest = trees / f"{package.name.lower()}-{package.version}"
    marker = dest.with_name(dest.name + ".ready")
    if not marker.exists():
        shutil.rmtree(dest, ignore_errors=True)
        package.unpack(dest)
        marker.touch()
    return dest


def _files(tree: Path) -> set[str]:
    return {p.relative_to(tree).as_posix() for p in tree.rglob("*") if p.is_file() and ".git" not in p.parts}


def _version_bump_only(old: bytes, new: bytes, versions: tuple[str, str]) -> bool:
    """True when the files differ only in lines that state a version (either release's number)."""
    def keep(data: bytes) -> list[str]:
        lines = data.decode("utf-8", errors="replace").splitlines()
        return [line for line in lines if not (_VERSION_LINE.search(line) or any(v in line for v in versions))]
    return keep(old) == keep(new)


def changed_sources(old_tree: Path, new_tree: Path, versions: tuple[str, str]) -> list[str]:
    """Source files in both trees whose content differs beyond version lines, sorted."""
    changed = []
    for path in sorted(_files(old_tree) & _files(new_tree)):
        if not is_source(path):
            continue
        old, new = (old_tree / path).read_bytes(), (new_tree / path).read_bytes()
        if old != new and not _version_bump_only(old, new, versions):
            changed.append(path)
    return changed


def mine(work: Path, names: set[str] | None = None) -> tuple[list[Instance], list[Dropped]]:
    """Instances for the pinned pairs (optionally only packages in `names`), repos under work/repos/."""
    trees, repos = work / "trees", work / "repos"
    instances: list[Instance] = []
    dropped: list[Dropped] = []
    for old, new in release_pairs():
        if names and old.name.lower() not in names:
            continue
        iid = f"pypi:{old.name.lower()}-{old.version}..{new.version}"
        old_tree, new_tree = tree_of(old, trees), tree_of(new, trees)
        notes = release_notes(new_tree, new.version)
        if notes is None:
            dropped.append(Dropped(iid, SOURCE, "no-changelog", f"no notes for {new.version} in the sdist"))
            continue
        question, changelog = notes
        if len(re.findall(r"[A-Za-z]{2,}", question)) < _MIN_WORDS:
            dropped.append(Dropped(iid, SOURCE, "empty-notes", question[:80]))
            continue
        gold = changed_sources(old_tree, new_tree, (old.version, new.version))
        if not gold:
            dropped.append(Dropped(iid, SOURCE, "no-source-change"))
            continue
        if len(gold) > MAX_GOLD:
            dropped.append(Dropped(iid, SOURCE, "too-many-gold", f"{len(gold)} files"))
            continue
        repo = repos / iid.replace(":", "-")
        _materialize(old_tree, repo)
        instances.append(Instance(iid, SOURCE, question, gold, repo, {
            "package": old.name, "old": old.version, "new": new.version, "changelog": changelog,
            "kind": "patch release (approximates a commit)"}))
    return instances, dropped


def _materialize(tree: Path, repo: Path) -> None:
    """A committed git copy of the older tree; built once (a `.ready` marker guards against a half copy)."""
    marker = repo.with_name(repo.name + ".ready")
    if marker.exists() and repo.is_dir():
        return
    shutil.rmtree(repo, ignore_errors=True)
    repo.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["cp", "-a", str(tree), str(repo)], check=True)
    commit_tree(repo)
    marker.touch()
