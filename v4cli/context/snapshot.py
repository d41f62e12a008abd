"""Reuse the last packed context when nothing it was built from has changed.

A warm run on an unchanged repository would otherwise re-read and re-decode every file only to produce
the same bytes. The fingerprint is git's idea of a clean index entry: each candidate's size, mtime,
ctime and inode, plus every option that shapes the output. Like git, it distrusts a file modified within
the last two seconds (an edit in the same clock tick would keep its stat), and then simply packs again.
"""

from __future__ import annotations

import codecs
import json
import os
import shutil
import time
from dataclasses import asdict

import xxhash

from v4cli.context.cache import Cache
from v4cli.context.pack import FileEntry, PackResult, Selection, pack
from v4cli.context.prepare import COUNT_VERSION, Preparation, Progress
from v4cli.context.sources import Plan, SourceOptions, Skipped, plan_sources, read_plan
from v4cli.context.walk import FileIdentity

FORMAT_VERSION = "snapshot-2"
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
    started = time.time_ns()  # before any stat: the racy rule measures from here
    store = _Store(cache)
    if cache.is_empty():  # a first run: nothing to reuse, every file to count; the tokenizer builds meanwhile
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
    with Preparation(cache, redact=redact, progress=progress, expected=len(plan.to_read) + (stdin is not None)
                     ) as preparation:
        collection = read_plan(plan, options, stdin, on_batch=preparation.add)
        prepared = preparation.result(collection.documents)
    result = pack(collection, budget=budget, fmt=fmt, redact=redact, cache=cache, progress=progress,
                  selection=selection, prepared=prepared)
    if base:
        store.save(ranked_key if any(f.section for f in result.files) else base, result)
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
    """Stored contexts as files next to the cache, their manifests as cache entries."""

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
            text = _StoredText(open(path, "rb"), meta["digest"]) if meta.get("has_text") else None
            os.utime(path)  # most recently used
            return _result_from(meta, text)
        except (OSError, KeyError, TypeError, ValueError):
            return None  # a damaged entry costs one normal pack

    def save(self, key: str, result: PackResult) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            partial = self.directory / f".{key}.{os.getpid()}.partial"
            digest = xxhash.xxh3_128()
            with open(partial, "wb") as f:
                for part in result.parts:
                    data = part.encode("utf-8", "replace")  # exactly the bytes `v4 pack` writes
                    digest.update(data)
                    f.write(data)
            partial.replace(self.directory / f"{key}.txt")
            self._prune()
        except OSError:
            return
        self.cache.put_many({f"snapshot:{key}": {**_meta_of(result), "digest": digest.hexdigest()}})

    def _prune(self) -> None:
        stored = sorted(self.directory.glob("*.txt"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in stored[_KEEP_OUTPUTS:]:
            old.unlink(missing_ok=True)


def _meta_of(result: PackResult) -> dict:
    return {
        "has_text": bool(result.parts),
        "tokens": result.tokens,
        "budget": result.budget,
        "format": result.format,
        "files": [[f.path, f.language, f.bytes, f.tokens, f.status, f.reason, f.tokens_shown, list(f.flags),
                   [[r.line, r.kind] for r in f.redactions], f.section, f.why, f.score] for f in result.files],
        "skipped": [[s.path, s.reason, s.detail] for s in result.skipped],
        "prefix_chars": result.prefix_chars,
    }


class _StoredText:
    """A stored context read back in chunks, so that reusing it costs no more memory than a chunk.

    The file stays open: a concurrent run pruning old contexts cannot take it away mid-write."""

    _CHUNK = 1 << 20

    def __init__(self, file, digest: str) -> None:
        self._file = file
        check = xxhash.xxh3_128()
        while chunk := file.read(self._CHUNK):
            check.update(chunk)
        if check.hexdigest() != digest:
            raise ValueError("stored context damaged")

    def write_utf8(self, out) -> None:
        """Copy the stored bytes as they are: no decoding and re-encoding of a context that is already UTF-8."""
        self._file.seek(0)
        shutil.copyfileobj(self._file, out, self._CHUNK)

    def __iter__(self):
        decoder = codecs.getincrementaldecoder("utf-8")("strict")
        self._file.seek(0)
        while chunk := self._file.read(self._CHUNK):
            yield decoder.decode(chunk)
        yield decoder.decode(b"", final=True)


def _result_from(meta: dict, text: _StoredText | None) -> PackResult:
    from v4cli.context.secrets import Redaction

    files = [
        FileEntry(path, language, size, tokens, status, reason, shown, tuple(flags),
                  tuple(Redaction(line, kind) for line, kind in redactions), section, why, score)
        for path, language, size, tokens, status, reason, shown, flags, redactions, section, why, score in meta["files"]
    ]
    skipped = [Skipped(path, reason, detail) for path, reason, detail in meta["skipped"]]
    return PackResult(parts=text if text is not None else [], tokens=meta["tokens"], budget=meta["budget"],
                      format=meta["format"], files=files, skipped=skipped, prefix_chars=meta["prefix_chars"])
