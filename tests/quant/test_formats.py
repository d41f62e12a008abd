"""Number formats against element-by-element references written from the format definitions."""

from __future__ import annotations

import math

import numpy as np
import pytest
from gguf import GGMLQuantizationType as T
from gguf import quants

from quant import formats


def _e4m3_reference(code: int) -> float:
    sign = -1.0 if code & 0x80 else 1.0
    exp, mant = (code >> 3) & 0xF, code & 0x7
    if exp == 0xF and mant == 0x7:
        return math.nan
    if exp == 0:
        return sign * math.ldexp(mant / 8, -6)
    return sign * math.ldexp(1 + mant / 8, exp - 7)


def _e2m1_reference(code: int) -> float:
    sign = -1.0 if code & 0x8 else 1.0
    exp, mant = (code >> 1) & 0x3, code & 0x1
    return sign * (mant / 2 if exp == 0 else math.ldexp(1 + mant / 2, exp - 1))


def test_e4m3_table_matches_the_format_for_every_code():
    for code in range(256):
        expected = _e4m3_reference(code)
        got = float(formats.E4M3_TO_F32[code])
        assert (math.isnan(got) and math.isnan(expected)) or got == expected, code


def test_e8m0_table_is_exact_powers_of_two_and_nan():
    for code in range(255):
        assert float(formats.E8M0_TO_F32[code]) == math.ldexp(1.0, code - 127)
    assert math.isnan(formats.E8M0_TO_F32[255])


def test_e2m1_table_matches_the_format():
    assert [float(v) for v in formats.E2M1_TO_F32] == [_e2m1_reference(c) for c in range(16)]


@pytest.mark.parametrize("shape, block", [((256, 384), (128, 128)), ((200, 300), (128, 128)), ((64, 96), (32, 32))])
def test_fp8_dequant_is_the_exact_product_with_the_block_scale(shape, block):
    rng = np.random.default_rng(1)
    rows, cols = shape
    weight = rng.integers(0, 256, shape, dtype=np.uint8)
    weight[weight & 0x7F == 0x7F] = 0x38  # keep NaN codes out: the product would be NaN on both sides
    scale_codes = rng.integers(110, 135, (-(-rows // block[0]), -(-cols // block[1])), dtype=np.uint8)
    got = formats.dequant_fp8(weight, formats.E8M0_TO_F32[scale_codes], block)
    expected = np.empty(shape, dtype=np.float32)
    for i in range(rows):
        for j in range(cols):
            value = _e4m3_reference(int(weight[i, j])) * math.ldexp(1.0, int(scale_codes[i // block[0], j // block[1]]) - 127)
            expected[i, j] = np.float32(value)  # both factors are exact in float32, so is the product
    np.testing.assert_array_equal(got, expected)


def test_fp8_dequant_of_a_row_slice_uses_the_scale_rows_it_touches():
    rng = np.random.default_rng(2)
    weight = rng.integers(0, 0x7E, (256, 128), dtype=np.uint8)
    codes = rng.integers(120, 130, (2, 1), dtype=np.uint8)
    whole = formats.dequant_fp8(weight, formats.E8M0_TO_F32[codes], (128, 128))
    lower = formats.dequant_fp8(weight[128:], formats.E8M0_TO_F32[codes[1:]], (128, 128))
    np.testing.assert_array_equal(whole[128:], lower)


def _mxfp4_reference(packed: np.ndarray, scale: np.ndarray) -> bytes:
    """ggml block_mxfp4 bytes built one nibble at a time from the checkpoint's layout."""
    out = bytearray()
    rows, packed_cols = packed.shape
    for r in range(rows):
        for b in range(packed_cols * 2 // 32):
            def element(k: int) -> int:
                byte = int(packed[r, b * 16 + k // 2])
                return (byte >> 4) if k % 2 else (byte & 0xF)

            out.append(int(scale[r, b]))
            out += bytes(element(j) | (element(j + 16) << 4) for j in range(16))
    return bytes(out)


def test_fp4_to_mxfp4_repack_is_bit_exact_including_nibble_order():
    rng = np.random.default_rng(3)
    packed = rng.integers(-128, 128, (6, 64), dtype=np.int8)  # 128 values per row, stored as int8 like V4
    scale = rng.integers(100, 140, (6, 4), dtype=np.uint8)
    got = formats.fp4_to_mxfp4(packed, scale)
    assert got.shape == (6, 4 * 17)
    assert got.tobytes() == _mxfp4_reference(packed.view(np.uint8), scale)


def test_mxfp4_repack_decodes_to_the_source_values_in_ggml():
    rng = np.random.default_rng(4)
    packed = rng.integers(0, 256, (4, 32), dtype=np.uint8)
    scale = rng.integers(118, 136, (4, 2), dtype=np.uint8)
    source = np.array([[_e2m1_reference((int(packed[r, k // 2]) >> (4 * (k % 2))) & 0xF)
                        * math.ldexp(1.0, int(scale[r, k // 32]) - 127) for k in range(64)] for r in range(4)],
                      dtype=np.float32)
    np.testing.assert_array_equal(formats.dequant_fp4(packed, scale), source)
    decoded = quants.dequantize(formats.fp4_to_mxfp4(packed, scale), T.MXFP4)
    np.testing.assert_array_equal(decoded, source)


def test_q8_0_matches_ggml_reference_rounding_and_error_bound():
    rng = np.random.default_rng(5)
    values = (rng.standard_normal((8, 256)) * 0.02).astype(np.float32)
    values[0, :32] = 0  # an all-zero block has scale 0
    values[1, 5] = 0.5  # a block with an outlier
    got = formats.quantize_q8_0(values)
    assert got.tobytes() == quants.quantize(values, T.Q8_0).tobytes()
    decoded = quants.dequantize(got, T.Q8_0)
    scales = np.abs(values.reshape(-1, 32)).max(axis=1) / 127
    error = np.abs(decoded - values).reshape(-1, 32).max(axis=1)
    # half a step, plus the fp16 rounding of the scale (relative 2^-11) times up to 127 steps
    assert np.all(error <= scales * (0.5 + 127 * 2.0**-11) + 1e-12)


def test_bf16_rounding_matches_ggml_including_specials():
    rng = np.random.default_rng(6)
    values = rng.standard_normal(1000).astype(np.float32)
    values[:4] = [np.inf, -np.inf, np.nan, 0.0]
    values[4] = np.float32(1.00390625)  # exactly halfway between two bf16 values: rounds to even
    got = formats.f32_to_bf16_bits(values)
    assert got.tobytes() == quants.quantize(values, T.BF16).tobytes()
    back = formats.bf16_bits_to_f32(got)
    assert back[4] == 1.0
    finite = np.isfinite(values)
    assert np.all(np.abs(back[finite] - values[finite]) <= np.abs(values[finite]) * 2.0**-8)
