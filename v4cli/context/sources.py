"""Command-line paths and stdin to decoded text documents: the first stage of the context engine.

`collect(paths, options, stdin)` turns arguments into a `Collection`: the documents, and everything left out
with a stable reason. Enumeration and ignore rules live in walk.py and ignore.py, decoding in decode.py.

Arguments. Each is a directory, a file or a glob that we expand ('src/**/*.py'; a path that exists is never
treated as a glob). A missing path is a UsageError.
- A directory is walked with the ignore rules (git's listing inside a work tree).
- A file named explicitly is collected even when an ignore file or the default list would leave it out (as
  `git add -f`, ripgrep and files-to-prompt do): naming it is the override. It is still checked for binary
  content and size, and --include/--exclude still apply.
- A glob walks its literal base directory with the ignore rules and keeps files whose path below the base
  matches (gitwildmatch: `*` stops at `/`, `**` spans directories; matching a directory keeps all below it).

Display paths. With one directory argument (the common case, including the default '.'), paths are relative
to it: `src/app.py`. Otherwise they are relative to the current directory when every argument lies inside
it, else to the arguments' common parent. POSIX separators. A path whose name holds control characters,
invalid UTF-8, `"` or `\\` is shown quoted, C style, as git does (display.py): `"bad\\nname"`. Directories
left out as a whole end with `/` (`./` is the root itself). Both lists are sorted by path in code-point
order, which is the byte order of the UTF-8 path.

Reasons (Skipped.reason), stable slugs:
- "binary": binary extension (decided without reading), NUL bytes in the first 8 KiB, a BOM that does not
  decode, or mostly invalid UTF-8;
- "too-large": bigger than max_file_bytes (decided from stat: a 1 GB file is never read);
- "ignored": matched by a .ignore or .v4ignore file (the detail names file, line and pattern);
- "default-ignored": matched by the built-in list (DEFAULT_IGNORES in ignore.py);
- "excluded": matched by an --exclude glob (files not matching --include are simply not collected);
- "unreadable": a file or directory that cannot be opened, listed or read (permissions, I/O errors, a file
  that vanished while being read), or trees nested more than 64 deep (repositories, followed symlinks);
- "special-file": a FIFO, socket or device (never opened: opening a FIFO would block);
- "symlink-outside": a symlink whose target lies outside the root (follow_symlinks collects it);
- "symlink-dir": a symlink to a directory inside the root (its files are collected at their own path);
- "symlink-loop": a symlink chain that loops, or a directory that is its own ancestor;
- "broken-symlink": a symlink whose target does not exist;
- "duplicate": with follow_symlinks, a directory already collected through another symlink.
Paths that .gitignore (or .git/info/exclude, core.excludesFile) ignores are not reported at all: git's listing
never shows them, and reporting them only outside git would make the two modes disagree. Files deleted from
the work tree but still tracked are not reported either. Empty files are documents with empty text.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import xxhash

from v4cli.context.display import display_path
from v4cli.context.decode import Binary, binary_extension, decode, describe_binary
from v4cli.context.languages import language_for
from v4cli.context.walk import Candidate, Listing, Omission, WalkOptions, list_tree, special_kind
from v4cli.errors import UsageError

STDIN_PATH = "<stdin>"
_GLOB_MAGIC = re.compile(r"[*?\[]")
# Serial below this many files: a thread pool costs more than it saves on a handful of small files.
_PARALLEL_THRESHOLD = 16
_BATCH = 128
# Reading threads hold the GIL for all but their system calls. Two keep a read in flight while a batch is
# decoded, and the disk busy on a cold page cache; more only pass the GIL around among themselves. (The A/B runs
# once quoted here for two against four were flawed: see benchmarks/README.md, ab_pack.py.)
_READ_THREADS = 2


@dataclass(frozen=True, slots=True)
class SourceOptions:
    include: tuple[str, ...] = ()  # gitwildmatch globs on display paths; if non-empty only matching files are kept
    exclude: tuple[str, ...] = ()  # gitwildmatch globs on display paths, applied after include
    max_file_bytes: int = 1_000_000  # larger files are skipped ("too-large"); 0 = no cap
    follow_symlinks: bool = False  # symlinks pointing outside the root are never followed unless True
    default_ignores: bool = True  # the built-in list (ignore.DEFAULT_IGNORES)
    use_gitignore: bool = True  # .gitignore/.ignore/.git/info/exclude/.v4ignore (and git's enumeration)


@dataclass(frozen=True, slots=True)
class Document:
    path: str  # display path (see the module docstring); "<stdin>" for stdin
    text: str  # decoded: BOM stripped, UTF-16/32 with BOM decoded, invalid UTF-8 as U+FFFD; line ends kept
    size: int  # bytes read
    digest: str  # xxh3_128 hex of the raw bytes (the cache key)
    language: str  # "python", "javascript", "typescript", "tsx", "go", "rust", "markdown", "json", ..., "text"
    flags: tuple[str, ...]  # subset of "bom", "utf16", "utf32", "invalid-utf8", "generated", in that order


@dataclass(frozen=True, slots=True)
class Skipped:
    path: str
    reason: str  # a stable slug, listed in the module docstring
    detail: str  # one short human sentence


OnBatch = Callable[[list[Document], int], None]  # (documents just read, candidates of the batch skipped instead)


@dataclass
class Collection:
    documents: list[Document]  # sorted by path
    skipped: list[Skipped]  # sorted by path


@dataclass
class Plan:
    """What collect will read: candidates in listing order, and what was left out before reading."""

    to_read: list[tuple[str, Candidate]]
    skipped: dict[str, Skipped]


def collect(
    paths: Sequence[str], options: SourceOptions = SourceOptions(), stdin: bytes | None = None
) -> Collection:
    """Collect documents from command-line paths and/or stdin bytes."""
    return read_plan(plan_sources(paths, options), options, stdin)


def plan_sources(paths: Sequence[str], options: SourceOptions = SourceOptions()) -> Plan:
    """List and filter the candidates of command-line paths without reading any file."""
    arguments = [_classify(path) for path in paths]
    base = _display_base(arguments)
    walk_options = WalkOptions(options.follow_symlinks, options.default_ignores, options.use_gitignore)
    include = _globs(options.include, "--include")
    exclude = _globs(options.exclude, "--exclude")

    to_read: list[tuple[str, Candidate]] = []
    skipped: dict[str, Skipped] = {}
    seen: set[str] = set()
    for argument in arguments:
        for raw_path, item in argument.entries(walk_options, base):
            shown = display_path(raw_path)
            if isinstance(item, Omission):
                skipped.setdefault(shown, Skipped(shown, item.reason, item.detail))
                continue
            if include is not None and not include.match_file(raw_path):
                continue
            if exclude is not None and exclude.match_file(raw_path):
                skipped.setdefault(shown, Skipped(shown, "excluded", "matches an --exclude pattern"))
                continue
            if shown not in seen:
                seen.add(shown)
                to_read.append((shown, item))
    return Plan(to_read, skipped)


def read_plan(plan: Plan, options: SourceOptions = SourceOptions(), stdin: bytes | None = None,
              on_batch: OnBatch | None = None) -> Collection:
    """Read the planned candidates (in parallel) and stdin into sorted documents and skips; `on_batch` is told
    each batch of documents as it is read (and how many candidates of the batch were skipped instead)."""
    skipped = dict(plan.skipped)
    documents: list[Document] = []
    for result in _read_all(plan.to_read, options.max_file_bytes, on_batch):
        if isinstance(result, Document):
            documents.append(result)
        else:
            skipped.setdefault(result.path, result)
    if stdin is not None:
        result = document_from_stdin(stdin)
        is_document = isinstance(result, Document)
        if is_document:
            documents.append(result)
        else:
            skipped[result.path] = result
        if on_batch:
            on_batch([result] if is_document else [], 0 if is_document else 1)
    collected = {document.path for document in documents}
    return Collection(
        documents=sorted(documents, key=lambda d: d.path),
        skipped=sorted((s for s in skipped.values() if s.path not in collected), key=lambda s: s.path),
    )


def document_from_stdin(data: bytes) -> Document | Skipped:
    """stdin as one document; binary input (a PDF, an image) is skipped until extractors exist."""
    decoded = decode(data)
    if isinstance(decoded, Binary):
        return Skipped(STDIN_PATH, "binary", f"stdin is binary ({describe_binary(data)}); only text is supported")
    return Document(
        STDIN_PATH, decoded.text, len(data), _digest(data), language_for("", decoded.text), decoded.flags
    )


# --- arguments ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Argument:
    kind: str  # "dir", "file" or "glob"
    path: bytes  # absolute, lexically normalized; for a glob its literal base directory
    text: str  # as given
    pattern: str = ""  # for a glob: the part below the base

    @property
    def anchor(self) -> bytes:
        """The directory display paths of this argument start from."""
        return self.path if self.kind != "file" else os.path.dirname(self.path)

    def entries(self, options: WalkOptions, base: bytes) -> Iterator[tuple[str, Candidate | Omission]]:
        """(raw display path, item) pairs; a raw path is a str that may hold surrogate escapes."""
        if self.kind == "file":
            yield _relative(self.path, base), _explicit_file(self.path)
            return
        listing = list_tree(self.path, options)
        if self.kind == "glob":
            listing = _matching(listing, self.pattern, self.text)
        prefix = _relative(self.path, base)
        for item in (*listing.candidates, *listing.omissions):
            rel = os.fsdecode(item.rel)
            if prefix:
                shown = f"{prefix}/{rel}" if rel else f"{prefix}/"
            else:
                shown = rel or "./"
            yield shown, item


def _classify(text: str) -> _Argument:
    raw = os.fsencode(text)
    path = os.path.abspath(raw)
    if os.path.lexists(raw):
        try:
            is_dir = stat.S_ISDIR(os.stat(raw).st_mode)
        except OSError:
            is_dir = False  # a broken symlink or a loop: reported when read
        return _Argument("dir" if is_dir else "file", path, text)
    if _GLOB_MAGIC.search(text):
        parts = text.split("/")
        literal = next(i for i, part in enumerate(parts) if _GLOB_MAGIC.search(part))
        base_text = "/".join(parts[:literal]) or ("/" if text.startswith("/") else ".")
        base = os.path.abspath(os.fsencode(base_text))
        if os.path.isdir(base):
            return _Argument("glob", base, text, "/".join(parts[literal:]))
    raise UsageError(f"no such file or directory: {text}", hint="check the path; quote globs so v4 expands them")


def _globs(patterns: tuple[str, ...], option: str):
    """The --include/--exclude patterns as one GitIgnoreSpec, or None (pathspec loads only when there are some)."""
    if not patterns:
        return None
    import pathspec

    for pattern in patterns:
        try:
            pathspec.GitIgnoreSpec.from_lines([pattern])
        except ValueError:
            hint = "patterns use .gitignore syntax"
            raise UsageError(f"invalid {option} pattern: {pattern!r}", hint=hint) from None
    return pathspec.GitIgnoreSpec.from_lines(patterns)


def _display_base(arguments: list[_Argument]) -> bytes:
    if len(arguments) == 1 and arguments[0].kind == "dir":
        return arguments[0].path
    cwd = os.getcwdb()
    anchors = [argument.anchor for argument in arguments]
    if all(_is_within(anchor, cwd) for anchor in anchors):
        return cwd
    return os.path.commonpath(anchors) if anchors else cwd


def _is_within(path: bytes, directory: bytes) -> bool:
    return path == directory or path.startswith(directory.rstrip(b"/") + b"/")


def _relative(path: bytes, base: bytes) -> str:
    rel = os.path.relpath(path, base)
    return "" if rel == b"." else os.fsdecode(rel).replace(os.sep, "/")


def _matching(listing: Listing, pattern: str, text: str) -> Listing:
    import pathspec

    spec = pathspec.GitIgnoreSpec.from_lines(["/" + pattern])
    kept = Listing(
        [c for c in listing.candidates if spec.match_file(os.fsdecode(c.rel))],
        [o for o in listing.omissions if o.rel and spec.match_file(os.fsdecode(o.rel))],
    )
    if not kept.candidates and not kept.omissions:
        raise UsageError(f"no files match {text}", hint="check the pattern; '**' spans directories")
    return kept


def _explicit_file(path: bytes) -> Candidate | Omission:
    """A file named on the command line: symlinks are followed (it was named), ignore rules do not apply."""
    try:
        st = os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return Omission(b"", "symlink-loop", "symlink chain loops back on itself")
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return Omission(b"", "broken-symlink", "symlink target does not exist")
        return Omission(b"", "unreadable", f"cannot stat: {exc.strerror}")
    if not stat.S_ISREG(st.st_mode):
        return Omission(b"", "special-file", f"{special_kind(st.st_mode)}, not a regular file")
    return Candidate(os.path.basename(path), path, st.st_size, through_symlink=True)


# --- reading -----------------------------------------------------------------------------------------------


def _read_all(items: list[tuple[str, Candidate]], max_bytes: int, on_batch: OnBatch | None = None
              ) -> list[Document | Skipped]:
    """Read in parallel; results come back in input order whatever the scheduling, and each batch goes to
    `on_batch` (on the calling thread) as soon as it and those before it are read."""

    def read_batch(batch: list[tuple[str, Candidate]]) -> list[Document | Skipped]:
        return [_read(shown, candidate, max_bytes) for shown, candidate in batch]

    pool = None
    if len(items) < _PARALLEL_THRESHOLD:
        batches = [read_batch(items)]
    else:
        # Batches: one future per file costs more than reading a small file.
        chunks = [items[i : i + _BATCH] for i in range(0, len(items), _BATCH)]
        pool = ThreadPoolExecutor(max_workers=min(_READ_THREADS, len(chunks)), thread_name_prefix="v4-read")
        batches = pool.map(read_batch, chunks)
    results: list[Document | Skipped] = []
    try:
        for batch in batches:
            results += batch
            if on_batch:
                documents = [r for r in batch if isinstance(r, Document)]
                on_batch(documents, len(batch) - len(documents))
    finally:
        if pool:
            pool.shutdown(cancel_futures=True)
    return results


def _read(shown: str, candidate: Candidate, max_bytes: int) -> Document | Skipped:
    name = os.fsdecode(os.path.basename(candidate.rel))
    extension = binary_extension(name)
    if extension:
        return Skipped(shown, "binary", f"binary file type (.{extension})")
    if max_bytes and candidate.size > max_bytes:
        return Skipped(shown, "too-large", f"{candidate.size:,} bytes, over the {max_bytes:,}-byte limit")
    try:
        data = _read_bytes(candidate.fs_path, max_bytes, follow=candidate.through_symlink)
    except _NotRegular as exc:
        return Skipped(shown, "special-file", f"{exc}, not a regular file")
    except OSError as exc:
        return Skipped(shown, "unreadable", f"cannot read: {exc.strerror or exc}")
    if data is None:
        return Skipped(shown, "too-large", f"grew over the {max_bytes:,}-byte limit while being read")
    decoded = decode(data)
    if isinstance(decoded, Binary):
        return Skipped(shown, "binary", decoded.detail)
    return Document(shown, decoded.text, len(data), _digest(data), language_for(name, decoded.text), decoded.flags)


class _NotRegular(Exception):
    pass


_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)


def _read_bytes(path: bytes, max_bytes: int, follow: bool) -> bytes | None:
    """The file's bytes; None when it holds more than max_bytes. O_NONBLOCK plus a check of the opened file:
    a FIFO swapped in after the walk cannot block us."""
    fd = os.open(path, _OPEN_FLAGS if follow else _OPEN_FLAGS | _NOFOLLOW)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise _NotRegular(special_kind(st.st_mode))
        limit = max_bytes + 1 if max_bytes else None
        chunks = []
        total = 0
        while limit is None or total < limit:
            chunk = os.read(fd, 1 << 20 if limit is None else min(1 << 20, limit - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    finally:
        os.close(fd)
    if max_bytes and total > max_bytes:
        return None
    return b"".join(chunks)


def _digest(data: bytes) -> str:
    return xxhash.xxh3_128_hexdigest(data)
