"""Output files that appear under their final name only when complete.

On Linux the data goes to an anonymous file (O_TMPFILE) in the destination directory: if the process is
killed, even with SIGKILL, nothing is left behind. It gets a name only at commit, after fsync, through
a hard link and an atomic rename. Elsewhere a hidden `.NAME.partial` file is used and removed on failure.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from quant.errors import OutputError


class AtomicFile:
    """A writable file that becomes `final` on commit() and vanishes on discard()."""

    def __init__(self, final: Path) -> None:
        self.final = final
        directory = final.parent
        if not directory.is_dir():
            raise OutputError(f"output directory does not exist: {directory}")
        self._named: Path | None = None
        try:
            self.fd = os.open(directory, os.O_TMPFILE | os.O_RDWR, 0o644)
            self.path = f"/proc/self/fd/{self.fd}"  # a path other code (llama.cpp) can open
        except (AttributeError, OSError):
            self._named = directory / f".{final.name}.{os.getpid()}.partial"
            try:
                self.fd = os.open(self._named, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o644)
            except OSError as err:
                raise OutputError(f"cannot create a file in {directory}: {err.strerror}") from None
            self.path = str(self._named)
        self.stream = open(self.fd, "wb", closefd=False)

    def commit(self) -> None:
        self.stream.flush()
        os.fsync(self.fd)
        if self._named is None:
            temp = self.final.parent / f".{self.final.name}.{os.getpid()}.partial"
            directory = os.open(self.final.parent, os.O_RDONLY)
            try:  # a dir_fd makes Python use linkat(AT_SYMLINK_FOLLOW), which can name an O_TMPFILE file
                os.link(self.path, temp.name, dst_dir_fd=directory, follow_symlinks=True)
            finally:
                os.close(directory)
            self._named = temp
        os.replace(self._named, self.final)
        self._named = None
        self._close()
        _fsync_dir(self.final.parent)

    def discard(self) -> None:
        self._close()
        if self._named is not None:
            self._named.unlink(missing_ok=True)
            self._named = None

    def _close(self) -> None:
        if self.fd >= 0:
            try:
                self.stream.close()
            except OSError:
                pass  # a failed flush of a file being thrown away
            os.close(self.fd)
            self.fd = -1


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def check_free_space(directory: Path, needed: int) -> None:
    free = shutil.disk_usage(directory).free
    if free < needed:
        raise OutputError(
            f"not enough free space in {directory}: the output needs {_gb(needed)}, {_gb(free)} is free",
            hint="free some space or write the output to another disk",
        )


def _gb(n: int) -> str:
    return f"{n / 1e9:.2f} GB" if n >= 1e8 else f"{n / 1e6:.1f} MB"
