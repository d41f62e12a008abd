"""Quantization recipes: a llama.cpp file type plus tensor-name patterns mapped to ggml types.

A recipe is a TOML file (see quant/recipes/): `type` names the base mix (q4_k_m, q2_k, ...), and the
`[tensors]` table maps regular expressions, searched in GGUF tensor names in file order (first match
wins), to ggml types. They become llama_model_quantize's tensor-type overrides.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from gguf import GGMLQuantizationType, LlamaFileType

from quant.errors import BadRecipe, UnsupportedModel

RECIPES = Path(__file__).parent / "recipes"
DEFAULT_RECIPE = "v4-safe"
KQUANT_TYPES = ("q2_k", "q3_k_s", "q3_k_m", "q3_k_l", "q4_k_s", "q4_k_m", "q5_k_s", "q5_k_m", "q6_k",
                "q4_0", "q5_0")


@dataclass(frozen=True)
class Recipe:
    name: str
    file_type: LlamaFileType
    overrides: tuple[tuple[str, GGMLQuantizationType], ...]


def shipped_recipes() -> list[str]:
    return sorted(p.stem for p in RECIPES.glob("*.toml"))


def resolve_recipe(type_: str | None, recipe: str | os.PathLike[str] | None) -> Recipe | None:
    """The recipe for a K-quant conversion, or None when the streaming pass alone produces `type_`."""
    if recipe is None:
        if type_ not in KQUANT_TYPES:
            return None
        return load_recipe(DEFAULT_RECIPE, type_)
    if type_ is not None and type_ not in KQUANT_TYPES:
        raise UnsupportedModel(f"a recipe applies to K-quant types, not {type_!r}",
                               hint=f"use --type with one of {', '.join(KQUANT_TYPES)}, or leave it out")
    return load_recipe(recipe, type_)


def load_recipe(recipe: str | os.PathLike[str], type_: str | None = None) -> Recipe:
    """Load a shipped recipe by name or a TOML file by path; `type_` overrides the recipe's own type."""
    path = Path(recipe)
    if not path.is_file():
        shipped = RECIPES / f"{recipe}.toml"
        if not shipped.is_file():
            raise BadRecipe(f"recipe not found: {recipe}",
                            hint=f"give a TOML file or one of: {', '.join(shipped_recipes())}")
        path = shipped
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10: the same parser, as a package
        import tomli as tomllib  # type: ignore[no-redef]
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise BadRecipe(f"cannot read recipe {path}: {err}") from None
    base = type_ or data.get("type")
    if base not in KQUANT_TYPES:
        raise BadRecipe(f"recipe {path.name}: type {base!r} is not one of {', '.join(KQUANT_TYPES)}",
                        hint="set `type = \"q4_k_m\"` in the recipe or pass --type")
    table = data.get("tensors") or {}
    if not isinstance(table, dict):
        raise BadRecipe(f"recipe {path.name}: [tensors] must map patterns to type names")
    overrides = []
    for pattern, name in table.items():
        try:
            re.compile(pattern)
        except re.error as err:
            raise BadRecipe(f"recipe {path.name}: bad pattern {pattern!r}: {err}") from None
        try:
            overrides.append((pattern, GGMLQuantizationType[str(name).upper()]))
        except KeyError:
            raise BadRecipe(f"recipe {path.name}: unknown type {name!r} for {pattern!r}",
                            hint="use ggml type names such as f32, bf16, q8_0, q6_k, q4_k") from None
    return Recipe(path.stem, LlamaFileType[f"MOSTLY_{base.upper()}"], tuple(overrides))
