"""Streaming GGUF writer: header, metadata and tensor infos first, then tensor data chunk by chunk.

The whole layout (every tensor's name, type, shape and offset) is known before a byte of data is produced,
so the header is written once and the data follows in order without the model ever being in memory.
The order is fixed, as in gguf-py's GGUFWriter: HEADER -> KV -> TENSOR INFOS -> DATA. With a size limit
the tensors are spread over several files named `NAME-00001-of-0000N.gguf`, each a GGUF of its own
(the first holds all metadata), with the `split.*` keys llama.cpp uses to load them together.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Sequence

from gguf import GGML_QUANT_SIZES, GGMLQuantizationType, GGUFValueType

GGUF_MAGIC = 0x46554747  # "GGUF" little-endian
GGUF_VERSION = 3
ALIGNMENT = 32
SHARD_NAME = "{stem}-{no:05d}-of-{count:05d}.gguf"


@dataclass(frozen=True)
class KV:
    """One metadata entry with an explicit GGUF type (and element type for arrays)."""

    key: str
    type: GGUFValueType
    value: Any
    item_type: GGUFValueType | None = None


@dataclass
class TensorInfo:
    """One output tensor as the file header describes it. `shape` is in numpy order (outermost first)."""

    name: str
    type: GGMLQuantizationType
    shape: tuple[int, ...]
    offset: int = 0

    @property
    def element_count(self) -> int:
        count = 1
        for d in self.shape:
            count *= d
        return count

    @property
    def nbytes(self) -> int:
        block, size = GGML_QUANT_SIZES[self.type]
        return self.element_count // block * size


@dataclass
class Shard:
    """The tensors of one output file and their offsets inside its data section."""

    tensors: list[TensorInfo] = field(default_factory=list)
    kv: list[KV] = field(default_factory=list)
    _header: bytes | None = None

    @property
    def header(self) -> bytes:
        if self._header is None:
            self._header = header_bytes(self)
        return self._header

    @property
    def file_bytes(self) -> int:
        return len(self.header) + self.data_bytes

    @property
    def data_bytes(self) -> int:
        return sum(_pad(t.nbytes) for t in self.tensors)


def plan_shards(kv: list[KV], tensors: list[TensorInfo], max_bytes: int = 0) -> list[Shard]:
    """Assign tensors to files in order, starting a new file when the next tensor would pass max_bytes."""
    shards = [Shard()]
    for info in tensors:
        current = shards[-1]
        if max_bytes and current.tensors and current.data_bytes + info.nbytes > max_bytes:
            shards.append(Shard())
        shards[-1].tensors.append(info)
    for shard in shards:
        offset = 0
        for info in shard.tensors:
            info.offset = offset
            offset += _pad(info.nbytes)
    shards[0].kv = list(kv)
    if len(shards) > 1:
        for no, shard in enumerate(shards):
            shard.kv = shard.kv + [
                KV("split.no", GGUFValueType.UINT16, no),
                KV("split.count", GGUFValueType.UINT16, len(shards)),
                KV("split.tensors.count", GGUFValueType.INT32, len(tensors)),
            ]
    return shards


def shard_paths(path: Path, count: int) -> list[Path]:
    if count == 1:
        return [path]
    stem = path.name[: -len(".gguf")] if path.name.endswith(".gguf") else path.name
    return [path.with_name(SHARD_NAME.format(stem=stem, no=i + 1, count=count)) for i in range(count)]


def header_bytes(shard: Shard) -> bytes:
    """Everything before the first tensor's data, padded to the alignment."""
    out = bytearray(struct.pack("<IIQQ", GGUF_MAGIC, GGUF_VERSION, len(shard.tensors), len(shard.kv)))
    for entry in shard.kv:
        out += _string(entry.key)
        out += struct.pack("<I", entry.type)
        out += _value(entry.type, entry.value, entry.item_type)
    for info in shard.tensors:
        out += _string(info.name)
        dims = tuple(reversed(info.shape))  # ggml order: innermost first
        out += struct.pack(f"<I{len(dims)}QIQ", len(dims), *dims, info.type, info.offset)
    out += b"\0" * (_pad(len(out)) - len(out))
    return bytes(out)


class ShardWriter:
    """Writes one shard's data in tensor order, padding between tensors, and checks each size."""

    def __init__(self, stream: BinaryIO, shard: Shard) -> None:
        self._stream = stream
        self._pending = list(reversed(shard.tensors))
        self._left = 0
        stream.write(shard.header)

    def write(self, data: memoryview | bytes) -> None:
        if self._left == 0:
            info = self._pending.pop()
            self._left = info.nbytes
            self._current = info
        if len(data) > self._left:
            raise ValueError(f"{self._current.name}: {len(data)} bytes given, {self._left} left to write")
        self._stream.write(data)
        self._left -= len(data)
        if self._left == 0:
            self._stream.write(b"\0" * (_pad(self._current.nbytes) - self._current.nbytes))

    def finish(self) -> None:
        if self._left or self._pending:
            raise ValueError("output ended before every tensor was written")


def _pad(n: int) -> int:
    return (n + ALIGNMENT - 1) // ALIGNMENT * ALIGNMENT


def _string(text: str | bytes) -> bytes:
    raw = text.encode("utf-8") if isinstance(text, str) else bytes(text)
    return len(raw).to_bytes(8, "little") + raw


def _strings(items: Sequence[str]) -> bytes:
    """Many strings (a 129k-token vocabulary) packed in one pass."""
    parts = []
    for item in items:
        raw = item.encode("utf-8")
        parts.append(len(raw).to_bytes(8, "little"))
        parts.append(raw)
    return b"".join(parts)


_SCALAR = {
    GGUFValueType.UINT8: "<B", GGUFValueType.INT8: "<b", GGUFValueType.UINT16: "<H", GGUFValueType.INT16: "<h",
    GGUFValueType.UINT32: "<I", GGUFValueType.INT32: "<i", GGUFValueType.FLOAT32: "<f", GGUFValueType.BOOL: "<?",
    GGUFValueType.UINT64: "<Q", GGUFValueType.INT64: "<q", GGUFValueType.FLOAT64: "<d",
}


def _value(type_: GGUFValueType, value: Any, item_type: GGUFValueType | None) -> bytes:
    if type_ == GGUFValueType.STRING:
        return _string(value)
    if type_ == GGUFValueType.ARRAY:
        assert item_type is not None, "arrays need an item type"
        head = struct.pack("<IQ", item_type, len(value))
        if item_type == GGUFValueType.STRING:
            return head + _strings(value)
        fmt = _SCALAR[item_type]
        return head + struct.pack(f"<{len(value)}{fmt[1]}", *value)
    return struct.pack(_SCALAR[type_], value)
