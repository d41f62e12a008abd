"""Architecture mappings: one module per checkpoint family, found by the `architectures` entry of config.json."""

from __future__ import annotations

from types import ModuleType

from quant.arch import deepseek4
from quant.errors import UnsupportedModel

MAPPINGS: tuple[ModuleType, ...] = (deepseek4,)


def for_config(config: dict) -> ModuleType:
    """The mapping module that converts checkpoints with this config.json."""
    names = config.get("architectures") or []
    for module in MAPPINGS:
        if any(name in module.HF_ARCHITECTURES for name in names):
            return module
    supported = ", ".join(a for m in MAPPINGS for a in m.HF_ARCHITECTURES)
    raise UnsupportedModel(
        f"unsupported architecture {', '.join(names) or '(none in config.json)'}",
        hint=f"v4 convert handles {supported}",
    )
