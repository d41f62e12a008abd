"""collect(): real trees, real git repositories, hostile file system entries."""

from __future__ import annotations

import json
import os
import random
import shutil
import socket
import sys
import tempfile
import threading
from pathlib import Path

import pytest

from tests.context.gitfixtures import NO_GIT_PATH, git, init_repo, isolated_git, no_git, write  # noqa: F401  (fixtures)
from v4cli.context.display import display_path
from v4cli.context.sources import STDIN_PATH, Collection, SourceOptions, collect
from v4cli.context.walk import WalkOptions, list_tree
from v4cli.errors import UsageError

def run_in(root: Path, monkeypatch, paths=(".",), options: SourceOptions = SourceOptions(), stdin=None) -> Collection:
    monkeypatch.chdir(root)
    return collect(list(paths), options, stdin)


def doc_paths(collection: Collection) -> list[str]:
    return [d.path for d in collection.documents]


def skips(collection: Collection) -> dict[str, str]:
    return {s.path: s.reason for s in collection.skipped}


def collect_with_hang_guard(*args, **kwargs) -> Collection:
    """Run collect in a thread so a blocking open() fails the test instead of hanging the suite."""
    result: list = []
    worker = threading.Thread(target=lambda: result.append(collect(*args, **kwargs)), daemon=True)
    worker.start()
    worker.join(120)
    assert not worker.is_alive(), "collect() blocked"
    return result[0]


# --- paths and display ---------------------------------------------------------------------------------------


def test_single_directory_argument_gives_paths_relative_to_it(tmp_path, monkeypatch):
    write(tmp_path / "proj", {"src/app.py": "print(1)\n", "README.md": "# hi\n"})
    collection = run_in(tmp_path, monkeypatch, ["proj"])
    assert doc_paths(collection) == ["README.md", "src/app.py"]
    app = collection.documents[1]
    assert (app.language, app.size, app.text) == ("python", 9, "print(1)\n")
    assert len(app.digest) == 32 and app.digest != collection.documents[0].digest


def test_several_arguments_are_relative_to_the_current_directory_and_deduplicated(tmp_path, monkeypatch):
    write(tmp_path, {"src/a.py": "a\n", "tests/t.py": "t\n", "top.md": "m\n"})
    collection = run_in(tmp_path, monkeypatch, ["src", "tests", "top.md", "./src/a.py", "."])
    assert doc_paths(collection) == ["src/a.py", "tests/t.py", "top.md"]


def test_arguments_outside_the_current_directory_use_their_common_parent(tmp_path, monkeypatch):
    write(tmp_path, {"one/a.txt": "a\n", "two/b.txt": "b\n", "here/x": ""})
    monkeypatch.chdir(tmp_path / "here")
    collection = collect([str(tmp_path / "one"), "../two/b.txt"])
    assert doc_paths(collection) == ["one/a.txt", "two/b.txt"]


def test_missing_path_is_a_usage_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError, match="no such file or directory: nope.py"):
        collect(["nope.py"])


def test_globs_are_expanded_with_ignore_rules(tmp_path, monkeypatch):
    write(tmp_path, {"src/a.py": "", "src/deep/b.py": "", "src/c.txt": "", "src/node_modules/m.py": "", "d.py": ""})
    collection = run_in(tmp_path, monkeypatch, ["src/**/*.py"])
    assert doc_paths(collection) == ["src/a.py", "src/deep/b.py"]
    assert doc_paths(run_in(tmp_path, monkeypatch, ["*.py"])) == ["d.py"]
    with pytest.raises(UsageError, match="no files match"):
        run_in(tmp_path, monkeypatch, ["src/**/*.rs"])


def test_display_path_quotes_only_what_needs_it():
    assert display_path("src/café.py") == "src/café.py"
    assert display_path("a\nb") == '"a\\nb"'
    assert display_path('say "hi"') == '"say \\"hi\\""'
    assert display_path("bad\udce9.txt") == '"bad\\xe9.txt"'  # byte 0xE9 kept by surrogateescape
    assert display_path("c1\x85") == '"c1\\u0085"'  # a real U+0085 differs from the byte 0x85


@pytest.mark.parametrize("with_git", [True, False])
def test_names_with_newlines_and_invalid_utf8(tmp_path, monkeypatch, with_git):
    root = init_repo(tmp_path / "r") if with_git else tmp_path / "r"
    root.mkdir(exist_ok=True)
    for name in (b"new\nline.txt", b"latin\xe9.txt", b"ok.txt"):
        with open(os.path.join(os.fsencode(root), name), "wb") as handle:
            handle.write(b"content\n")
    if not with_git:
        monkeypatch.setenv("PATH", NO_GIT_PATH)
    collection = run_in(root, monkeypatch)
    assert doc_paths(collection) == ['"latin\\xe9.txt"', '"new\\nline.txt"', "ok.txt"]
    assert all(d.text == "content\n" for d in collection.documents)
    json.dumps([d.path for d in collection.documents]).encode("utf-8")  # printable and encodable


def test_order_is_deterministic_and_in_code_point_order(tmp_path, monkeypatch):
    names = [f"d{i % 7}/{'é' if i % 3 == 0 else 'e'}{i}-{'_' if i % 2 else 'A'}.txt" for i in range(200)]
    random.Random(4).shuffle(names)
    write(tmp_path, {name: name for name in names})
    first = run_in(tmp_path, monkeypatch)
    second = run_in(tmp_path, monkeypatch)
    assert first == second
    assert doc_paths(first) == sorted(names, key=lambda p: p.encode("utf-8"))
    assert all(d.text == d.path for d in first.documents)  # each result belongs to its own path


# --- ignore rules ------------------------------------------------------------------------------------------


def test_default_ignores_report_each_pruned_directory_once(tmp_path, monkeypatch, no_git):
    files = {"app.js": "", "node_modules/x/index.js": "", "node_modules/y/index.js": "", "dist/app.min.js": ""}
    write(tmp_path, {**files, "package-lock.json": "{}", ".env": "KEY=1", ".env.example": "KEY=", "a.min.js": ""})
    collection = run_in(tmp_path, monkeypatch)
    assert doc_paths(collection) == [".env.example", "app.js"]
    assert skips(collection) == {
        ".env": "default-ignored",
        "a.min.js": "default-ignored",
        "dist/": "default-ignored",
        "node_modules/": "default-ignored",
        "package-lock.json": "default-ignored",
    }
    node = next(s for s in collection.skipped if s.path == "node_modules/")
    assert node.detail == "matches 'node_modules/' in the default ignore list"
    everything = run_in(tmp_path, monkeypatch, options=SourceOptions(default_ignores=False))
    assert len(everything.documents) == 8 and everything.skipped == []


@pytest.mark.parametrize("with_git", [True, False])
def test_v4ignore_and_ignore_files_nest_and_can_reinclude_defaults(tmp_path, monkeypatch, with_git):
    root = init_repo(tmp_path / "r") if with_git else tmp_path / "r"
    write(root, {
        ".v4ignore": "*.snap\n!vendor/\n",
        "vendor/lib.go": "package lib\n",
        "a.snap": "", "keep.txt": "",
        "sub/.ignore": "*.txt\n",
        "sub/.v4ignore": "!important.txt\n",
        "sub/notes.txt": "", "sub/important.txt": "", "sub/b.snap": "",
    })
    if not with_git:
        monkeypatch.setenv("PATH", NO_GIT_PATH)
    collection = run_in(root, monkeypatch)
    assert doc_paths(collection) == [
        ".v4ignore", "keep.txt", "sub/.ignore", "sub/.v4ignore", "sub/important.txt", "vendor/lib.go"
    ]
    assert skips(collection) == {"a.snap": "ignored", "sub/b.snap": "ignored", "sub/notes.txt": "ignored"}
    detail = next(s.detail for s in collection.skipped if s.path == "sub/notes.txt")
    assert detail == "matches '*.txt' in sub/.ignore:1"


def test_explicit_file_arguments_override_ignore_rules(tmp_path, monkeypatch):
    repo = init_repo(tmp_path / "r")
    write(repo, {".gitignore": "secret.txt\n", "secret.txt": "s\n", ".env": "K=1\n", "a.py": ""})
    collection = run_in(repo, monkeypatch, [".", "secret.txt", ".env"])
    assert doc_paths(collection) == [".env", ".gitignore", "a.py", "secret.txt"]
    assert skips(collection) == {}  # the explicit .env wins over its default-ignored entry


def test_include_and_exclude_apply_to_display_paths(tmp_path, monkeypatch):
    write(tmp_path, {"src/a.py": "", "src/b.ts": "", "tests/t.py": "", "docs/x.md": ""})
    options = SourceOptions(include=("*.py", "docs/"), exclude=("tests/",))
    collection = run_in(tmp_path, monkeypatch, options=options)
    assert doc_paths(collection) == ["docs/x.md", "src/a.py"]
    assert skips(collection) == {"tests/t.py": "excluded"}


def test_invalid_include_or_exclude_pattern_is_a_usage_error(tmp_path, monkeypatch):
    with pytest.raises(UsageError, match="invalid --exclude pattern: '!'"):
        run_in(tmp_path, monkeypatch, options=SourceOptions(exclude=("*.md", "!")))


def test_use_gitignore_false_lists_everything_but_git_metadata(tmp_path, monkeypatch):
    repo = init_repo(tmp_path / "r")
    write(repo, {".gitignore": "*.log\n", "a.log": "", ".v4ignore": "b.txt\n", "b.txt": ""})
    options = SourceOptions(use_gitignore=False)
    assert doc_paths(run_in(repo, monkeypatch, options=options)) == [".gitignore", ".v4ignore", "a.log", "b.txt"]


# --- git ---------------------------------------------------------------------------------------------------


def test_git_semantics_tracked_files_stay_and_deleted_ones_vanish(tmp_path, monkeypatch):
    repo = init_repo(tmp_path / "r")
    write(repo, {"keep.log": "tracked\n", "gone.py": "", "new.py": "", "x.log": ""})
    git(repo, "add", "keep.log", "gone.py")
    git(repo, "commit", "-qm", "init")
    write(repo, {".gitignore": "*.log\n"})
    (repo / "gone.py").unlink()
    collection = run_in(repo, monkeypatch)
    assert doc_paths(collection) == [".gitignore", "keep.log", "new.py"]
    assert collection.skipped == []


def test_submodules_and_untracked_nested_repositories_are_collected(tmp_path, monkeypatch):
    library = init_repo(tmp_path / "library")
    write(library, {"lib.py": "L\n", ".gitignore": "*.tmp\n"})
    git(library, "add", ".")
    git(library, "commit", "-qm", "lib")
    repo = init_repo(tmp_path / "r")
    write(repo, {"main.py": ""})
    git(repo, "-c", "protocol.file.allow=always", "submodule", "--quiet", "add", str(library), "deps/library")
    write(repo, {"deps/library/scratch.tmp": "", "deps/library/untracked.py": ""})
    nested = init_repo(repo / "nested")
    write(nested, {"n.py": ""})
    collection = run_in(repo, monkeypatch)
    assert doc_paths(collection) == [
        ".gitmodules",
        "deps/library/.gitignore",
        "deps/library/lib.py",
        "deps/library/untracked.py",
        "main.py",
        "nested/n.py",
    ]


def test_a_directory_argument_ignored_by_git_is_still_entered(tmp_path, monkeypatch):
    repo = init_repo(tmp_path / "r")
    write(repo, {".gitignore": "generated/\n*.tmp\n", "generated/.gitignore": "old.py\n"})
    write(repo, {"generated/api.py": "", "generated/x.tmp": "", "generated/old.py": ""})
    assert doc_paths(run_in(repo, monkeypatch, ["generated"])) == [".gitignore", "api.py", "x.tmp"]
    assert doc_paths(run_in(repo / "generated", monkeypatch)) == [".gitignore", "api.py", "x.tmp"]


def test_subdirectory_of_a_repository_keeps_the_rules_above_it(tmp_path, monkeypatch):
    repo = init_repo(tmp_path / "r")
    write(repo, {".gitignore": "*.log\n/src/gen/\n", ".v4ignore": "*.snap\n"})
    write(repo, {"src/a.py": "", "src/a.log": "", "src/a.snap": "", "src/gen/g.py": ""})
    collection = run_in(repo, monkeypatch, ["src"])
    assert doc_paths(collection) == ["a.py"]
    assert skips(collection) == {"a.snap": "ignored"}
    monkeypatch.setenv("PATH", NO_GIT_PATH)
    assert doc_paths(run_in(repo, monkeypatch, ["src"])) == ["a.py"]


def test_git_location_variables_from_a_hook_do_not_redirect_the_listing(tmp_path, monkeypatch):
    other = init_repo(tmp_path / "other")
    write(other, {"wrong.py": ""})
    repo = init_repo(tmp_path / "r")
    write(repo, {"right.py": ""})
    monkeypatch.setenv("GIT_DIR", str(other / ".git"))
    monkeypatch.setenv("GIT_WORK_TREE", str(other))
    assert doc_paths(run_in(repo, monkeypatch)) == ["right.py"]


def test_tracked_paths_below_a_symlink_are_not_followed_outside(tmp_path, monkeypatch):
    outside = tmp_path / "outside"
    write(outside, {"b.txt": "secret\n"})
    repo = init_repo(tmp_path / "r")
    write(repo, {"a/b.txt": "mine\n"})
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "a")
    (repo / "a" / "b.txt").unlink()
    (repo / "a").rmdir()
    os.symlink(outside, repo / "a")
    collection = run_in(repo, monkeypatch)
    assert collection.documents == []
    assert skips(collection) == {"a": "symlink-outside"}


# --- hostile entries -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("with_git", [True, False])
def test_fifo_and_socket_are_never_opened(tmp_path, monkeypatch, with_git):
    root = init_repo(tmp_path / "r") if with_git else tmp_path / "r"
    write(root, {"a.txt": "a\n"})
    os.mkfifo(root / "pipe")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(root / "sock"))
    os.symlink("pipe", root / "to-pipe")
    try:
        if not with_git:
            monkeypatch.setenv("PATH", NO_GIT_PATH)
        monkeypatch.chdir(root)
        collection = collect_with_hang_guard(["."])
        explicit = collect_with_hang_guard(["pipe"])
    finally:
        server.close()
    assert doc_paths(collection) == ["a.txt"]
    expected = {"to-pipe": "special-file"}  # git itself never lists FIFOs or sockets, only the symlink
    if not with_git:
        expected.update({"pipe": "special-file", "sock": "special-file"})
    assert skips(collection) == expected
    assert skips(explicit) == {"pipe": "special-file"}


def test_symlinks_loops_outside_and_inside(tmp_path, monkeypatch, no_git):
    outside = tmp_path / "outside"
    write(outside, {"o.txt": "outside\n", "deeper/d.txt": "deep\n"})
    os.symlink(outside, outside / "deeper" / "back")  # a cycle once followed
    root = tmp_path / "root"
    write(root, {"real/r.txt": "r\n"})
    os.symlink("loop-b", root / "loop-a")
    os.symlink("loop-a", root / "loop-b")
    os.symlink("real/r.txt", root / "alias.txt")
    os.symlink("real", root / "alias-dir")
    os.symlink(outside / "o.txt", root / "out.txt")
    os.symlink(outside, root / "out-dir")
    os.symlink(outside, root / "out-dir-again")
    os.symlink("missing", root / "broken")
    collection = run_in(root, monkeypatch)
    assert doc_paths(collection) == ["alias.txt", "real/r.txt"]
    assert skips(collection) == {
        "alias-dir": "symlink-dir",
        "broken": "broken-symlink",
        "loop-a": "symlink-loop",
        "loop-b": "symlink-loop",
        "out-dir": "symlink-outside",
        "out-dir-again": "symlink-outside",
        "out.txt": "symlink-outside",
    }
    followed = run_in(root, monkeypatch, options=SourceOptions(follow_symlinks=True))
    assert doc_paths(followed) == ["alias.txt", "out-dir/deeper/d.txt", "out-dir/o.txt", "out.txt", "real/r.txt"]
    assert skips(followed) == {
        "alias-dir": "symlink-dir",
        "broken": "broken-symlink",
        "loop-a": "symlink-loop",
        "loop-b": "symlink-loop",
        "out-dir-again": "duplicate",
        "out-dir/deeper/back": "symlink-loop",
    }


def collect_as_nobody(root: Path) -> dict:
    """chmod 000 means nothing to root: as root, collect in a forked child that dropped to nobody."""
    if os.geteuid() != 0:
        return summary(collect([str(root)]))
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child never returns into pytest
        status = 1
        try:
            os.close(read_end)
            os.setgid(65534)
            os.setuid(65534)
            os.write(write_end, json.dumps(summary(collect([str(root)]))).encode())
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        out = pipe.read()
    _, status = os.waitpid(pid, 0)
    assert status == 0
    return json.loads(out)


def summary(collection: Collection) -> dict:
    return {"docs": doc_paths(collection), "skipped": skips(collection)}


def test_unreadable_file_and_directory_are_reported(no_git):
    base = Path(tempfile.mkdtemp(prefix="v4-unreadable-"))  # outside pytest's root-only tmp dirs
    try:
        base.chmod(0o755)
        write(base, {"ok.txt": "ok\n", "secret.txt": "s\n", "locked/inner.txt": "i\n"})
        (base / "secret.txt").chmod(0)
        (base / "locked").chmod(0)
        expected = {"docs": ["ok.txt"], "skipped": {"locked/": "unreadable", "secret.txt": "unreadable"}}
        assert collect_as_nobody(base) == expected
    finally:
        (base / "locked").chmod(0o755)
        shutil.rmtree(base)


def test_a_file_that_fails_while_being_read_is_reported():
    """/proc/self/mem stats as an empty regular file, and reading it fails with an I/O error, even as root."""
    collection = collect(["/proc/self/mem"])
    assert collection.documents == []
    assert [(s.path, s.reason) for s in collection.skipped] == [("mem", "unreadable")]


@pytest.mark.parametrize("with_git", [True, False])
def test_trees_deeper_than_the_recursion_limit(monkeypatch, with_git):
    # Outside pytest's tmp_path: its cleanup (shutil.rmtree) recurses and would choke on this tree.
    root = Path(tempfile.mkdtemp(prefix="v4-deep-"))
    if with_git:
        init_repo(root)
    else:
        monkeypatch.setenv("PATH", NO_GIT_PATH)
    levels = sys.getrecursionlimit() + 100
    fd = os.open(root, os.O_RDONLY)
    try:
        for _ in range(levels):  # one level at a time, relative to a descriptor: os.makedirs recurses too
            os.mkdir("d", dir_fd=fd)
            inner = os.open("d", os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = inner
        leaf = os.open("leaf.txt", os.O_CREAT | os.O_WRONLY, 0o644, dir_fd=fd)
        os.write(leaf, b"leaf\n")
        os.close(leaf)
        collection = run_in(root, monkeypatch)
    finally:
        os.close(fd)
        monkeypatch.chdir(tempfile.gettempdir())
        flatten(root / "d")
        shutil.rmtree(root)
    assert [d.text for d in collection.documents] == ["leaf\n"]
    assert collection.documents[0].path.count("/") == levels


def flatten(top: Path) -> None:
    """Remove a very deep chain of directories: shutil.rmtree recurses and would fail on it."""
    if not top.is_dir():
        return
    while (top / "d").is_dir():
        os.rename(top / "d", top.parent / "lifted")
        shutil.rmtree(top)
        os.rename(top.parent / "lifted", top)
    shutil.rmtree(top)


# --- reading -----------------------------------------------------------------------------------------------


def test_a_sparse_gigabyte_is_skipped_from_its_size(tmp_path, monkeypatch):
    with open(tmp_path / "huge.txt", "wb") as handle:
        handle.truncate(1 << 30)
    write(tmp_path, {"small.txt": "x" * 100})
    collection = run_in(tmp_path, monkeypatch, options=SourceOptions(max_file_bytes=50))
    assert skips(collection) == {"huge.txt": "too-large", "small.txt": "too-large"}
    collection = run_in(tmp_path, monkeypatch)
    assert doc_paths(collection) == ["small.txt"]
    assert collection.skipped[0].detail == "1,073,741,824 bytes, over the 1,000,000-byte limit"


def test_no_cap_reads_large_files(tmp_path, monkeypatch):
    write(tmp_path, {"big.txt": "y" * 2_000_000})
    collection = run_in(tmp_path, monkeypatch, options=SourceOptions(max_file_bytes=0))
    assert collection.documents[0].size == 2_000_000


def test_encodings_binary_and_flags(tmp_path, monkeypatch):
    write(tmp_path, {
        "utf16.txt": "\ufeffwide text\n".encode("utf-16-le"),
        "latin1.txt": "caf\xe9\n".encode("latin-1"),
        "bom.py": b"\xef\xbb\xbfprint(1)\n",
        "blob.dat2": b"\x00\x01\x02binary",
        "fake.png": b"this is text, but the name says image",
        "gen.go": b"// Code generated by stringer; DO NOT EDIT.\npackage x\n",
        "empty.txt": b"",
    })
    collection = run_in(tmp_path, monkeypatch)
    docs = {d.path: d for d in collection.documents}
    assert docs["utf16.txt"].text == "wide text\n" and docs["utf16.txt"].flags == ("bom", "utf16")
    assert docs["latin1.txt"].text == "caf\ufffd\n" and docs["latin1.txt"].flags == ("invalid-utf8",)
    assert docs["bom.py"].text == "print(1)\n" and docs["bom.py"].flags == ("bom",)
    assert docs["gen.go"].flags == ("generated",) and docs["gen.go"].language == "go"
    assert docs["empty.txt"].text == "" and docs["empty.txt"].size == 0
    assert skips(collection) == {"blob.dat2": "binary", "fake.png": "binary"}
    assert next(s.detail for s in collection.skipped if s.path == "fake.png") == "binary file type (.png)"


def test_stdin_alone_and_with_paths(tmp_path, monkeypatch):
    write(tmp_path, {"a.txt": "a\n"})
    alone = collect([], stdin=b"#!/usr/bin/env python\nprint(1)\n")
    assert [(d.path, d.language) for d in alone.documents] == [(STDIN_PATH, "python")]
    both = run_in(tmp_path, monkeypatch, stdin=b"log line\n")
    assert doc_paths(both) == [STDIN_PATH, "a.txt"]
    pdf = collect([], stdin=b"%PDF-1.4\n\x00\x01\x02")
    assert pdf.documents == []
    assert [(s.path, s.reason) for s in pdf.skipped] == [(STDIN_PATH, "binary")]
    assert "PDF" in pdf.skipped[0].detail


def test_a_hundred_thousand_files(tmp_path, monkeypatch):
    root = tmp_path / "big"
    root.mkdir()
    for d in range(100):
        directory = root / f"d{d:03}"
        directory.mkdir()
        seed = tmp_path / f"seed{d}"
        seed.write_text(f"{d}\n")
        for f in range(1000):
            os.link(seed, directory / f"f{f:04}.txt")  # one syscall per file (and under the link limit)
    monkeypatch.chdir(root)
    with monkeypatch.context() as patch:
        patch.setenv("PATH", NO_GIT_PATH)
        collection = collect(["."])
    assert len(collection.documents) == 100_000 and collection.skipped == []
    assert (collection.documents[0].path, collection.documents[-1].path) == ("d000/f0000.txt", "d099/f0999.txt")
    assert [d.text for d in collection.documents[::1000]] == [f"{d}\n" for d in range(100)]
    init_repo(root)
    listing = list_tree(bytes(root), WalkOptions())  # git's enumeration; reading is the same as above
    assert len(listing.candidates) == 100_000 and listing.omissions == []


def test_batches_are_reported_as_read_each_document_once(tmp_path, monkeypatch):
    """read_plan's on_batch sees every document exactly once, in listing order, and counts the candidates that
    reading skipped (binary, too large) instead; plan-level skips are not reported again."""
    from v4cli.context import sources

    monkeypatch.setattr(sources, "_BATCH", 5)
    files = {f"src/m{i:02}.py": f"x = {i}\n" for i in range(40)}
    files |= {"src/blob.dat": "a\0b", "src/big.txt": "y" * 5000, "node_modules/dep.js": "z"}
    write(tmp_path, files)
    monkeypatch.chdir(tmp_path)
    options = SourceOptions(max_file_bytes=1000)
    plan = sources.plan_sources(["."], options)
    seen, skipped = [], []

    def on_batch(documents, n_skipped):
        seen.extend(documents)
        skipped.append(n_skipped)

    collection = sources.read_plan(plan, options, b"piped\n", on_batch=on_batch)
    listed = [shown for shown, _ in plan.to_read]
    assert [d.path for d in seen] == [p for p in listed if p not in ("src/blob.dat", "src/big.txt")] + [STDIN_PATH]
    assert sorted(seen, key=lambda d: d.path) == collection.documents
    assert len(skipped) > 3 and sum(skipped) == 2  # the NUL file and the large one; node_modules was never read
    assert {s.path for s in collection.skipped} >= {"src/blob.dat", "src/big.txt"}
