"""Fast GGUF header reading: metadata and tensor infos parsed straight from a memory map.

gguf-py's GGUFReader builds a numpy view per array item, which takes tens of seconds on a 129k-token
vocabulary; this reader parses the same header in well under a second and maps tensor data lazily.
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType, GGUFValueType

from quant.errors import BadGGUF
from quant.gguf_out import ALIGNMENT, GGUF_MAGIC, KV

_SCALAR = {
    GGUFValueType.UINT8: "<B", GGUFValueType.INT8: "<b", GGUFValueType.UINT16: "<H", GGUFValueType.INT16: "<h",
    GGUFValueType.UINT32: "<I", GGUFValueType.INT32: "<i", GGUFValueType.FLOAT32: "<f", GGUFValueType.BOOL: "<?",
    GGUFValueType.UINT64: "<Q", GGUFValueType.INT64: "<q", GGUFValueType.FLOAT64: "<d",
}
_NUMPY = {t: np.dtype(f) for t, f in _SCALAR.items()}


@dataclass(frozen=True)
class GGUFTensor:
    name: str
    type: GGMLQuantizationType
    shape: tuple[int, ...]  # ggml order (innermost first), as llama.cpp prints it
    offset: int  # absolute, in the file
    nbytes: int


class GGUFFile:
    """The header of one GGUF file; `data(name)` maps a tensor's bytes without reading the rest."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            with open(self.path, "rb") as f:
                self._map = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError) as err:
            raise BadGGUF(f"cannot read {self.path}: {err}") from None
        try:
            self._parse()
        except (struct.error, ValueError, KeyError, UnicodeDecodeError, IndexError) as err:
            raise BadGGUF(f"{self.path} is not a valid GGUF file ({err})") from None

    def _parse(self) -> None:
        m = self._map
        magic, version, n_tensors, n_kv = struct.unpack_from("<IIQQ", m, 0)
        if magic != GGUF_MAGIC:
            raise ValueError("bad magic")
        if version not in (2, 3):
            raise ValueError(f"unsupported version {version}")
        self.version = version
        pos = 24
        self.kv: dict[str, tuple[GGUFValueType, Any]] = {}
        self.item_types: dict[str, GGUFValueType] = {}  # element type of each array value
        for _ in range(n_kv):
            key, pos = self._string(pos)
            (vtype,), pos = struct.unpack_from("<I", m, pos), pos + 4
            if vtype == GGUFValueType.ARRAY:
                self.item_types[key] = GGUFValueType(struct.unpack_from("<I", m, pos)[0])
            value, pos = self._value(GGUFValueType(vtype), pos)
            self.kv[key] = (GGUFValueType(vtype), value)
        infos = []
        for _ in range(n_tensors):
            name, pos = self._string(pos)
            (n_dims,), pos = struct.unpack_from("<I", m, pos), pos + 4
            dims = struct.unpack_from(f"<{n_dims}Q", m, pos)
            pos += 8 * n_dims
            ttype, offset = struct.unpack_from("<IQ", m, pos)
            pos += 12
            infos.append((name, GGMLQuantizationType(ttype), tuple(int(d) for d in dims), offset))
        alignment = self.value("general.alignment", ALIGNMENT)
        data_start = (pos + alignment - 1) // alignment * alignment
        self.tensors: dict[str, GGUFTensor] = {}
        for name, ttype, dims, offset in infos:
            block, size = GGML_QUANT_SIZES[ttype]
            count = int(np.prod(dims, dtype=np.int64))
            nbytes = count // block * size
            if data_start + offset + nbytes > len(m):
                raise ValueError(f"tensor {name} ends past the end of the file (truncated)")
            self.tensors[name] = GGUFTensor(name, ttype, dims, data_start + offset, nbytes)

    def _string(self, pos: int) -> tuple[str, int]:
        (n,) = struct.unpack_from("<Q", self._map, pos)
        return self._map[pos + 8: pos + 8 + n].decode("utf-8"), pos + 8 + n

    def _value(self, vtype: GGUFValueType, pos: int) -> tuple[Any, int]:
        if vtype == GGUFValueType.STRING:
            return self._string(pos)
        if vtype == GGUFValueType.ARRAY:
            item, count = struct.unpack_from("<IQ", self._map, pos)
            pos += 12
            item = GGUFValueType(item)
            if item in _NUMPY:
                dtype = _NUMPY[item]
                values = np.frombuffer(self._map, dtype=dtype, count=count, offset=pos)
                return [v.item() for v in values] if item != GGUFValueType.BOOL else [bool(v) for v in values], pos + count * dtype.itemsize
            out = []
            for _ in range(count):
                value, pos = self._value(item, pos)
                out.append(value)
            return out, pos
        fmt = _SCALAR[vtype]
        return struct.unpack_from(fmt, self._map, pos)[0], pos + struct.calcsize(fmt)

    def kv_entries(self) -> list[KV]:
        """The metadata as writer entries, types preserved (for rewriting the file, e.g. split)."""
        return [KV(key, vtype, value, self.item_types.get(key)) for key, (vtype, value) in self.kv.items()]

    def value(self, key: str, default: Any = None) -> Any:
        entry = self.kv.get(key)
        return default if entry is None else entry[1]

    def data(self, name: str) -> np.ndarray:
        """The raw bytes of one tensor (a read-only view of the map)."""
        t = self.tensors[name]
        return np.frombuffer(self._map, dtype=np.uint8, count=t.nbytes, offset=t.offset)

    def array(self, name: str) -> np.ndarray:
        """A float/int tensor's values in numpy order; quantized tensors stay raw bytes per row."""
        t = self.tensors[name]
        raw = self.data(name)
        plain = {GGMLQuantizationType.F32: "<f4", GGMLQuantizationType.F16: "<f2", GGMLQuantizationType.I32: "<i4",
                 GGMLQuantizationType.BF16: "<u2", GGMLQuantizationType.I8: "i1", GGMLQuantizationType.I16: "<i2"}
        if t.type in plain:
            return raw.view(plain[t.type]).reshape(tuple(reversed(t.shape)))
        return raw.reshape(-1, t.nbytes // int(np.prod(t.shape[1:], dtype=np.int64)))

    def close(self) -> None:
        self._map.close()
