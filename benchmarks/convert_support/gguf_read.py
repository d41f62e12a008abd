"""A minimal GGUF reader: metadata and tensor table, tensor bytes as memory-mapped views.

gguf-py's GGUFReader builds a numpy view per array item at open time, which takes half a minute for a
V4 file (258k vocabulary and merge strings) on a small machine; this reads the same header in about a
second and maps the data without reading it.
"""

from __future__ import annotations

import math
import mmap
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType, GGUFValueType

_SCALARS = {
    GGUFValueType.UINT8: "<B", GGUFValueType.INT8: "<b", GGUFValueType.UINT16: "<H", GGUFValueType.INT16: "<h",
    GGUFValueType.UINT32: "<I", GGUFValueType.INT32: "<i", GGUFValueType.FLOAT32: "<f", GGUFValueType.BOOL: "<?",
    GGUFValueType.UINT64: "<Q", GGUFValueType.INT64: "<q", GGUFValueType.FLOAT64: "<d",
}


@dataclass(frozen=True)
class Tensor:
    name: str
    type: GGMLQuantizationType
    shape: tuple[int, ...]  # ggml order (ne0 first)
    offset: int  # absolute, in the file
    nbytes: int


@dataclass
class GGUFFile:
    path: Path
    version: int
    kv: dict[str, tuple[str, object]]  # key -> (type name, value); arrays as lists
    tensors: dict[str, Tensor]  # in file order
    _map: mmap.mmap

    def data(self, tensor: Tensor) -> np.ndarray:
        return np.frombuffer(self._map, dtype=np.uint8, count=tensor.nbytes, offset=tensor.offset)


class _Cursor:
    def __init__(self, buf: mmap.mmap) -> None:
        self.buf, self.pos = buf, 0

    def unpack(self, fmt: str):
        value = struct.unpack_from(fmt, self.buf, self.pos)[0]
        self.pos += struct.calcsize(fmt)
        return value

    def string(self) -> str:
        n = self.unpack("<Q")
        self.pos += n
        return bytes(self.buf[self.pos - n : self.pos]).decode("utf-8", errors="surrogateescape")

    def value(self, vtype: GGUFValueType) -> tuple[str, object]:
        if vtype == GGUFValueType.STRING:
            return vtype.name, self.string()
        if vtype != GGUFValueType.ARRAY:
            return vtype.name, self.unpack(_SCALARS[vtype])
        item = GGUFValueType(self.unpack("<I"))
        count = self.unpack("<Q")
        if item in _SCALARS:
            dtype = np.dtype(_SCALARS[item])
            values = np.frombuffer(self.buf, dtype=dtype, count=count, offset=self.pos).tolist()
            self.pos += dtype.itemsize * count
        else:
            values = [self.value(item)[1] for _ in range(count)]
        return f"ARRAY[{item.name}]", values


def read_gguf(path: str | Path) -> GGUFFile:
    path = Path(path)
    with open(path, "rb") as f:
        buf = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    cur = _Cursor(buf)
    if bytes(buf[:4]) != b"GGUF":
        raise ValueError(f"{path}: not a GGUF file")
    cur.pos = 4
    version = cur.unpack("<I")
    n_tensors, n_kv = cur.unpack("<Q"), cur.unpack("<Q")
    kv = {}
    for _ in range(n_kv):
        key = cur.string()
        kv[key] = cur.value(GGUFValueType(cur.unpack("<I")))
    infos = []
    for _ in range(n_tensors):
        name = cur.string()
        shape = tuple(cur.unpack("<Q") for _ in range(cur.unpack("<I")))
        infos.append((name, GGMLQuantizationType(cur.unpack("<I")), shape, cur.unpack("<Q")))
    alignment = kv.get("general.alignment", ("UINT32", 32))[1]
    start = -(-cur.pos // alignment) * alignment
    tensors = {}
    for name, qtype, shape, offset in infos:
        block, size = GGML_QUANT_SIZES[qtype]
        tensors[name] = Tensor(name, qtype, shape, start + offset, math.prod(shape) // block * size)
    return GGUFFile(path, version, kv, tensors, buf)
