"""Lazy access to a sharded safetensors checkpoint: headers are parsed up front, tensor bytes are read on demand.

Only the 8-byte length and the JSON header of each shard are read when the checkpoint is opened; every
tensor is then read with positional reads (`os.preadv`) straight into a numpy buffer, a row range at a
time. Nothing is mapped or cached, so the resident memory is what the caller holds, independent of the
checkpoint size, and reads from several threads need no locking.
"""

from __future__ import annotations

import json
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from quant.errors import BadCheckpoint

INDEX_NAME = "model.safetensors.index.json"

# safetensors dtype -> numpy dtype of the raw storage (float8 and bfloat16 are kept as raw bits)
STORAGE_DTYPES: dict[str, np.dtype] = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "BF16": np.dtype("<u2"),
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
    "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"),
    "U8": np.dtype("u1"),
    "BOOL": np.dtype("u1"),
    "F8_E4M3": np.dtype("u1"),
    "F8_E5M2": np.dtype("u1"),
    "F8_E8M0": np.dtype("u1"),
}


@dataclass(frozen=True)
class TensorRef:
    """Where one tensor's bytes live: shard file, dtype, shape and absolute byte offset."""

    name: str
    file: Path
    dtype: str
    shape: tuple[int, ...]
    offset: int
    nbytes: int

    @property
    def rows(self) -> int:
        return self.shape[0] if self.shape else 1

    @property
    def row_bytes(self) -> int:
        return self.nbytes // self.rows if self.rows else 0


class Checkpoint:
    """A Hugging Face checkpoint directory: config.json, shards (with or without an index), tokenizer files."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        if not self.directory.is_dir():
            raise BadCheckpoint(f"checkpoint directory not found: {self.directory}")
        self.config = _read_json(self.directory / "config.json")
        self.tensors: dict[str, TensorRef] = {}
        self._fds: dict[Path, int] = {}
        shards = self._shard_files()
        for shard in shards:
            for ref in _read_header(shard):
                if ref.name in self.tensors:
                    raise BadCheckpoint(
                        f"tensor {ref.name} appears in both {self.tensors[ref.name].file.name} and {shard.name}"
                    )
                self.tensors[ref.name] = ref
        self._check_index()
        self._fds = {shard: os.open(shard, os.O_RDONLY) for shard in shards}  # shared by all reader threads

    def _shard_files(self) -> list[Path]:
        index = self.directory / INDEX_NAME
        if index.is_file():
            self._weight_map = _weight_map(index)
            names = sorted(set(self._weight_map.values()))
            missing = [n for n in names if not (self.directory / n).is_file()]
            if missing:
                raise BadCheckpoint(
                    f"missing shard {missing[0]} (listed in {INDEX_NAME})"
                    + (f" and {len(missing) - 1} more" if len(missing) > 1 else ""),
                    hint="the download is incomplete: fetch the missing files again",
                )
            return [self.directory / n for n in names]
        self._weight_map = {}
        shards = sorted(self.directory.glob("*.safetensors"))
        if not shards:
            raise BadCheckpoint(f"no .safetensors files in {self.directory}")
        return shards

    def _check_index(self) -> None:
        for name, shard in self._weight_map.items():
            ref = self.tensors.get(name)
            if ref is None or ref.file.name != shard:
                raise BadCheckpoint(f"tensor {name} is listed in {INDEX_NAME} for {shard} but {shard} does not hold it")

    def get(self, name: str) -> TensorRef:
        ref = self.tensors.get(name)
        if ref is None:
            raise BadCheckpoint(f"missing tensor {name} in {self.directory}")
        return ref

    def read(self, ref: TensorRef, row_start: int = 0, row_stop: int | None = None) -> np.ndarray:
        """Rows [row_start, row_stop) of a tensor as a fresh array in its storage dtype."""
        stop = ref.rows if row_stop is None else row_stop
        shape = (stop - row_start, *ref.shape[1:]) if ref.shape else ()
        out = np.empty(shape, dtype=STORAGE_DTYPES[ref.dtype])
        buf = memoryview(out.reshape(-1).view(np.uint8))
        offset = ref.offset + row_start * ref.row_bytes
        fd = self._fds[ref.file]
        done = 0
        while done < len(buf):
            n = os.preadv(fd, [buf[done:]], offset + done)
            if n <= 0:
                raise BadCheckpoint(f"tensor {ref.name} in {ref.file.name}: file ended early (truncated?)")
            done += n
        return out

    def close(self) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()

    def __enter__(self) -> Checkpoint:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _read_json(path: Path) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        raise BadCheckpoint(f"missing {path.name} in {path.parent}") from None
    except (OSError, ValueError) as err:
        raise BadCheckpoint(f"cannot read {path}: {err}") from None
    if not isinstance(data, dict):
        raise BadCheckpoint(f"{path} does not hold a JSON object")
    return data


def _weight_map(index: Path) -> dict[str, str]:
    weight_map = _read_json(index).get("weight_map")
    if not isinstance(weight_map, dict) or not all(isinstance(v, str) for v in weight_map.values()):
        raise BadCheckpoint(f"{index.name} has no valid weight_map")
    return weight_map


def _read_header(path: Path) -> list[TensorRef]:
    """Parse and validate one shard's header against its size: a truncated shard is caught here."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise BadCheckpoint(f"{path.name} is not a safetensors file (too short)")
        (header_len,) = struct.unpack("<Q", head)
        if header_len > min(size - 8, 100 * 1024 * 1024):
            raise BadCheckpoint(f"{path.name} is truncated or not a safetensors file (header length {header_len})")
        try:
            header = json.loads(f.read(header_len))
        except ValueError:
            raise BadCheckpoint(f"{path.name} has a corrupt safetensors header") from None
    data_start = 8 + header_len
    refs = []
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype, shape, (begin, end) = info["dtype"], tuple(int(d) for d in info["shape"]), info["data_offsets"]
        except (KeyError, TypeError, ValueError):
            raise BadCheckpoint(f"tensor {name} in {path.name} has a malformed header entry") from None
        if dtype not in STORAGE_DTYPES:
            raise BadCheckpoint(f"tensor {name} in {path.name} has unsupported dtype {dtype}")
        expected = int(np.prod(shape, dtype=np.int64)) * STORAGE_DTYPES[dtype].itemsize
        if end - begin != expected:
            raise BadCheckpoint(
                f"tensor {name} in {path.name}: {end - begin} bytes stored for shape {list(shape)} of {dtype}"
            )
        if data_start + end > size:
            raise BadCheckpoint(
                f"tensor {name} in {path.name} ends past the end of the file (truncated shard)",
                hint="the download is incomplete: fetch this shard again",
            )
        refs.append(TensorRef(name, path, dtype, shape, data_start + begin, end - begin))
    return refs
