"""llama.cpp context states saved on disk, so that a second question about the same context skips its prefill.

A state is saved exactly at the end of the shared prefix (the packed context), never later: V4's KV cache
refuses partial removal, so a state that holds more than the prefix could not be cut back to it.

Files: `<key>-<xxh3 of the file>.kvstate` in one directory. The key hashes what makes a state valid (the
llama-cpp-python version, the model file's identity, n_ctx and the prefix's token ids); the checksum in the
name catches a damaged file that llama.cpp would load without complaint (it checks sizes, not contents).
Writes go to a temporary file renamed into place, so a crash never leaves a half-written state behind.

Disk use: a state holds the KV cache of its prefix, from ~25 KB per token for the 135M demo model to GBs
for a large model with a long context. The directory is kept under `max_bytes` by deleting the least
recently used states (a restore refreshes a file's mtime); `max_bytes=0` disables the cache.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import os
import time
from array import array
from collections.abc import Sequence
from pathlib import Path

import llama_cpp
import xxhash

DEFAULT_MAX_BYTES = 20 * 2**30
SUFFIX = ".kvstate"
_READ_CHUNK = 16 << 20
_STALE_TMP_SECONDS = 6 * 3600  # older than any save in progress could be


def default_kv_cache_dir() -> Path:
    """`$V4_CACHE_DIR/kv`, else `kv` under the XDG cache dir (the same root as the context cache)."""
    override = os.environ.get("V4_CACHE_DIR")
    if override:
        return Path(override) / "kv"
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("v4", appauthor=False)) / "kv"


def state_key(model_identity: str, n_ctx: int, tokens: Sequence[int]) -> str:
    h = hashlib.sha256(f"{llama_cpp.__version__}\0{model_identity}\0{n_ctx}\0".encode())
    h.update(array("i", tokens).tobytes())
    return h.hexdigest()[:32]


def _file_digest(path: Path) -> str:
    h = xxhash.xxh3_64()
    with path.open("rb") as f:
        while chunk := f.read(_READ_CHUNK):
            h.update(chunk)
    return h.hexdigest()


class KVStateCache:
    def __init__(self, directory: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.directory = Path(directory)
        self.max_bytes = max_bytes

    def restore(self, ctx: llama_cpp.llama_context_p, key: str, tokens: Sequence[int]) -> bool:
        """Load the state saved for `key` into `ctx`. False when there is none or it is unusable (then it
        is deleted, and `ctx`'s memory may be partly overwritten: the caller clears it before a prefill)."""
        for path in sorted(self.directory.glob(f"{key}-*{SUFFIX}")):
            if self._load(ctx, path, tokens):
                os.utime(path)  # most recently used
                return True
            path.unlink(missing_ok=True)
        return False

    def _load(self, ctx: llama_cpp.llama_context_p, path: Path, tokens: Sequence[int]) -> bool:
        try:
            if _file_digest(path) != path.name[: -len(SUFFIX)].rpartition("-")[2]:
                return False
        except OSError:
            return False
        capacity = len(tokens) + 1
        saved = (llama_cpp.llama_token * capacity)()
        n_saved = ctypes.c_size_t(0)
        if not llama_cpp.llama_state_load_file(ctx, str(path).encode(), saved, capacity, ctypes.byref(n_saved)):
            return False
        return list(saved[: n_saved.value]) == list(tokens)

    def save(self, ctx: llama_cpp.llama_context_p, key: str, tokens: Sequence[int]) -> str | None:
        """Save `ctx`'s state (which must hold exactly `tokens`) under `key`. Returns why it was not saved,
        as a line for the user, or None when it was."""
        if self.max_bytes <= 0:
            return None
        tmp = self.directory / f".{key}.{os.getpid()}.tmp"
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            ids = (llama_cpp.llama_token * len(tokens))(*tokens)
            if not llama_cpp.llama_state_save_file(ctx, str(tmp).encode(), ids, len(tokens)):
                raise OSError("llama.cpp could not write the state")
            size = tmp.stat().st_size
            if size > self.max_bytes:
                tmp.unlink()
                return (f"KV state not cached: {size / 2**20:.0f} MiB is more than the cache's limit of "
                        f"{self.max_bytes / 2**20:.0f} MiB")
            os.replace(tmp, self.directory / f"{key}-{_file_digest(tmp)}{SUFFIX}")
        except OSError as e:
            tmp.unlink(missing_ok=True)
            return f"KV state not cached in {self.directory}: {e}"
        self._evict()
        return None

    def _evict(self) -> None:
        """Delete the least recently used states until the directory fits `max_bytes`, and temporary files
        that a killed process left behind."""
        stale = time.time() - _STALE_TMP_SECONDS
        for tmp in self.directory.glob(".*.tmp"):
            with contextlib.suppress(FileNotFoundError):
                if tmp.stat().st_mtime < stale:
                    tmp.unlink()
        entries = []
        for path in self.directory.glob(f"*{SUFFIX}"):
            try:
                st = path.stat()
            except FileNotFoundError:  # another process evicted it
                continue
            entries.append((st.st_mtime_ns, st.st_size, path))
        entries.sort(reverse=True)
        total = 0
        for _, size, path in entries:
            total += size
            if total > self.max_bytes:
                path.unlink(missing_ok=True)
