"""`v4 inspect`: metadata, tensor table and totals of a GGUF file (thin layer over quant.inspect)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from v4cli.errors import UsageError


def inspect_command(
    path: Path = typer.Argument(..., help="GGUF file (any part of a split model)."),
    as_json: bool = typer.Option(False, "--json", help="Print everything as one JSON object."),
    tensors: bool = typer.Option(True, "--tensors/--no-tensors", help="Include the tensor table."),
) -> None:
    """Show what a GGUF file holds: metadata, tensors (name, type, shape, bytes), totals by type."""
    from quant.errors import BadGGUF
    from quant.inspect import inspect_gguf

    try:
        info = inspect_gguf(path)
    except BadGGUF as err:
        raise UsageError(err.message, hint=err.hint) from None
    if not tensors:
        info.pop("tensors")
    if as_json:
        sys.stdout.write(json.dumps(info, ensure_ascii=False, indent=2, default=str) + "\n")
        return
    sys.stdout.write(_text(info))


def _text(info: dict) -> str:
    out = []
    for f in info["files"]:
        out.append(f"file {f['path']}  ({_size(f['bytes'])}, {f['tensors']} tensors)")
    out.append("")
    out.append("metadata:")
    width = max((len(k) for k in info["metadata"]), default=0)
    for key, value in info["metadata"].items():
        out.append(f"  {key:<{width}}  {_short(value)}")
    if "tensors" in info:
        out.append("")
        out.append("tensors (shape in ggml order, innermost first):")
        name_w = max((len(t["name"]) for t in info["tensors"]), default=0)
        for t in info["tensors"]:
            shape = "x".join(str(d) for d in t["shape"])
            out.append(f"  {t['name']:<{name_w}}  {t['type']:<7} {shape:<22} {_size(t['bytes']):>10}")
    out.append("")
    out.append("totals by type:")
    for type_name, total in info["totals"].items():
        out.append(f"  {type_name:<7} {total['count']:>6} tensors  {_size(total['bytes']):>10}")
    out.append(f"  all     {info['tensor_count']:>6} tensors  {_size(info['tensor_bytes']):>10}  "
               f"({info['parameters'] / 1e9:.3f} B parameters)")
    return "\n".join(out) + "\n"


def _short(value: object) -> str:
    if isinstance(value, dict) and "count" in value:
        head = ", ".join(repr(v) for v in value["head"])
        return f"[{value['array']} x {value['count']}: {head}, ...]"
    text = repr(value) if isinstance(value, str) else str(value)
    text = text.replace("\n", "\\n")
    return text if len(text) <= 120 else text[:117] + "..."


def _size(n: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= scale:
            return f"{n / scale:.2f} {unit}"
    return f"{n} B"
