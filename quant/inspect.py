"""What a GGUF holds: metadata, tensors (name, type, shape, bytes) and totals by type; split files included.

Only the headers are read (quant.gguf_in). Given any part of a
split model (`NAME-0000k-of-0000N.gguf`), all parts are read and reported as one model.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from typing import Any

from quant.errors import BadGGUF
from quant.gguf_in import GGUFFile

SPLIT_NAME = re.compile(r"^(?P<stem>.*)-(?P<no>\d{5})-of-(?P<count>\d{5})\.gguf$")
ARRAY_HEAD = 8  # array items shown before eliding


def gguf_parts(path: Path) -> list[Path]:
    """All files of the model `path` belongs to (just `path` unless it is part of a split)."""
    match = SPLIT_NAME.match(path.name)
    if not match:
        return [path]
    count = int(match["count"])
    parts = [path.with_name(f"{match['stem']}-{i:05d}-of-{count:05d}.gguf") for i in range(1, count + 1)]
    missing = [p.name for p in parts if not p.is_file()]
    if missing:
        raise BadGGUF(f"split model is missing {', '.join(missing)}")
    return parts


def inspect_gguf(path: str | Path) -> dict[str, Any]:
    """A JSON-ready description of the GGUF at `path`."""
    path = Path(path)
    if not path.is_file():
        raise BadGGUF(f"no such file: {path}")
    files, metadata, tensors = [], {}, []
    totals: dict[str, dict[str, int]] = defaultdict(lambda: {"count": 0, "bytes": 0})
    for part in gguf_parts(path):
        gguf = GGUFFile(part)
        files.append({"path": str(part), "bytes": part.stat().st_size, "tensors": len(gguf.tensors)})
        for key, (vtype, value) in gguf.kv.items():
            metadata.setdefault(key, _summary(value))
        for t in gguf.tensors.values():
            tensors.append({"name": t.name, "type": t.type.name, "shape": list(t.shape), "bytes": t.nbytes,
                            "file": part.name})
            totals[t.type.name]["count"] += 1
            totals[t.type.name]["bytes"] += t.nbytes
        gguf.close()
    return {
        "files": files,
        "metadata": metadata,
        "tensors": tensors,
        "totals": dict(sorted(totals.items(), key=lambda kv: -kv[1]["bytes"])),
        "tensor_count": len(tensors),
        "tensor_bytes": sum(t["bytes"] for t in tensors),
        "parameters": sum(_elements(t["shape"]) for t in tensors),
    }


def _elements(shape: list[int]) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def _summary(value: Any) -> Any:
    """A metadata value; long arrays become {"array": item type, "count": n, "head": [first items]}."""
    if isinstance(value, list) and len(value) > ARRAY_HEAD:
        item = type(value[0]).__name__ if value else "?"
        return {"array": item, "count": len(value), "head": value[:ARRAY_HEAD]}
    return value
