"""Git mode finds v4's own ignore files from git's listing instead of probing every directory."""

from __future__ import annotations

import os
import shutil
import subprocess

from tests.context.gitfixtures import NO_GIT_PATH, git, init_repo, isolated_git, write  # noqa: F401  (fixture)
from v4cli.context import walk
from v4cli.context.sources import SourceOptions, collect


def _collect(root, monkeypatch):
    monkeypatch.chdir(root)
    result = collect(["."], SourceOptions())
    return [d.path for d in result.documents], {s.path: s.detail for s in result.skipped}


def test_ignore_files_that_git_hides_still_apply_and_are_not_packed(tmp_path, monkeypatch):
    repo = init_repo(tmp_path / "r")
    write(repo, {
        ".gitignore": "build/\n.ignore\n",
        "src/a.py": "a = 1\n",
        "src/.v4ignore": "*.tmp\n", "src/b.tmp": "t\n",  # .v4ignore hidden by .git/info/exclude
        "src/.ignore": "*.bak\n", "src/c.bak": "b\n",  # .ignore hidden by .gitignore
        "docs/.ignore/x.md": "# a directory named .ignore, ignored by git\n",
        "docs/guide.md": "# guide\n",
        "kept/.v4ignore": "*.md\n", "kept/readme.md": "# r\n", "kept/k.py": "k = 1\n",  # tracked despite exclude
    })
    (repo / ".git" / "info" / "exclude").write_text(".v4ignore\n")
    git(repo, "add", "-A")
    git(repo, "add", "-f", "kept/.v4ignore")
    git(repo, "commit", "-q", "-m", "init")
    write(repo, {"src/untracked.tmp": "u\n", "src/new.py": "n = 1\n"})

    docs, skipped = _collect(repo, monkeypatch)

    assert docs == [".gitignore", "docs/guide.md", "kept/.v4ignore", "kept/k.py", "src/a.py", "src/new.py"]
    assert skipped == {
        "kept/readme.md": "matches '*.md' in kept/.v4ignore:1",
        "src/b.tmp": "matches '*.tmp' in src/.v4ignore:1",
        "src/c.bak": "matches '*.bak' in src/.ignore:1",
        "src/untracked.tmp": "matches '*.tmp' in src/.v4ignore:1",
    }


def test_tracked_files_under_an_ignored_directory_meet_the_ignore_files_there(tmp_path, monkeypatch):
    """git never enters an ignored directory, so it cannot name the ignore files in it: those are looked for."""
    repo = init_repo(tmp_path / "r")
    write(repo, {".gitignore": "vendored/\n", "main.py": "m = 1\n",
                 "vendored/lib/keep.py": "k = 1\n", "vendored/lib/drop.py": "d = 1\n",
                 "vendored/lib/.v4ignore": "drop.py\n"})
    git(repo, "add", ".gitignore", "main.py")
    git(repo, "add", "-f", "vendored/lib/keep.py", "vendored/lib/drop.py")
    git(repo, "commit", "-q", "-m", "init")

    docs, skipped = _collect(repo, monkeypatch)

    assert docs == [".gitignore", "main.py", "vendored/lib/keep.py"]
    assert skipped == {"vendored/lib/drop.py": "matches 'drop.py' in vendored/lib/.v4ignore:1"}


def test_no_directory_is_probed_when_git_names_every_ignore_file(tmp_path, monkeypatch):
    repo = init_repo(tmp_path / "r")
    files = {f"d{i}/sub/f.py": f"x = {i}\n" for i in range(20)}
    files["d3/.v4ignore"] = "*.log\n"
    files["d3/sub/x.log"] = "log\n"
    write(repo, files)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "init")
    opened = []
    real = walk.read_ignore_file

    def spy(path, origin, base):
        opened.append(path)
        return real(path, origin, base)

    monkeypatch.setattr(walk, "read_ignore_file", spy)
    docs, skipped = _collect(repo, monkeypatch)

    assert skipped == {"d3/sub/x.log": "matches '*.log' in d3/.v4ignore:1"}
    assert len(docs) == 21
    # the root's own files are read from its listing; below it, only the one ignore file that exists
    assert [p for p in opened if b"/d" in p] == [bytes(repo / "d3" / ".v4ignore")]


def _listing(root):
    listing = walk.list_tree(os.fsencode(root), walk.WalkOptions())
    # git mode may report a path twice (a symlink where a tracked directory was is listed as untracked, too)
    omissions = dict.fromkeys((o.rel, o.reason, o.detail) for o in listing.omissions)
    return [(c.rel, c.size, c.through_symlink) for c in listing.candidates], sorted(omissions)


def test_tracked_files_meet_untracked_ignore_files_and_changes_since_the_commit(tmp_path, monkeypatch):
    """Tracked files are listed as they are now (grown, gone, behind a symlink where their directory was) and
    obey an ignore file that is not committed; the plain walker agrees."""
    repo = init_repo(tmp_path / "r")
    write(repo, {"a/keep.py": "k = 1\n", "a/drop.log": "d\n", "b/grown.txt": "1\n", "b/gone.py": "g\n",
                 "c/x.py": "x = 1\n", "elsewhere/x.py": "elsewhere = 1\n"})
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "init")
    write(repo, {"a/.v4ignore": "*.log\n", "a/new.py": "n = 1\n", "b/grown.txt": "1\n2\n3\n"})
    (repo / "b" / "gone.py").unlink()
    shutil.rmtree(repo / "c")
    os.symlink("elsewhere", repo / "c")  # tracked c/x.py now lies behind a symlink to a directory inside

    candidates, omissions = _listing(repo)

    assert candidates == [(b"a/.v4ignore", 6, False), (b"a/keep.py", 6, False), (b"a/new.py", 6, False),
                          (b"b/grown.txt", 6, False), (b"elsewhere/x.py", 14, False)]
    assert omissions == [(b"a/drop.log", "ignored", "matches '*.log' in a/.v4ignore:1"),
                         (b"c", "symlink-dir", "symlink to a directory inside the root (collected at its own path)")]
    monkeypatch.setenv("PATH", NO_GIT_PATH)  # the plain walker sees the same tree
    plain_candidates, plain_omissions = _listing(repo)
    assert (plain_candidates, plain_omissions) == (candidates, omissions)


def test_a_file_with_a_merge_conflict_is_listed_once(tmp_path):
    """The index holds a conflicted path once per side (stages 1 to 3); git lists each."""
    repo = init_repo(tmp_path / "r")
    write(repo, {"f.txt": "base\n"})
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    git(repo, "checkout", "-q", "-b", "other")
    write(repo, {"f.txt": "other\n"})
    git(repo, "commit", "-q", "-am", "other")
    git(repo, "checkout", "-q", "-")
    write(repo, {"f.txt": "mine\n"})
    git(repo, "commit", "-q", "-am", "mine")
    # the merge conflicts, so git exits 1
    subprocess.run(["git", "-C", str(repo), "merge", "-q", "other"], check=False, capture_output=True)
    assert git(repo, "ls-files", "--cached").split("\n").count("f.txt") == 3  # the premise

    candidates, omissions = _listing(repo)

    assert [rel for rel, _, _ in candidates] == [b"f.txt"]
    assert omissions == []
