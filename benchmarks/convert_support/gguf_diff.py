"""Compare two GGUF files: metadata keys, value types and values, tensor names, shapes, types and bytes.

Differences the project accepts on purpose are reported apart from real mismatches:
- `general.*` naming keys (name, basename, size_label, ...): upstream derives them from the directory name;
- `tokenizer.chat_template`: upstream embeds llama.cpp's V4 template, v4 embeds its own (DESIGN.md).
Everything else, tensor bytes included, must be identical.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from gguf.quants import dequantize

from .gguf_read import GGUFFile, Tensor, read_gguf

# keys that must match even though they live under general.*
STRICT_GENERAL = {"general.architecture", "general.file_type", "general.quantization_version", "general.alignment"}
ALLOWED_KEYS = {"tokenizer.chat_template"}
COMPARE_CHUNK = 64 << 20
DEQUANT_LIMIT = 64 << 20  # decode mismatching tensors up to this size to report value differences


@dataclass
class Diff:
    mismatches: list[str] = field(default_factory=list)
    allowed: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.mismatches


def _allowed(key: str) -> bool:
    return key in ALLOWED_KEYS or (key.startswith("general.") and key not in STRICT_GENERAL)


def _short(value: object, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


def compare_metadata(ours: GGUFFile, ref: GGUFFile, diff: Diff) -> None:
    if ours.version != ref.version:
        diff.mismatches.append(f"GGUF version {ours.version} vs upstream {ref.version}")
    for key in sorted(ref.kv.keys() - ours.kv.keys()):
        target = diff.allowed if _allowed(key) else diff.mismatches
        target.append(f"key {key}: missing in ours (upstream: {_short(ref.kv[key][1])})")
    for key in sorted(ours.kv.keys() - ref.kv.keys()):
        target = diff.allowed if _allowed(key) else diff.mismatches
        target.append(f"key {key}: only in ours ({_short(ours.kv[key][1])})")
    for key in sorted(ours.kv.keys() & ref.kv.keys()):
        (type_a, va), (type_b, vb) = ours.kv[key], ref.kv[key]
        if type_a != type_b:
            diff.mismatches.append(f"key {key}: type {type_a} vs upstream {type_b}")
        elif va != vb:
            target = diff.allowed if _allowed(key) else diff.mismatches
            if isinstance(va, list) and isinstance(vb, list) and len(va) == len(vb):
                first = next(i for i, (x, y) in enumerate(zip(va, vb)) if x != y)
                target.append(f"key {key}: element {first} is {_short(va[first])} vs upstream {_short(vb[first])}")
            else:
                target.append(f"key {key}: {_short(va)} vs upstream {_short(vb)}")


def _value_diff(a: Tensor, ra: np.ndarray, rb: np.ndarray) -> str:
    """Largest absolute difference of the decoded values, when cheap enough to compute."""
    if ra.size > DEQUANT_LIMIT:
        return ""
    try:
        va = dequantize(ra, a.type).astype(np.float64).reshape(-1)
        vb = dequantize(rb, a.type).astype(np.float64).reshape(-1)
    except (NotImplementedError, ValueError, KeyError):
        return ""
    return f", max |diff| of values {np.nanmax(np.abs(va - vb)):.3g} (upstream max |value| {np.nanmax(np.abs(vb)):.3g})"


def compare_tensor_data(ours: GGUFFile, ref: GGUFFile, a: Tensor, b: Tensor) -> str | None:
    """None when the bytes are equal, else where they differ (compared in chunks: bounded memory)."""
    ra, rb = ours.data(a), ref.data(b)
    differing, first = 0, None
    for start in range(0, ra.size, COMPARE_CHUNK):
        ca, cb = ra[start : start + COMPARE_CHUNK], rb[start : start + COMPARE_CHUNK]
        if np.array_equal(ca, cb):
            continue
        where = np.flatnonzero(ca != cb)
        differing += where.size
        first = start + int(where[0]) if first is None else first
    if not differing:
        return None
    return f"{differing} of {ra.size} bytes differ, first at byte {first}{_value_diff(a, ra, rb)}"


def compare_tensors(ours: GGUFFile, ref: GGUFFile, diff: Diff) -> None:
    ta, tb = ours.tensors, ref.tensors
    for name in sorted(tb.keys() - ta.keys()):
        diff.mismatches.append(f"tensor {name}: missing in ours ({tb[name].type.name} {list(tb[name].shape)})")
    for name in sorted(ta.keys() - tb.keys()):
        diff.mismatches.append(f"tensor {name}: only in ours ({ta[name].type.name} {list(ta[name].shape)})")
    for name in sorted(ta.keys() & tb.keys()):
        a, b = ta[name], tb[name]
        if a.type != b.type or a.shape != b.shape:
            diff.mismatches.append(f"tensor {name}: {a.type.name} {list(a.shape)} vs upstream {b.type.name} {list(b.shape)}")
            continue
        problem = compare_tensor_data(ours, ref, a, b)
        if problem:
            diff.mismatches.append(f"tensor {name} ({a.type.name} {list(a.shape)}): {problem}")
    if [n for n in ta if n in tb] != [n for n in tb if n in ta]:
        diff.notes.append("tensor order differs from upstream (allowed: the loader looks tensors up by name)")


def compare_gguf(ours: Path, upstream: Path) -> Diff:
    diff = Diff()
    a, b = read_gguf(ours), read_gguf(upstream)
    compare_metadata(a, b, diff)
    compare_tensors(a, b, diff)
    return diff
