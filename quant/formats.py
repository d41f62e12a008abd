"""Number formats in numpy: FP8 e4m3 and E8M0 block scales, E2M1 (FP4) experts, and ggml's Q8_0 / MXFP4 / BF16.

Every function works on one row block at a time and mirrors the reference arithmetic bit for bit:
FP8 dequantization is an exact float32 product, the FP4 -> MXFP4 repack only moves nibbles, and Q8_0 and
BF16 round exactly as ggml's reference quantizers (and gguf-py) do.
"""

from __future__ import annotations

import numpy as np

QK8_0 = 32  # values per Q8_0 block: fp16 scale + 32 int8
QK_MXFP4 = 32  # values per MXFP4 block: E8M0 scale byte + 16 bytes of nibbles


def _e4m3fn_table() -> np.ndarray:
    bits = np.arange(256, dtype=np.uint32)
    sign = np.where(bits & 0x80, -1.0, 1.0)
    exp = (bits >> 3) & 0xF
    mant = (bits & 0x7).astype(np.float64)
    value = np.where(exp == 0, mant / 8 * 2.0**-6, (1 + mant / 8) * np.exp2(exp.astype(np.float64) - 7))
    value = np.where((bits & 0x7F) == 0x7F, np.nan, value)  # e4m3fn has NaN but no infinity
    return (sign * value).astype(np.float32)


def _e8m0_table() -> np.ndarray:
    table = np.full(256, np.nan, dtype=np.float32)  # 255 is E8M0's NaN
    table[:255] = np.ldexp(1.0, np.arange(255) - 127)  # 2**-127 is a float32 subnormal: still exact
    return table


E4M3_TO_F32 = _e4m3fn_table()
E8M0_TO_F32 = _e8m0_table()
# E2M1 codes 0..15 in the order both the checkpoint and ggml's kvalues_mxfp4 use
E2M1_TO_F32 = np.array([0, 0.5, 1, 1.5, 2, 3, 4, 6, -0.0, -0.5, -1, -1.5, -2, -3, -4, -6], dtype=np.float32)


def scale_to_f32(scale: np.ndarray, dtype: str) -> np.ndarray:
    """Block scales as float32: E8M0 exponents (stored as raw bytes) or plain float scales."""
    if dtype in ("F8_E8M0", "U8"):
        return E8M0_TO_F32[scale]
    if dtype == "BF16":
        return bf16_bits_to_f32(scale)
    return scale.astype(np.float32)


def dequant_fp8(weight: np.ndarray, scale: np.ndarray, block: tuple[int, int]) -> np.ndarray:
    """FP8 e4m3 rows times their block scales, exactly, as float32.

    `weight` holds raw e4m3 bytes [rows, cols] whose first row is aligned to a block; `scale` holds the
    float32 scales of the blocks those rows touch.
    """
    rows, cols = weight.shape
    block_rows, block_cols = block
    out = E4M3_TO_F32[weight]
    per_row = np.repeat(scale, block_rows, axis=0)[:rows]
    full = cols - cols % block_cols
    if full:
        nb = full // block_cols
        out[:, :full].reshape(rows, nb, block_cols)[...] *= per_row[:, :nb, None]
    if full < cols:
        out[:, full:] *= per_row[:, -1:]
    return out


def fp4_to_mxfp4(packed: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Repack E2M1 pairs (element 2i low nibble) + E8M0 scales per 32 into ggml block_mxfp4 rows, losslessly.

    ggml's block: the scale byte, then 16 bytes where byte j holds element j (low) and element j+16 (high).
    """
    rows, packed_cols = packed.shape
    n_blocks = packed_cols * 2 // QK_MXFP4
    src = packed.view(np.uint8).reshape(rows, n_blocks, 16)
    # source byte k holds elements 2k (low) and 2k+1 (high); bytes 0-7 cover elements 0-15, bytes 8-15 the rest,
    # so output byte 2k = lo(k) | lo(k+8) << 4 and output byte 2k+1 = hi(k) | hi(k+8) << 4
    first, second = src[:, :, :8], src[:, :, 8:]
    out = np.empty((rows, n_blocks, 17), dtype=np.uint8)
    out[:, :, 0] = scale.view(np.uint8)
    out[:, :, 1::2] = (first & 0x0F) | (second << 4)
    out[:, :, 2::2] = (first >> 4) | (second & 0xF0)
    return out.reshape(rows, n_blocks * 17)


def dequant_fp4(packed: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """E2M1 pairs + E8M0 scales per 32 values -> float32 [rows, cols]."""
    rows, packed_cols = packed.shape
    src = packed.view(np.uint8)
    values = np.stack((E2M1_TO_F32[src & 0x0F], E2M1_TO_F32[src >> 4]), axis=-1).reshape(rows, -1, QK_MXFP4)
    values *= E8M0_TO_F32[scale.view(np.uint8)][:, :, None]
    return values.reshape(rows, packed_cols * 2)


def quantize_q8_0(values: np.ndarray) -> np.ndarray:
    """float32 [rows, cols] -> Q8_0 bytes [rows, cols/32*34], rounding exactly as ggml's reference."""
    rows, cols = values.shape
    blocks = values.reshape(-1, QK8_0)
    d = np.abs(blocks).max(axis=1, keepdims=True) / np.float32(127)
    with np.errstate(divide="ignore"):
        inv = np.where(d == 0, np.float32(0), np.float32(1) / d)
    q = _round_half_away(blocks * inv)
    out = np.empty((blocks.shape[0], 2 + QK8_0), dtype=np.uint8)
    out[:, :2] = d.astype(np.float16).view(np.uint8)
    out[:, 2:] = q.astype(np.int8).view(np.uint8)
    return out.reshape(rows, cols // QK8_0 * (2 + QK8_0))


def _round_half_away(x: np.ndarray) -> np.ndarray:
    # C's roundf (half away from zero), which np.round (half to even) is not
    a = np.abs(x)
    floored = np.floor(a)
    return np.sign(x) * (floored + np.floor(2 * (a - floored)))


def f32_to_bf16_bits(values: np.ndarray) -> np.ndarray:
    """float32 -> bfloat16 bits with round-to-nearest-even and quiet NaNs (ggml_compute_fp32_to_bf16)."""
    bits = np.ascontiguousarray(values, dtype=np.float32).view(np.uint32)
    nan = (bits & 0x7FFFFFFF) > 0x7F800000
    rounded = (bits.astype(np.uint64) + (0x7FFF + ((bits >> 16) & 1))) >> 16
    return np.where(nan, (bits >> 16) | 64, rounded).astype(np.uint16)


def bf16_bits_to_f32(bits: np.ndarray) -> np.ndarray:
    return (bits.astype(np.uint32) << 16).view(np.float32)
