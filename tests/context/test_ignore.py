"""Ignore semantics: the walker must agree with git itself, file for file."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.context.gitfixtures import NO_GIT_PATH, git, init_repo, isolated_git, write  # noqa: F401  (fixture)
from v4cli.context.ignore import DEFAULT_IGNORES, parse_ignore
from v4cli.context.sources import SourceOptions, collect

NO_DEFAULTS = SourceOptions(default_ignores=False)


def git_listing(repo: Path) -> set[str]:
    out = git(repo, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    return {p for p in out.split("\0") if p}


def collected(root: Path, monkeypatch: pytest.MonkeyPatch, *, with_git: bool) -> set[str]:
    with monkeypatch.context() as patch:
        patch.chdir(root)
        if not with_git:
            patch.setenv("PATH", NO_GIT_PATH)
        collection = collect(["."], NO_DEFAULTS)
    return {d.path for d in collection.documents}


def assert_agree(root: Path, monkeypatch: pytest.MonkeyPatch) -> set[str]:
    expected = git_listing(root)
    assert collected(root, monkeypatch, with_git=True) == expected
    assert collected(root, monkeypatch, with_git=False) == expected
    return expected


CASES = [
    # (ignore files, files in the tree)
    ({".gitignore": "*.log\n", "sub/.gitignore": "!keep/\n"}, ["sub/keep/f.log", "sub/keep/ok.txt", "a.log"]),
    ({".gitignore": "/build\n"}, ["build/a.txt", "src/build/b.txt"]),
    ({".gitignore": "build/\n"}, ["build/a.txt", "src/build/b.txt", "lib/build"]),
    ({".gitignore": "docs/*\n!docs/keep/\n"}, ["docs/a.md", "docs/keep/b.md", "docs/keep/sub/c.md"]),
    ({".gitignore": "docs/\n!docs/keep.md\n"}, ["docs/keep.md", "docs/other.md"]),
    ({".gitignore": "**/gen/**\n"}, ["gen/a.txt", "x/gen/b.txt", "x/gen/c/d.txt", "x/generated/e.txt"]),
    ({".gitignore": "a/**/b\n"}, ["a/b", "a/x/b", "a/x/y/b", "c/a/b"]),
    ({".gitignore": "a/foo**/x\n"}, ["a/foo/b/x", "a/fooz/q/x", "a/foo/x"]),  # git's literal-prefix quirk
    ({".gitignore": "*.txt\n!/keep.txt\n"}, ["keep.txt", "d/keep.txt", "other.txt"]),
    ({".gitignore": "f[a-c].txt\n[!x]y.txt\n"}, ["fa.txt", "fd.txt", "xy.txt", "zy.txt"]),
    ({".gitignore": "f[[:digit:]].txt\n"}, ["f1.txt", "fa.txt"]),
    ({".gitignore": "bad[.txt\n*.tmp\n"}, ["bad[.txt", "badx.txt", "a.tmp"]),  # malformed bracket: never matches
    ({".gitignore": "trail\\ \nsp  \n"}, ["trail ", "trail", "sp", "sp  "]),
    ({".gitignore": "\\#hash\n\\!bang\n#comment\n"}, ["#hash", "!bang", "comment"]),
    ({".gitignore": "crlf.txt\r\nother.txt\r\n"}, ["crlf.txt", "other.txt", "kept.txt"]),
    ({".gitignore": "\ufeffbom.txt\n"}, ["bom.txt", "kept.txt"]),
    ({".gitignore": "*\n!*/\n!*.py\n"}, ["a.py", "a.txt", "d/b.py", "d/b.txt"]),
    ({".gitignore": "sub\n", "x/.gitignore": "!sub\n"}, ["sub/a", "x/sub/b"]),
    ({".gitignore": "x/y/\n", "x/.gitignore": "!y/\n"}, ["x/y/a.txt"]),
    ({".gitignore": "?.md\n"}, ["a.md", "ab.md", "é.md"]),  # '?' is one byte, as in git
    ({".git/info/exclude": "secret*\n", ".gitignore": "!secret2\n"}, ["secret1", "secret2", "d/secret3"]),
]


@pytest.mark.parametrize("ignores,files", CASES, ids=[f"case{i}" for i in range(len(CASES))])
def test_walker_and_git_agree_on_tricky_patterns(tmp_path, monkeypatch, ignores, files):
    repo = init_repo(tmp_path / "repo")
    write(repo, {name: "x\n" for name in files})
    for name, content in ignores.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_bytes(content.encode())
    assert assert_agree(repo, monkeypatch), "every case keeps at least one file"


# --- property: random trees and random ignore files ----------------------------------------------------------

SEGMENTS = ["a", "b", "build", "*", "**", "*.log", "*.txt", "x.txt", "?.py", "[a-b]", "b*", "y.log", "c.py"]
DIRS = ["a", "b", "build", "lib"]
FILES = ["x.txt", "y.log", "c.py", "build", "a", "é.txt"]


@st.composite
def patterns(draw) -> str:
    segments = draw(st.lists(st.sampled_from(SEGMENTS), min_size=1, max_size=3))
    text = "/".join(segments)
    if draw(st.booleans()):
        text = "/" + text
    if draw(st.booleans()):
        text += "/"
    if draw(st.integers(0, 3)) == 0:
        text = "!" + text
    return text


@st.composite
def trees(draw) -> tuple[list[str], dict[str, str]]:
    directory = st.lists(st.sampled_from(DIRS), min_size=0, max_size=3).map("/".join)
    dirs = draw(st.lists(directory, min_size=1, max_size=6))
    files: set[str] = set()
    taken_as_dir = {"/".join(d.split("/")[: i + 1]) for d in dirs if d for i in range(len(d.split("/")))}
    for directory in dirs:
        for name in draw(st.lists(st.sampled_from(FILES), min_size=1, max_size=3)):
            path = f"{directory}/{name}" if directory else name
            if path not in taken_as_dir:
                files.add(path)
    ignore_dirs = draw(st.lists(st.sampled_from(sorted({""} | set(dirs))), min_size=1, max_size=3, unique=True))
    ignores = {}
    for d in ignore_dirs:
        lines = draw(st.lists(patterns(), min_size=1, max_size=4))
        ignores[f"{d}/.gitignore" if d else ".gitignore"] = "\n".join(lines) + "\n"
    return sorted(files), ignores


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tree=trees())
def test_walker_and_git_agree_on_random_trees(tree, monkeypatch):
    files, ignores = tree
    with tempfile.TemporaryDirectory() as tmp:
        repo = init_repo(Path(tmp) / "repo")
        write(repo, {name: "x\n" for name in files})
        write(repo, ignores)
        assert_agree(repo, monkeypatch)


# --- the parser on its own -----------------------------------------------------------------------------------


def test_last_matching_rule_wins_and_reports_its_line():
    rules = parse_ignore(b"*.txt\n!keep.txt\n", ".gitignore")
    assert rules.last_match(b"keep.txt", b"keep.txt", False).negated
    drop = rules.last_match(b"d/drop.txt", b"drop.txt", False)
    assert (drop.negated, drop.line, drop.pattern) == (False, 1, "*.txt")
    assert rules.last_match(b"other.md", b"other.md", False) is None


def test_directory_only_patterns_skip_files():
    rules = parse_ignore(b"out/\n", ".gitignore")
    assert rules.last_match(b"out", b"out", True) is not None
    assert rules.last_match(b"out", b"out", False) is None


def test_default_list_parses_and_keeps_env_templates():
    defaults = parse_ignore(DEFAULT_IGNORES.encode(), "defaults")
    assert len(defaults.rules) > 80
    assert defaults.last_match(b".env.example", b".env.example", False).negated
    assert not defaults.last_match(b".env.local", b".env.local", False).negated
    assert defaults.last_match(b"src/app.min.js", b"app.min.js", False) is not None
    assert defaults.last_match(b"app.js", b"app.js", False) is None


def test_nested_repository_is_not_ruled_by_the_outer_gitignore(tmp_path, monkeypatch):
    outer = init_repo(tmp_path / "outer")
    inner = init_repo(outer / "inner")
    write(outer, {".gitignore": "*.log\n", "top.log": "x", "top.txt": "x"})
    write(inner, {"in.log": "x", "in.txt": "x", ".gitignore": "in.txt\n"})
    expected = {".gitignore", "top.txt", "inner/in.log", "inner/.gitignore"}
    assert collected(outer, monkeypatch, with_git=True) == expected
    assert collected(outer, monkeypatch, with_git=False) == expected


def test_gitignore_that_is_a_symlink_is_not_read_like_git(tmp_path, monkeypatch):
    repo = init_repo(tmp_path / "repo")
    write(repo, {"rules": "*.txt\n", "a.txt": "x"})
    os.symlink("rules", repo / ".gitignore")
    assert_agree(repo, monkeypatch)
