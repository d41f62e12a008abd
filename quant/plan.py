"""The conversion plan: every output tensor with its type, shape, and the chunks that produce its bytes.

A plan is built from headers alone (no tensor data is read), so a dry run, the free-space check and the
GGUF header all come from it. Each output tensor's data is a list of chunk functions (a block of rows,
or one expert of a stacked expert tensor); the writer runs them in parallel and writes their results in
order, so memory holds only the chunks in flight, never a whole model or a whole layer.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType as T, LlamaFileType

from quant import formats
from quant.errors import BadCheckpoint, UnsupportedModel
from quant.gguf_out import KV, TensorInfo
from quant.safetensors_reader import STORAGE_DTYPES, Checkpoint, TensorRef

CHUNK_BYTES = 16 * 1024 * 1024  # one unit of work: this many bytes of float32 values (temporaries are a few x)

Chunk = Callable[[], np.ndarray]


@dataclass(frozen=True)
class Layout:
    """Which ggml type each kind of source weight becomes in the streaming pass."""

    name: str
    file_type: LlamaFileType
    fp8: T  # dense FP8 e4m3 weights (2-D)
    fp4: T  # routed experts (E2M1)
    half: T  # 2-D BF16/F16 weights


LAYOUTS = {
    # upstream llama.cpp's layout for V4: FP8 -> Q8_0, experts -> MXFP4 (lossless), BF16 kept
    "mxfp4_moe": Layout("mxfp4_moe", LlamaFileType.MOSTLY_MXFP4_MOE, T.Q8_0, T.MXFP4, T.BF16),
    "q8_0": Layout("q8_0", LlamaFileType.MOSTLY_Q8_0, T.Q8_0, T.Q8_0, T.Q8_0),
    "bf16": Layout("bf16", LlamaFileType.MOSTLY_BF16, T.BF16, T.BF16, T.BF16),
    "f16": Layout("f16", LlamaFileType.MOSTLY_F16, T.F16, T.F16, T.F16),
}


@dataclass
class OutputTensor:
    info: TensorInfo
    sources: str  # the checkpoint tensor(s) it comes from, for messages
    chunks: list[Chunk]


@dataclass
class Plan:
    kv: list[KV]
    tensors: list[OutputTensor]
    skipped: list[str] = field(default_factory=list)

    @property
    def data_bytes(self) -> int:
        return sum(t.info.nbytes for t in self.tensors)

    def bytes_by_type(self) -> dict[str, tuple[int, int]]:
        counts: Counter[str] = Counter()
        sizes: Counter[str] = Counter()
        for t in self.tensors:
            counts[t.info.type.name] += 1
            sizes[t.info.type.name] += t.info.nbytes
        return {name: (counts[name], sizes[name]) for name in sorted(counts)}


# ---- encoders: float32 rows -> bytes of a ggml type ----

def encode(values: np.ndarray, type_: T) -> np.ndarray:
    if type_ == T.F32:
        return values.astype(np.float32, copy=False)
    if type_ == T.F16:
        return values.astype(np.float16)
    if type_ == T.BF16:
        return formats.f32_to_bf16_bits(values)
    if type_ == T.Q8_0:
        return formats.quantize_q8_0(values.reshape(-1, values.shape[-1]))
    raise UnsupportedModel(f"cannot write {type_.name} in the streaming pass")


def can_encode(type_: T, shape: tuple[int, ...]) -> bool:
    block = GGML_QUANT_SIZES[type_][0]
    return shape[-1] % block == 0


def to_f32(array: np.ndarray, dtype: str) -> np.ndarray:
    if dtype == "BF16":
        return formats.bf16_bits_to_f32(array)
    return array.astype(np.float32, copy=False)


# ---- chunked producers ----

def row_ranges(rows: int, row_bytes: int, align: int = 1) -> list[tuple[int, int]]:
    """Split rows of `row_bytes` (as float32) into ranges of about CHUNK_BYTES, starting on multiples of `align`."""
    step = max(align, CHUNK_BYTES // max(row_bytes, 1) // align * align)
    return [(start, min(start + step, rows)) for start in range(0, rows, step)]


def plain_chunks(ckpt: Checkpoint, ref: TensorRef, type_: T) -> list[Chunk]:
    """A BF16/F16/F32 (or integer) tensor written as `type_`; same-format copies move raw bits."""
    raw_copy = (ref.dtype, type_) in {("BF16", T.BF16), ("F16", T.F16), ("F32", T.F32), ("I32", T.I32)}
    rows = ref.rows
    f32_row_bytes = ref.row_bytes // STORAGE_DTYPES[ref.dtype].itemsize * 4

    def chunk(start: int, stop: int) -> np.ndarray:
        data = ckpt.read(ref, start, stop)
        if raw_copy:
            return data
        if type_ == T.I32:
            return data.astype(np.int32)
        return encode(to_f32(data, ref.dtype), type_)

    if not ref.shape:
        return [lambda: chunk(0, 1)]
    return [lambda s=s, e=e: chunk(s, e) for s, e in row_ranges(rows, f32_row_bytes)]


def fp8_chunks(ckpt: Checkpoint, weight: TensorRef, scale: TensorRef, block: tuple[int, int], type_: T) -> list[Chunk]:
    """FP8 e4m3 rows dequantized exactly with their block scales, then encoded as `type_`."""
    rows, cols = weight.shape

    def chunk(start: int, stop: int) -> np.ndarray:
        return encode(fp8_rows(ckpt, weight, scale, block, start, stop), type_)

    return [lambda s=s, e=e: chunk(s, e) for s, e in row_ranges(rows, cols * 4, block[0])]


def fp8_rows(ckpt: Checkpoint, weight: TensorRef, scale: TensorRef, block: tuple[int, int],
             start: int, stop: int) -> np.ndarray:
    """Rows [start, stop) of an FP8 weight as float32 (start must be block-aligned)."""
    w = ckpt.read(weight, start, stop)
    s = formats.scale_to_f32(ckpt.read(scale, start // block[0], -(-stop // block[0])), scale.dtype)
    return formats.dequant_fp8(w, s, block)


def expert_chunks(ckpt: Checkpoint, pairs: list[tuple[TensorRef, TensorRef]], type_: T) -> list[Chunk]:
    """One chunk per expert of a stacked [n_expert, rows, cols] tensor from E2M1 weights + E8M0 scales."""

    def chunk(weight: TensorRef, scale: TensorRef) -> np.ndarray:
        packed, scales = ckpt.read(weight), ckpt.read(scale)
        if type_ == T.MXFP4:
            return formats.fp4_to_mxfp4(packed, scales)
        return encode(formats.dequant_fp4(packed, scales), type_)

    return [lambda w=w, s=s: chunk(w, s) for w, s in pairs]


def expect(ckpt: Checkpoint, name: str, shape: tuple[int, ...], dtypes: tuple[str, ...]) -> TensorRef:
    """The tensor `name`, checked against the shape and dtypes the architecture requires."""
    ref = ckpt.get(name)
    if ref.shape != tuple(shape):
        raise BadCheckpoint(
            f"tensor {name} in {ref.file.name} has shape {list(ref.shape)}, expected {list(shape)} from config.json"
        )
    if ref.dtype not in dtypes:
        raise BadCheckpoint(
            f"tensor {name} in {ref.file.name} has dtype {ref.dtype}, expected {' or '.join(dtypes)}"
        )
    return ref
