"""List the files under one directory root, applying ignore rules, without ever reading a file.

Inside a git work tree, git lists the files (`ls-files --cached --others --exclude-standard`): exactly git's
ignore semantics, tracked files always included, fast on large trees. The same listing also names v4's own
ignore files, even those .gitignore hides (see `_git_listing`), so that no directory is probed for them.
Elsewhere (or when git is missing or refuses the repository) a pruning `os.scandir` walk applies nested
`.gitignore` files and `.git/info/exclude` with the same semantics (ignore.py). On top of either, v4's own
layer: nested `.ignore` and `.v4ignore` files and the built-in default list (lowest precedence, so a
`.v4ignore` line like `!vendor/` re-includes).

Hostile trees: FIFOs, sockets and devices are reported, never opened; symlinks are resolved once and checked
against the root; directory cycles (bind mounts, followed symlinks) are cut by (device, inode); unreadable
directories are reported; names are handled as bytes end to end.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import subprocess
from dataclasses import dataclass, field
from typing import NamedTuple

from v4cli.context.display import display_bytes, display_path
from v4cli.context.ignore import IgnoreFile, default_ignore_file, first_decision, read_ignore_file

GIT_IGNORE_FILE = b".gitignore"
TOOL_IGNORE_FILES = (b".ignore", b".v4ignore")  # later wins within one directory
_TOOL_NAMES = frozenset(TOOL_IGNORE_FILES)
# Trees inside trees (submodules, nested repositories, followed symlinks) recurse; a hostile chain must not.
MAX_NESTED_ROOTS = 64
# Variables that would make `git -C DIR` look at another repository (e.g. when v4 runs inside a git hook).
_GIT_LOCATION_VARIABLES = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR", "GIT_PREFIX")
# git's listing, tagged ("H " tracked, "? " untracked, ...), with v4's ignore files re-included: patterns given
# on the command line take precedence over .gitignore files, except below a directory git ignores.
_GIT_LISTING = ("ls-files", "-z", "-t", "--cached", "--others", "--exclude-standard",
                *(f"--exclude=!{os.fsdecode(name)}" for name in TOOL_IGNORE_FILES))
# Tracked files that git's rules ignore: their directories may hide ignore files git does not list.
_GIT_TRACKED_IGNORED = ("ls-files", "-z", "--cached", "--ignored", "--exclude-standard")


class FileIdentity(NamedTuple):
    """What git's index keeps of a file's stat to tell whether it changed (a stat_result costs 4x the memory)."""

    size: int
    mtime_ns: int
    ctime_ns: int
    inode: int

    @classmethod
    def of(cls, st: os.stat_result) -> FileIdentity:
        return cls(st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A regular file to read: `rel` is relative to the root ('/'-separated bytes), `fs_path` what to open.

    `through_symlink` is False for a file that was no symlink when listed: it is then opened with O_NOFOLLOW,
    so a symlink swapped in after the walk cannot lead the read outside the root. `listed` is what the stat
    taken when it was listed says (lstat, or stat through the symlink): the snapshot fingerprint reuses it."""

    rel: bytes
    fs_path: bytes
    size: int
    through_symlink: bool = False
    listed: FileIdentity | None = None


@dataclass(frozen=True, slots=True)
class Omission:
    """Something left out before reading; `rel` ends with b"/" for a directory (b"" is the root itself)."""

    rel: bytes
    reason: str
    detail: str


@dataclass(slots=True)
class Listing:
    candidates: list[Candidate] = field(default_factory=list)
    omissions: list[Omission] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class WalkOptions:
    follow_symlinks: bool = False
    default_ignores: bool = True
    use_gitignore: bool = True


def list_tree(root: bytes, options: WalkOptions) -> Listing:
    """All files under the directory `root` (an absolute path) that survive the ignore rules."""
    return _Lister(root, options).run()


@dataclass(frozen=True, slots=True)
class _GitListing:
    """One work tree as git lists it, and where v4's ignore files are (directories as b"" or b"a/b/")."""

    entries: list[bytes]  # sorted and unique, exactly what plain `ls-files --cached --others` would list
    tool_names: dict[bytes, frozenset[bytes]]  # directory -> the ignore files git knows of in it
    probe: set[bytes]  # directories git ignores that hold tracked files: their ignore files are looked for


@dataclass(frozen=True, slots=True)
class _Frames:
    """The ignore files in force for one directory, shallow to deep; bases are relative to the frame root."""

    git: tuple[IgnoreFile, ...]
    tool: tuple[IgnoreFile, ...]


class _Lister:
    def __init__(self, root: bytes, options: WalkOptions) -> None:
        self.root = root
        self.real_root = os.path.realpath(root)
        self.options = options
        self.listing = Listing()
        self.followed: set[tuple[int, int]] = set()  # directories entered through symlinks
        self.defaults = (default_ignore_file(),) if options.default_ignores else ()
        self.git = shutil.which("git") if options.use_gitignore else None
        # Ignore files match paths relative to a frame root: the root itself, or the top of the work tree
        # around it when the rules above the root apply. match path = prefix + rel.
        self.prefix = b""
        self.nesting = 0  # nested roots being collected, one inside the other

    def run(self) -> Listing:
        try:
            st = os.stat(self.root)
            names = set(os.listdir(self.root))
        except OSError as exc:
            self._omit(b"", "unreadable", f"cannot list directory: {exc.strerror}")
            return self.listing
        top, git_knows_top = self._work_tree_top()
        outer, git_ignores_root = self._outer_frames(top)
        frames = self._enter(self.root, b"", outer, names, boundary=top == self.real_root)
        use_git = git_knows_top and not git_ignores_root
        self._tree(self.root, b"", frames, ((st.st_dev, st.st_ino),), use_git)
        return self.listing

    # --- the root and what lies above it ----------------------------------------------------------------

    def _work_tree_top(self) -> tuple[bytes | None, bool]:
        """The top of the work tree holding the root, and whether git itself vouches for it."""
        if self.git is not None:
            out = self._git(self.root, "rev-parse", "--show-toplevel")
            if out is not None and out.strip():
                return os.path.realpath(out.rstrip(b"\n")), True
        if not self.options.use_gitignore:
            return None, False
        directory = self.real_root
        while True:
            if os.path.lexists(os.path.join(directory, b".git")):
                return directory, False
            parent = os.path.dirname(directory)
            if parent == directory:
                return None, False
            directory = parent

    def _outer_frames(self, top: bytes | None) -> tuple[_Frames, bool]:
        """Ignore files from the work tree top down to the root's parent, and whether git's layer ignores
        the root.

        A directory named on the command line is always entered: when rules above it would ignore it (say
        `v4 pack build/` with `build/` in .gitignore), the rules of that layer above it are dropped and only
        the ones inside it apply.
        """
        start = _Frames((), self.defaults)
        if top is None or top == self.real_root:
            return start, False
        rel_root = os.path.relpath(self.real_root, top)
        if rel_root.startswith(b".."):
            return start, False
        parts = rel_root.split(os.sep.encode())
        self.prefix = b"/".join(parts) + b"/"
        frames = _Frames(self._info_exclude(top, b""), self.defaults)
        frames = self._read_frames(top, None, b"", frames, absolute=True)
        git_ignored = tool_ignored = False
        for depth in range(1, len(parts) + 1):
            directory = b"/".join(parts[:depth])
            git_ignored = git_ignored or _decides_ignored(frames.git, directory, True)
            tool_ignored = tool_ignored or _decides_ignored(frames.tool, directory, True)
            if depth < len(parts):
                frames = self._read_frames(os.path.join(top, directory), None, directory + b"/", frames, True)
        kept = _Frames(() if git_ignored else frames.git, self.defaults if tool_ignored else frames.tool)
        return kept, git_ignored

    # --- trees -------------------------------------------------------------------------------------------

    def _tree(self, path: bytes, rel: bytes, frames: _Frames, ancestors: tuple, use_git: bool) -> None:
        """Collect one directory tree whose own ignore files are already in `frames`."""
        if use_git and self.git is not None:
            listing = self._git_listing(path)
            if listing is not None:
                self._from_git(path, rel, listing, frames.tool, ancestors)
                return
        self._walk(path, rel, frames, ancestors)

    def _nested_root(self, path: bytes, rel: bytes, st: os.stat_result, tool: tuple, ancestors: tuple) -> None:
        """A directory that starts a new tree: a submodule, a nested repository, a followed symlink."""
        if self.nesting >= MAX_NESTED_ROOTS:
            self._omit(rel, "unreadable", f"more than {MAX_NESTED_ROOTS} nested repositories or followed symlinks")
            return
        try:
            names = set(os.listdir(path))
        except OSError as exc:
            self._omit(rel, "unreadable", f"cannot list directory: {exc.strerror}")
            return
        nested = b".git" in names
        frames = self._enter(path, rel, _Frames((), tool), names, boundary=nested)
        self.nesting += 1
        try:
            self._tree(path, rel, frames, (*ancestors, (st.st_dev, st.st_ino)), use_git=nested)
        finally:
            self.nesting -= 1

    def _git(self, cwd: bytes, *args: str) -> bytes | None:
        return self._git_output(self._git_start(cwd, args))

    def _git_start(self, cwd: bytes, args: tuple[str, ...], stdin: bool = False) -> subprocess.Popen | None:
        env = {k: v for k, v in os.environ.items() if k not in _GIT_LOCATION_VARIABLES}
        env["GIT_OPTIONAL_LOCKS"] = "0"
        try:
            return subprocess.Popen(
                [self.git, "-C", os.fsdecode(cwd), *args],
                stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
            )
        except OSError:
            return None

    @staticmethod
    def _git_output(
        proc: subprocess.Popen | None, data: bytes | None = None, ok: tuple[int, ...] = (0,)
    ) -> bytes | None:
        """What git wrote to stdout, once it has finished with an exit status in `ok`; None otherwise."""
        if proc is None:
            return None
        out, _ = proc.communicate(data)
        return out if proc.returncode in ok else None

    def _git_listing(self, path: bytes) -> _GitListing | None:
        """git's listing of the work tree at `path` and the ignore files of v4 in it; None when git refuses.

        The re-included ignore files show as untracked; those that git's rules do ignore (and anything else
        the re-inclusion brought in, such as the contents of an ignored directory named `.ignore`) are
        left out of the entries again after asking `git check-ignore`. Directories git ignores are never
        entered by git, so the ignore files below them are unknown: the few of them that hold tracked files
        (and so are collected) are probed for them."""
        listing = self._git_start(path, _GIT_LISTING)
        tracked_ignored = self._git_start(path, _GIT_TRACKED_IGNORED)  # runs alongside: two cores, one wait
        out, hidden = self._git_output(listing), self._git_output(tracked_ignored)
        if out is None or hidden is None:
            return None
        entries: set[bytes] = set()
        suspects: list[bytes] = []
        for item in out.split(b"\0"):
            if not item:
                continue
            entry = item[2:]
            entries.add(entry)
            if item[:1] == b"?" and b"ignore" in entry and not _TOOL_NAMES.isdisjoint(entry.split(b"/")):
                suspects.append(entry)
        tool_names: dict[bytes, set[bytes]] = {}
        for entry in entries:
            if entry.endswith(TOOL_IGNORE_FILES):
                directory, _, name = entry.rpartition(b"/")
                if name in _TOOL_NAMES:
                    tool_names.setdefault(directory + b"/" if directory else b"", set()).add(name)
        if suspects:
            query = [entry.rstrip(b"/") for entry in suspects]
            ignored = self._git_output(self._git_start(path, ("check-ignore", "-z", "--stdin"), stdin=True),
                                       b"\0".join(query) + b"\0", ok=(0, 1))
            if ignored is None:
                return None
            ignored_set = set(ignored.split(b"\0"))
            entries.difference_update(e for e, q in zip(suspects, query) if q in ignored_set)
        probe = set()
        for entry in hidden.split(b"\0"):
            parts = entry.split(b"/")[:-1]
            probe.update(b"/".join(parts[:depth]) + b"/" for depth in range(1, len(parts) + 1))
        return _GitListing(sorted(entries), {d: frozenset(n) for d, n in tool_names.items()}, probe)

    def _from_git(self, path: bytes, rel: bytes, git: _GitListing, tool: tuple, ancestors: tuple) -> None:
        """Apply v4's layer to git's list; directories in it (submodules, nested repositories) are new roots."""
        dir_tool: dict[bytes, tuple[IgnoreFile, ...] | None] = {b"": tool}

        def tool_of(directory: bytes) -> tuple[IgnoreFile, ...] | None:
            """v4's frames for a listed directory (b"" or b"a/b/"); None when it or a parent is left out."""
            pending = []  # iterative: a hostile tree can be thousands of levels deep
            while directory not in dir_tool:
                pending.append(directory)
                parent = directory[:-1].rpartition(b"/")[0]
                directory = parent + b"/" if parent else b""
            outer = dir_tool[directory]
            for directory in reversed(pending):
                outer = dir_tool[directory] = None if outer is None else enter(directory, outer)
            return outer

        def enter(directory: bytes, outer: tuple[IgnoreFile, ...]) -> tuple[IgnoreFile, ...] | None:
            dir_path = os.path.join(path, directory[:-1])
            try:
                st = os.lstat(dir_path)
            except OSError:
                return None
            if stat.S_ISLNK(st.st_mode):
                # Tracked paths below a symlink (lstat of such a path would follow it): judge the link.
                self._symlink(dir_path, rel + directory[:-1], outer, ancestors)
                return None
            if not stat.S_ISDIR(st.st_mode) or self._tool_ignored(outer, rel + directory[:-1], True):
                return None
            # only v4's own ignore files matter here: git already applied its rules to the listing
            names = _TOOL_NAMES if directory in git.probe else git.tool_names.get(directory)
            if not names:
                return outer
            return self._read_frames(dir_path, names, rel + directory, _Frames((), outer)).tool

        base = os.path.join(path, b"")
        last_parent, outer = None, tool
        for entry in git.entries:  # sorted: the entries of one directory come one after another
            entry = entry.rstrip(b"/")  # an untracked nested repository is listed as "dir/"
            parent = entry[: entry.rfind(b"/") + 1]
            if parent != last_parent:
                last_parent, outer = parent, tool_of(parent)
            if outer is None:
                continue
            entry_rel = rel + entry
            entry_path = base + entry
            try:
                st = os.lstat(entry_path)
            except OSError:
                continue  # tracked but deleted from the work tree
            is_dir = stat.S_ISDIR(st.st_mode)
            if self._tool_ignored(outer, entry_rel, is_dir):
                continue
            if not is_dir:
                self._file(entry_path, entry_rel, st, outer, ancestors)
            elif _is_ancestor(st, ancestors):
                self._omit(entry_rel + b"/", "symlink-loop", "directory is its own ancestor (a bind mount?)")
            else:
                self._nested_root(entry_path, entry_rel + b"/", st, outer, ancestors)

    def _walk(self, path: bytes, rel: bytes, frames: _Frames, ancestors: tuple) -> None:
        """Depth-first walk in byte order of names, pruning ignored directories."""
        # Each item: a directory, and either its own frames (the start) or its parent's (entered below).
        stack: list[tuple[bytes, bytes, _Frames, tuple, bool]] = [(path, rel, frames, ancestors, True)]
        while stack:
            dir_path, dir_rel, dir_frames, dir_ancestors, entered = stack.pop()
            try:
                with os.scandir(dir_path) as it:
                    entries = sorted(it, key=lambda e: e.name)
            except OSError as exc:
                self._omit(dir_rel, "unreadable", f"cannot list directory: {exc.strerror}")
                continue
            if not entered:  # read the directory's ignore files now that its names are known
                names = {e.name for e in entries}
                nested = b".git" in names
                dir_frames = self._enter(dir_path, dir_rel, dir_frames, names, boundary=nested)
                if nested and self.git is not None:  # a nested repository: git lists it, our layer on top
                    listing = self._git_listing(dir_path)
                    if listing is not None:
                        self._from_git(dir_path, dir_rel, listing, dir_frames.tool, dir_ancestors)
                        continue
            children = []
            for entry in entries:
                name = entry.name
                if name == b".git":
                    continue
                entry_rel = dir_rel + name
                try:
                    is_link = entry.is_symlink()
                    is_dir = not is_link and entry.is_dir(follow_symlinks=False)
                    st = None if is_link else entry.stat(follow_symlinks=False)
                except OSError:
                    continue  # vanished while we looked
                if self._ignored(dir_frames, entry_rel, is_dir):
                    continue
                if is_link:
                    self._symlink(entry.path, entry_rel, dir_frames.tool, dir_ancestors)
                elif not is_dir:
                    self._file(entry.path, entry_rel, st, dir_frames.tool, dir_ancestors)
                elif _is_ancestor(st, dir_ancestors):
                    self._omit(entry_rel + b"/", "symlink-loop", "directory is its own ancestor (a bind mount?)")
                else:
                    ancestry = (*dir_ancestors, (st.st_dev, st.st_ino))
                    children.append((entry.path, entry_rel + b"/", dir_frames, ancestry, False))
            stack.extend(reversed(children))

    # --- ignore files ------------------------------------------------------------------------------------

    def _enter(
        self, path: bytes, rel: bytes, frames: _Frames, names: set[bytes] | None, boundary: bool
    ) -> _Frames:
        """Frames for a directory: its parent's plus its own ignore files. At a repository boundary git's
        layer restarts (outer .gitignore files do not reach into another repository) with .git/info/exclude."""
        if boundary:
            frames = _Frames(self._info_exclude(path, self.prefix + rel), frames.tool)
        return self._read_frames(path, names, rel, frames)

    def _info_exclude(self, repo: bytes, base: bytes) -> tuple[IgnoreFile, ...]:
        if not self.options.use_gitignore:
            return ()
        exclude = os.path.join(repo, b".git", b"info", b"exclude")
        found = read_ignore_file(exclude, display_bytes(base + b".git/info/exclude"), base)
        return (found,) if found else ()

    def _read_frames(
        self, path: bytes, names: set[bytes] | None, rel: bytes, frames: _Frames, absolute: bool = False
    ) -> _Frames:
        """Append the ignore files found in one directory; `rel` (b"" or ending with b"/") locates it."""
        if not self.options.use_gitignore:
            return frames
        base = rel if absolute else self.prefix + rel
        git, tool = frames.git, frames.tool
        for name in (GIT_IGNORE_FILE, *TOOL_IGNORE_FILES):
            if names is not None and name not in names:
                continue
            found = read_ignore_file(os.path.join(path, name), display_bytes(base + name), base)
            if found is None:
                continue
            if name == GIT_IGNORE_FILE:
                git = (*git, found)
            else:
                tool = (*tool, found)
        return _Frames(git, tool)

    def _ignored(self, frames: _Frames, rel: bytes, is_dir: bool) -> bool:
        """Git's layer (silently: git mode never sees those paths either), then v4's (recording why)."""
        if _decides_ignored(frames.git, self.prefix + rel, is_dir):
            return True
        return self._tool_ignored(frames.tool, rel, is_dir)

    def _tool_ignored(self, tool: tuple[IgnoreFile, ...], rel: bytes, is_dir: bool) -> bool:
        decision = first_decision(tool, self.prefix + rel, is_dir)
        if decision is None or decision[0].negated:
            return False
        rule, source = decision
        default = source is default_ignore_file()
        where = source.origin if default else f"{source.origin}:{rule.line}"
        reason = "default-ignored" if default else "ignored"
        self._omit(rel + (b"/" if is_dir else b""), reason, f"matches '{display_path(rule.pattern)}' in {where}")
        return True

    # --- entries -----------------------------------------------------------------------------------------

    def _file(self, path: bytes, rel: bytes, st: os.stat_result, tool: tuple, ancestors: tuple) -> None:
        mode = st.st_mode
        if stat.S_ISREG(mode):
            self.listing.candidates.append(Candidate(rel, path, st.st_size, listed=FileIdentity.of(st)))
        elif stat.S_ISLNK(mode):
            self._symlink(path, rel, tool, ancestors)
        else:
            self._omit(rel, "special-file", f"{special_kind(mode)}, not a regular file")

    def _symlink(self, path: bytes, rel: bytes, tool: tuple, ancestors: tuple) -> None:
        """Files behind symlinks inside the root are read; directories inside it are collected at their own
        path; targets outside the root only with follow_symlinks, each directory once."""
        try:
            st = os.stat(path)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                self._omit(rel, "symlink-loop", "symlink chain loops back on itself")
            elif exc.errno in (errno.ENOENT, errno.ENOTDIR):
                self._omit(rel, "broken-symlink", "symlink target does not exist")
            else:
                self._omit(rel, "unreadable", f"cannot resolve symlink: {exc.strerror}")
            return
        target = os.path.realpath(path)
        inside = target == self.real_root or target.startswith(self.real_root.rstrip(b"/") + b"/")
        is_dir = stat.S_ISDIR(st.st_mode)
        if not inside and not self.options.follow_symlinks:
            kind = "directory" if is_dir else "file"
            self._omit(rel, "symlink-outside", f"symlink to a {kind} outside the root ({display_bytes(target)})")
        elif not is_dir:
            if stat.S_ISREG(st.st_mode):
                listed = FileIdentity.of(st)
                self.listing.candidates.append(Candidate(rel, path, st.st_size, through_symlink=True, listed=listed))
            else:
                self._omit(rel, "special-file", f"symlink to a {special_kind(st.st_mode)}, not a regular file")
        elif inside:
            self._omit(rel, "symlink-dir", "symlink to a directory inside the root (collected at its own path)")
        elif _is_ancestor(st, ancestors):
            self._omit(rel, "symlink-loop", "symlink to one of its own parent directories")
        elif (st.st_dev, st.st_ino) in self.followed:
            self._omit(rel, "duplicate", "symlink to a directory already collected through another symlink")
        else:
            self.followed.add((st.st_dev, st.st_ino))
            self._nested_root(path, rel + b"/", st, tool, ancestors)

    def _omit(self, rel: bytes, reason: str, detail: str) -> None:
        self.listing.omissions.append(Omission(rel, reason, detail))


def special_kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode):
        return "character device"
    if stat.S_ISBLK(mode):
        return "block device"
    return "special file"


def _is_ancestor(st: os.stat_result, ancestors: tuple) -> bool:
    return (st.st_dev, st.st_ino) in ancestors


def _decides_ignored(files: tuple[IgnoreFile, ...], path: bytes, is_dir: bool) -> bool:
    decision = first_decision(files, path, is_dir)
    return decision is not None and not decision[0].negated


