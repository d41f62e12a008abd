"""The tiny V4 checkpoint generator keeps the release's file format, names, dtypes and loader limits."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from tests.quant.tiny_v4 import (
    DTYPE_SIZES,
    VARIANTS,
    checkpoint_plan,
    large_config,
    make_config,
    make_tiny_checkpoint,
    tokenizer_dir,
)


def read_safetensors(path: Path) -> tuple[dict, int]:
    """(header without __metadata__, offset where the data starts), parsed independently of the writer."""
    raw = path.read_bytes()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + n])
    header.pop("__metadata__", None)
    return header, 8 + n


def tensor_bytes(ckpt: Path, name: str) -> bytes:
    shard = json.loads((ckpt / "model.safetensors.index.json").read_text())["weight_map"][name]
    header, start = read_safetensors(ckpt / shard)
    begin, end = header[name]["data_offsets"]
    with open(ckpt / shard, "rb") as f:
        f.seek(start + begin)
        return f.read(end - begin)


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def ckpt(request, tmp_path_factory) -> Path:
    return make_tiny_checkpoint(tmp_path_factory.mktemp(request.param), variant=request.param, num_shards=3)


def all_tensors(ckpt: Path) -> dict[str, dict]:
    tensors: dict[str, dict] = {}
    for shard in sorted(ckpt.glob("model-*.safetensors")):
        header, _ = read_safetensors(shard)
        tensors.update(header)
    return tensors


def test_shards_are_valid_safetensors_and_match_the_index(ckpt):
    index = json.loads((ckpt / "model.safetensors.index.json").read_text())
    shards = sorted(p.name for p in ckpt.glob("model-*.safetensors"))
    assert shards == ["model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors",
                      "model-00003-of-00003.safetensors"]
    seen: dict[str, str] = {}
    total = 0
    for name in shards:
        header, start = read_safetensors(ckpt / name)
        assert start % 8 == 0
        spans = sorted(tuple(t["data_offsets"]) for t in header.values())
        assert spans[0][0] == 0 and all(a[1] == b[0] for a, b in zip(spans, spans[1:]))  # no holes
        assert start + spans[-1][1] == (ckpt / name).stat().st_size
        for tname, t in header.items():
            assert t["dtype"] in DTYPE_SIZES
            begin, end = t["data_offsets"]
            assert end - begin == DTYPE_SIZES[t["dtype"]] * math.prod(t["shape"]), tname
            seen[tname] = name
            total += end - begin
    assert seen == index["weight_map"]
    assert index["metadata"]["total_size"] == total


def test_names_dtypes_and_shapes_follow_the_release(ckpt):
    config = json.loads((ckpt / "config.json").read_text())
    tensors = all_tensors(ckpt)
    h, vocab = config["hidden_size"], config["vocab_size"]
    assert not any(n.startswith("model.") for n in tensors)
    assert tensors["embed.weight"] == {**tensors["embed.weight"], "dtype": "BF16", "shape": [vocab, h]}
    assert tensors["head.weight"]["shape"] == [vocab, h]
    assert tensors["hc_head_fn"]["shape"] == [4, 4 * h] and tensors["hc_head_fn"]["dtype"] == "F32"
    block = config["quantization_config"]["weight_block_size"]
    for name, t in tensors.items():
        if t["dtype"] == "F8_E4M3":
            scale = tensors[name.removesuffix(".weight") + ".scale"]
            assert scale["dtype"] == "F8_E8M0"
            assert scale["shape"] == [-(-t["shape"][0] // block[0]), -(-t["shape"][1] // block[1])]
        if ".experts." in name and name.endswith(".weight") and ".shared_experts." not in name:
            assert t["dtype"] == "I8"
            scale = tensors[name.removesuffix(".weight") + ".scale"]
            assert scale["dtype"] == "F8_E8M0" and scale["shape"] == [t["shape"][0], t["shape"][1] * 2 // 32]
    for i, ratio in enumerate(config["compress_ratios"][: config["num_hidden_layers"]]):
        p = f"layers.{i}"
        assert (f"{p}.attn.compressor.wkv.weight" in tensors) == (ratio != 0)
        assert (f"{p}.attn.indexer.wq_b.weight" in tensors) == (ratio == 4)
        if ratio:
            assert tensors[f"{p}.attn.compressor.ape"]["shape"] == [ratio, (2 if ratio == 4 else 1) * config["head_dim"]]
        hashed = i < config["num_hash_layers"]
        assert (f"{p}.ffn.gate.tid2eid" in tensors) == hashed
        assert (f"{p}.ffn.gate.bias" in tensors) == (not hashed)
        for e in range(config["n_routed_experts"]):
            assert tensors[f"{p}.ffn.experts.{e}.w2.weight"]["shape"] == [h, config["moe_intermediate_size"] // 2]
    assert {"mtp.0.e_proj.weight", "mtp.0.h_proj.scale", "mtp.0.enorm.weight", "mtp.0.hc_head_fn",
            "mtp.0.attn.wq_a.weight", "mtp.0.ffn.experts.0.w1.weight"} <= set(tensors)


def test_config_respects_the_llama_cpp_loader_limits(ckpt):
    c = json.loads((ckpt / "config.json").read_text())
    assert c["architectures"] == ["DeepseekV4ForCausalLM"] and c["model_type"] == "deepseek_v4"
    assert c["hc_mult"] == 4
    idx = c["index_head_dim"]
    assert idx >= 64 and idx & (idx - 1) == 0
    for value in (c["hidden_size"], c["moe_intermediate_size"], c["q_lora_rank"],
                  c["num_attention_heads"] * c["head_dim"] // c["o_groups"], c["o_groups"] * c["o_lora_rank"]):
        assert value % 32 == 0
    assert len(c["compress_ratios"]) == c["num_hidden_layers"] + c["num_nextn_predict_layers"]
    assert set(c["compress_ratios"]) == {0, 4, 128}
    assert c["compress_ratios"][-1] == 0  # the MTP block
    tokenizer = json.loads((tokenizer_dir() / "tokenizer.json").read_text())
    ids = list(tokenizer["model"]["vocab"].values()) + [t["id"] for t in tokenizer["added_tokens"]]
    assert max(ids) == c["vocab_size"] - 1
    assert (ckpt / "tokenizer.json").read_bytes() == (tokenizer_dir() / "tokenizer.json").read_bytes()


def test_data_is_valid_for_its_format(ckpt):
    config = json.loads((ckpt / "config.json").read_text())
    fp8 = np.frombuffer(tensor_bytes(ckpt, "layers.1.attn.wq_b.weight"), dtype=np.uint8)
    assert not np.isin(fp8, [0x7F, 0xFF]).any()  # the e4m3fn NaN patterns
    scales = np.frombuffer(tensor_bytes(ckpt, "layers.1.ffn.experts.0.w1.scale"), dtype=np.uint8)
    assert scales.min() > 100 and scales.max() < 127  # sane powers of two, no E8M0 NaN (255)
    bf16 = np.frombuffer(tensor_bytes(ckpt, "embed.weight"), dtype=np.uint16)
    values = (bf16.astype(np.uint32) << 16).view(np.float32)
    assert np.isfinite(values).all() and np.abs(values).max() < 1
    table = np.frombuffer(tensor_bytes(ckpt, "layers.0.ffn.gate.tid2eid"), dtype=np.int64)
    table = table.reshape(config["vocab_size"], config["num_experts_per_tok"])
    assert table.min() >= 0 and table.max() < config["n_routed_experts"]
    assert (np.sort(table, axis=1)[:, 1:] != np.sort(table, axis=1)[:, :-1]).all()  # distinct per token


def test_bytes_depend_on_seed_and_name_only(tmp_path):
    one = make_tiny_checkpoint(tmp_path / "one", num_shards=1, mtp=False)
    again = make_tiny_checkpoint(tmp_path / "again", num_shards=4, mtp=False)
    other = make_tiny_checkpoint(tmp_path / "other", num_shards=1, mtp=False, seed=1)
    for name in ("embed.weight", "layers.2.attn.wo_a.weight", "layers.3.ffn.experts.7.w3.scale"):
        assert tensor_bytes(one, name) == tensor_bytes(again, name)
        assert tensor_bytes(one, name) != tensor_bytes(other, name)
    assert len(list(again.glob("model-*.safetensors"))) == 4
    assert not any(n.startswith("mtp.") for n in all_tensors(one))
    assert json.loads((one / "config.json").read_text())["num_nextn_predict_layers"] == 0


def test_fp8_block_size_sets_scale_grid(tmp_path):
    ckpt = make_tiny_checkpoint(tmp_path / "b32", fp8_block=32, mtp=False)
    tensors = all_tensors(ckpt)
    assert json.loads((ckpt / "config.json").read_text())["quantization_config"]["weight_block_size"] == [32, 32]
    assert tensors["layers.0.attn.wq_b.weight"]["shape"] == [256, 32]
    assert tensors["layers.0.attn.wq_b.scale"]["shape"] == [8, 1]


def test_large_config_fits_its_target_without_writing():
    config = large_config(3.0)
    size = sum(s.nbytes for s in checkpoint_plan(config))
    per_layer = sum(s.nbytes for s in checkpoint_plan(config) if s.name.startswith("layers.0."))
    assert abs(size - 3e9) < 2 * per_layer
    assert set(config["compress_ratios"]) == {0, 4, 128}


def test_unknown_variant_is_rejected():
    with pytest.raises(ValueError, match="unknown variant"):
        make_config("mini")
