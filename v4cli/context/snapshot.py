"""Reuse the last packed context when nothing it was built from has changed.

A warm run on an unchanged repository would otherwise re-read and re-decode every file only to produce
the same bytes. The fingerprint is git's idea of a clean index entry: each candidate's size, mtime,
ctime and inode, plus every option that shapes the output. Like git, it distrusts a file modified within
the last two seconds (an edit in the same clock tick would keep its stat), and then simply packs again.
"""

from __future__ import annotations

import codecs
import errno
import gc
import json
import os
import shutil
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import asdict

import xxhash

from v4cli.context.cache import Cache
from v4cli.context.pack import FileEntry, PackResult, Selection, check_options, pack
from v4cli.context.prepare import COUNT_VERSION, Preparation, Progress, start_worker_ahead
from v4cli.context.sources import Plan, SourceOptions, Skipped, plan_sources, read_plan
from v4cli.context.walk import FileIdentity
from v4cli.errors import V4Error

FORMAT_VERSION = "snapshot-3"
_RACY_NS = 2_000_000_000
_KEEP_OUTPUTS = 8  # stored contexts kept on disk, most recently used first


def pack_paths(
    paths: list[str],
    options: SourceOptions,
    *,
    stdin: bytes | None,
    budget: int,
    fmt: str,
    redact: bool,
    cache: Cache,
    progress: Progress | None = None,
    selection: Selection = Selection(),
) -> PackResult:
    """`collect` + `pack`, answered from the stored output when the inputs are unchanged."""
    check_options(fmt, selection, budget)
    with _cycle_collection_paused():
        return _pack_paths(paths, options, stdin, budget, fmt, redact, cache, progress, selection)


@contextmanager
def _cycle_collection_paused() -> Iterator[None]:
    """A pack makes hundreds of thousands of objects that live until it ends, and every full pass of the
    cyclic garbage collector walks them all (6% of a cold pack of Django): pause it meanwhile. Reference
    counting still frees what is dropped; the few cycles wait until the collector runs again."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _pack_paths(paths: list[str], options: SourceOptions, stdin: bytes | None, budget: int, fmt: str, redact: bool,
                cache: Cache, progress: Progress | None, selection: Selection) -> PackResult:
    started = time.time_ns()  # before any stat: the racy rule measures from here
    store = _Store(cache)
    with ExitStack() as stack:
        worker = None
        if cache.is_empty():
            # a first run: nothing to reuse, every file to scan and count. A worker process starts meanwhile and
            # builds its tokenizer on the core that planning leaves idle (or, with one core, a thread here).
            worker = start_worker_ahead(redact)
            if worker is not None:
                stack.enter_context(worker)  # stopped if nothing is read after all (a bad argument, an error)
            else:
                from v4cli.context.tokens import build_in_background

                build_in_background()
        plan = plan_sources(paths, options)
        # an unredacted context is never written to disk: it would copy secrets into the cache directory
        base = store.enabled and redact and _fingerprint(plan, paths, options, stdin, [budget, fmt, redact], started)
        # a context where everything fit does not depend on the question, so it is stored under the base key and
        # serves every question; a ranked one is stored under a key that also names the question and the ranking
        ranked_key = base and xxhash.xxh3_128_hexdigest(json.dumps([base, asdict(selection)]).encode())
        for key in (base, ranked_key):
            hit = store.load(key) if key else None
            if hit is not None:
                return hit
        # counting and the secret scan start on the first files read, while the rest are still being read
        expected_chars = sum(candidate.size for _, candidate in plan.to_read) + len(stdin or b"")  # about
        with Preparation(cache, redact=redact, progress=progress, expected=len(plan.to_read) + (stdin is not None),
                         worker=worker, expected_chars=expected_chars) as preparation:
            collection = read_plan(plan, options, stdin, on_batch=preparation.add)
            prepared = preparation.result(collection.documents)
            # inside: the worker, if any, counts the frames of the files
            result = pack(collection, budget=budget, fmt=fmt, redact=redact, cache=cache, progress=progress,
                          selection=selection, prepared=prepared)
    if base:
        stored = store.save(ranked_key if any(f.section for f in result.files) else base, result)
        if stored is not None:  # the same bytes, copied out by the kernel instead of encoded a second time
            result.parts = stored
    return result


def _fingerprint(plan: Plan, paths, options: SourceOptions, stdin, pack_settings: list, now: int) -> str | None:
    from v4cli.context import secrets

    digest = xxhash.xxh3_128()
    settings = [FORMAT_VERSION, COUNT_VERSION, secrets.SCANNER_VERSION, os.getcwd(), list(paths), asdict(options),
                pack_settings, xxhash.xxh3_128_hexdigest(stdin) if stdin else None]
    digest.update(json.dumps(settings, sort_keys=True, default=str).encode())
    for shown, candidate in plan.to_read:
        seen = candidate.listed  # from the stat taken when the file was listed
        if seen is None:
            try:
                seen = FileIdentity.of(os.stat(candidate.fs_path) if candidate.through_symlink
                                       else os.lstat(candidate.fs_path))
            except OSError:
                return None
        size, mtime_ns, ctime_ns, inode = seen
        if now - mtime_ns < _RACY_NS or now - ctime_ns < _RACY_NS:
            return None
        digest.update(f"{shown}\0{size}\0{mtime_ns}\0{ctime_ns}\0{inode}\n".encode("utf-8", "surrogateescape"))
    for shown, skipped in sorted(plan.skipped.items()):
        digest.update(f"{shown}\0{skipped.reason}\n".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


class _Store:
    """Stored contexts as files next to the cache; their token counts and manifests as cache entries."""

    def __init__(self, cache: Cache) -> None:
        self.cache = cache
        self.directory = cache.path.parent / "contexts" if cache.path is not None else None
        self.enabled = self.directory is not None

    def load(self, key: str) -> PackResult | None:
        meta = self.cache.get_many([f"snapshot:{key}"]).get(f"snapshot:{key}")
        path = self.directory / f"{key}.txt"
        if not isinstance(meta, dict):
            return None
        try:
            manifest = _StoredManifest(self.cache.get_text(f"snapshot-manifest:{key}"))
            text = _StoredText(open(path, "rb"), meta["size"]) if meta["has_text"] else None
            os.utime(path)  # most recently used
            return PackResult(parts=text if text is not None else [], tokens=meta["tokens"], budget=meta["budget"],
                              format=meta["format"], files=_Stored(manifest, 0), skipped=_Stored(manifest, 1),
                              prefix_chars=meta["prefix_chars"])
        except (OSError, KeyError, TypeError, ValueError):
            return None  # a damaged entry costs one normal pack

    def save(self, key: str, result: PackResult) -> _StoredText | None:
        """Store the context; the stored text, open for reading, when there is one."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            partial = self.directory / f".{key}.{os.getpid()}.partial"
            size = 0
            with open(partial, "wb") as f:
                for part in result.parts:
                    data = part.encode("utf-8", "replace")  # exactly the bytes `v4 pack` writes
                    size += len(data)
                    f.write(data)
            stored = open(partial, "rb")  # open before the rename: a concurrent prune cannot take it away
        except OSError:
            return None
        try:
            partial.replace(self.directory / f"{key}.txt")
            self._prune()
        except OSError:
            stored.close()
            return None
        self.cache.put_many({
            f"snapshot-manifest:{key}": _manifest_of(result),
            f"snapshot:{key}": {"has_text": bool(result.parts), "tokens": result.tokens, "budget": result.budget,
                                "format": result.format, "prefix_chars": result.prefix_chars, "size": size},
        })
        if not result.parts:  # a manifest only (the json format)
            stored.close()
            return None
        return _StoredText(stored, size)

    def _prune(self) -> None:
        stored = sorted(self.directory.glob("*.txt"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in stored[_KEEP_OUTPUTS:]:
            old.unlink(missing_ok=True)


def _manifest_of(result: PackResult) -> dict:
    return {
        "files": [[f.path, f.language, f.bytes, f.tokens, f.status, f.reason, f.tokens_shown, list(f.flags),
                   [[r.line, r.kind] for r in f.redactions], f.section, f.why, f.score] for f in result.files],
        "skipped": [[s.path, s.reason, s.detail] for s in result.skipped],
    }


class _StoredManifest:
    """The files and skips of a stored context, fetched with it but parsed when first asked for: writing the
    context itself needs neither, and building 5,000 entries is a good part of a warm run."""

    def __init__(self, text: str | None) -> None:
        if text is None:
            raise ValueError("no manifest stored")  # the caller packs normally instead
        self._text = text
        self._lists: tuple[list[FileEntry], list[Skipped]] | None = None

    def lists(self) -> tuple[list[FileEntry], list[Skipped]]:
        if self._lists is None:
            try:
                self._lists = _manifest_from(json.loads(self._text))
            except (KeyError, TypeError, ValueError):
                raise V4Error("the manifest of the stored context is damaged",
                              hint="run again with --no-cache, or delete the cache directory") from None
        return self._lists


class _Stored(Sequence):
    """One list of a _StoredManifest."""

    def __init__(self, manifest: _StoredManifest, which: int) -> None:
        self._manifest, self._which = manifest, which

    def __getitem__(self, index):
        return self._manifest.lists()[self._which][index]

    def __len__(self) -> int:
        return len(self._manifest.lists()[self._which])


# Linux's sendfile writes to any file or pipe; macOS's only to sockets, and Windows has none.
_SENDFILE_ANY = sys.platform.startswith("linux") and hasattr(os, "sendfile")


class _StoredText:
    """A stored context, copied out by the kernel where it can be: no decoding and re-encoding of a context that
    is already UTF-8, and no more memory than a chunk. The file stays open: a concurrent run pruning old contexts
    cannot take it away mid-write. It was renamed into place whole, so a size that differs means damage."""

    _CHUNK = 1 << 20

    def __init__(self, file, size: int) -> None:
        self._file = file
        if os.fstat(file.fileno()).st_size != size:
            file.close()
            raise ValueError("stored context damaged")

    def write_utf8(self, out) -> None:
        """Copy the stored bytes as they are."""
        self._file.seek(0)
        try:
            out_fd = out.fileno()
        except (AttributeError, OSError, ValueError):  # not a real file (io.UnsupportedOperation is both)
            out_fd = None
        if out_fd is not None and _SENDFILE_ANY:
            out.flush()
            sent = 0
            try:
                while n := os.sendfile(out_fd, self._file.fileno(), sent, 8 * self._CHUNK):
                    sent += n
                return
            except OSError as err:
                if sent or err.errno not in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP,
                                             errno.ENOTSOCK):
                    raise  # a broken pipe or a full disk is the caller's error, not a reason to write twice
        shutil.copyfileobj(self._file, out, self._CHUNK)

    def __iter__(self):
        decoder = codecs.getincrementaldecoder("utf-8")("strict")
        self._file.seek(0)
        while chunk := self._file.read(self._CHUNK):
            yield decoder.decode(chunk)
        yield decoder.decode(b"", final=True)


def _manifest_from(meta: dict) -> tuple[list[FileEntry], list[Skipped]]:
    from v4cli.context.secrets import Redaction

    files = [
        FileEntry(path, language, size, tokens, status, reason, shown, tuple(flags),
                  tuple(Redaction(line, kind) for line, kind in redactions), section, why, score)
        for path, language, size, tokens, status, reason, shown, flags, redactions, section, why, score in meta["files"]
    ]
    return files, [Skipped(path, reason, detail) for path, reason, detail in meta["skipped"]]
