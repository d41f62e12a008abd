"""Quantization recipes: the shipped ones load; a custom recipe reaches llama.cpp's quantizer (split output)."""

from __future__ import annotations

import re

import pytest
from gguf import GGMLQuantizationType as T
from gguf import LlamaFileType

from quant.errors import BadRecipe, UnsupportedModel
from quant.gguf_in import GGUFFile
from quant.recipe import KQUANT_TYPES, load_recipe, resolve_recipe, shipped_recipes
from tests.quant.conftest import run_cli, run_llama


def test_shipped_recipes_load_and_protect_v4_tensors():
    assert {"v4-safe", "v4-q4_k_m", "v4-q2_k"} <= set(shipped_recipes())
    for name in shipped_recipes():
        recipe = load_recipe(name, "q4_k_m" if name == "v4-safe" else None)
        patterns = dict(recipe.overrides)
        assert any(re.search(p, "blk.7.hc_attn_fn.weight") and t == T.F32 for p, t in patterns.items()), name
        assert any(re.search(p, "blk.7.attn_compressor_ape.weight") and t == T.F32 for p, t in patterns.items()), name
    assert load_recipe("v4-q2_k").file_type == LlamaFileType.MOSTLY_Q2_K


def test_type_and_recipe_resolution():
    assert resolve_recipe(None, None) is None and resolve_recipe("bf16", None) is None
    default = resolve_recipe("q3_k_m", None)
    assert default.name == "v4-safe" and default.file_type == LlamaFileType.MOSTLY_Q3_K_M
    assert resolve_recipe("q6_k", "v4-q2_k").file_type == LlamaFileType.MOSTLY_Q6_K  # --type wins over the file
    with pytest.raises(UnsupportedModel):
        resolve_recipe("bf16", "v4-q2_k")
    with pytest.raises(BadRecipe, match="recipe not found"):
        resolve_recipe(None, "no-such-recipe")
    assert set(KQUANT_TYPES) >= {"q4_k_m", "q3_k_m", "q2_k"}


def test_recipe_file_errors(tmp_path):
    bad_pattern = tmp_path / "a.toml"
    bad_pattern.write_text('type = "q4_k_m"\n[tensors]\n"(" = "q8_0"\n')
    with pytest.raises(BadRecipe, match="bad pattern"):
        load_recipe(bad_pattern)
    no_type = tmp_path / "b.toml"
    no_type.write_text('[tensors]\n"x" = "q8_0"\n')
    with pytest.raises(BadRecipe, match="type None"):
        load_recipe(no_type)
    broken = tmp_path / "c.toml"
    broken.write_text("type = \n")
    with pytest.raises(BadRecipe, match="cannot read recipe"):
        load_recipe(broken)


def test_custom_recipe_reaches_llama_cpp(flash_ckpt, tmp_path):
    recipe = tmp_path / "mine.toml"
    recipe.write_text('type = "q4_0"\n[tensors]\n'
                      "'ffn_down_exps' = \"q8_0\"\n"
                      "'^blk\\.2\\.attn_q_b' = \"f16\"\n")
    out = tmp_path / "custom.gguf"
    proc = run_cli("convert", str(flash_ckpt), "-o", str(out), "--recipe", str(recipe), "--split-max-size", "6M")
    assert proc.returncode == 0, proc.stderr
    parts = [GGUFFile(p) for p in sorted(tmp_path.glob("custom-*.gguf"))]
    assert len(parts) == 2 and sorted(str(p.path) for p in parts) == proc.stdout.split()
    assert not list(tmp_path.glob(".*"))
    types = {name: t.type.name for g in parts for name, t in g.tensors.items()}
    assert len(types) == parts[0].value("split.tensors.count") == 126
    assert parts[0].value("general.file_type") == int(LlamaFileType.MOSTLY_Q4_0)
    assert types["blk.3.ffn_down_exps.weight"] == "Q8_0" and types["blk.2.attn_q_b.weight"] == "F16"
    assert types["blk.3.ffn_up_exps.weight"] == "Q4_0"
    assert types["blk.1.hc_attn_fn.weight"] == "Q4_0"  # a recipe of one's own has no implicit protection
    assert run_llama(parts[0].path, n_tokens=2)["completion_tokens"] == 2
