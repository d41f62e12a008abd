"""Tiny V4 checkpoint -> GGUF: layout, values, loading in llama.cpp, the other output types, splitting."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest
from gguf import GGMLQuantizationType as T
from gguf import quants

from quant.gguf_in import GGUFFile

from tests.quant.conftest import run_cli, run_llama
from tests.quant.tiny_v4 import make_config


def read_source(ckpt: Path, name: str) -> tuple[str, np.ndarray]:
    """A checkpoint tensor's dtype and raw array, parsed independently of quant's reader."""
    weight_map = json.loads((ckpt / "model.safetensors.index.json").read_text())["weight_map"]
    path = ckpt / weight_map[name]
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        entry = json.loads(f.read(n))[name]
    storage = {"BF16": "<u2", "F32": "<f4", "F8_E4M3": "u1", "F8_E8M0": "u1", "I8": "u1", "I64": "<i8"}
    begin, end = entry["data_offsets"]
    raw = np.fromfile(path, dtype=np.uint8, count=end - begin, offset=8 + n + begin)
    return entry["dtype"], raw.view(storage[entry["dtype"]]).reshape(entry["shape"])


def types_and_shapes(gguf: GGUFFile) -> dict[str, tuple[str, list[int]]]:
    return {name: (t.type.name, list(t.shape)) for name, t in gguf.tensors.items()}


def fp8_source(ckpt: Path, base: str, block: int = 128) -> np.ndarray:
    """An FP8 weight dequantized element by element with its E8M0 block scale (float64, exact)."""
    from tests.quant.test_formats import _e4m3_reference

    _, w = read_source(ckpt, f"{base}.weight")
    _, s = read_source(ckpt, f"{base}.scale")
    table = np.array([_e4m3_reference(c) for c in range(256)])
    scale = np.exp2(s.astype(np.float64) - 127)
    return table[w] * np.repeat(np.repeat(scale, block, 0), block, 1)[: w.shape[0], : w.shape[1]]


def test_default_layout_matches_upstream(flash_ckpt, flash_gguf):
    config = make_config("flash")
    gguf = GGUFFile(flash_gguf)
    fields = {key: value for key, (_, value) in gguf.kv.items()}
    assert fields["general.architecture"] == "deepseek4"
    assert fields["general.file_type"] == 38  # MOSTLY_MXFP4_MOE, as upstream writes
    assert fields["deepseek4.block_count"] == 4
    assert fields["deepseek4.expert_gating_func"] == 4  # sqrtsoftplus
    assert fields["deepseek4.embedding_length_out"] == 32 * 4
    assert fields["deepseek4.attention.compress_ratios"] == [0, 4, 128, 4, 0]
    assert fields["deepseek4.swiglu_clamp_exp"] == [10.0] * 4
    assert fields["deepseek4.rope.scaling.type"] == "yarn"
    assert fields["tokenizer.ggml.pre"] == "joyai-llm"
    assert fields["tokenizer.ggml.model"] == "gpt2"
    assert "deepseek4.nextn_predict_layers" not in fields
    t = types_and_shapes(gguf)
    h, f, e, k, v = 32, 32, 8, 2, config["vocab_size"]
    expected = {
        "token_embd.weight": ("BF16", [h, v]), "output.weight": ("BF16", [h, v]),
        "output_norm.weight": ("F32", [h]), "output_hc_fn.weight": ("F32", [4 * h, 4]),
        "output_hc_scale.weight": ("F32", [1]),
        "blk.0.attn_q_a.weight": ("Q8_0", [h, 32]), "blk.0.attn_q_a_norm.weight": ("F32", [32]),
        "blk.0.attn_output_a.weight": ("Q8_0", [4 * 64 // 2, 2 * 32]), "blk.0.attn_sinks.weight": ("F32", [4]),
        "blk.0.hc_attn_fn.weight": ("F32", [4 * h, 24]), "blk.0.ffn_gate_inp.weight": ("BF16", [h, e]),
        "blk.0.ffn_gate_tid2eid.weight": ("I32", [k, v]),
        "blk.0.ffn_gate_exps.weight": ("MXFP4", [h, f, e]), "blk.0.ffn_down_exps.weight": ("MXFP4", [f, h, e]),
        "blk.0.ffn_up_shexp.weight": ("Q8_0", [h, f]),
        "blk.1.exp_probs_b.bias": ("F32", [e]), "blk.1.attn_compressor_ape.weight": ("F32", [128, 4]),
        "blk.1.indexer.proj.weight": ("Q8_0", [h, 4]), "blk.1.indexer_compressor_kv.weight": ("Q8_0", [h, 128]),
        "blk.2.attn_compressor_kv.weight": ("Q8_0", [h, 64]), "blk.2.attn_compressor_ape.weight": ("F32", [64, 128]),
    }
    for name, (type_name, shape) in expected.items():
        assert t[name] == (type_name, shape), name
    assert "blk.0.exp_probs_b.bias" not in t  # hash layers route by tid2eid; their bias is dropped
    assert "blk.0.attn_compressor_kv.weight" not in t  # ratio 0: sliding window only
    assert "blk.2.indexer.proj.weight" not in t  # ratio 128: no indexer
    assert not any(name.startswith("blk.4.") or "nextn" in name for name in t)  # MTP goes to the sidecar


def test_values_are_exact_or_within_the_type_error(flash_ckpt, flash_gguf):
    g = GGUFFile(flash_gguf)
    # BF16 and I32 copies are exact
    _, embed = read_source(flash_ckpt, "embed.weight")
    np.testing.assert_array_equal(g.array("token_embd.weight"), embed)
    _, tid2eid = read_source(flash_ckpt, "layers.0.ffn.gate.tid2eid")
    np.testing.assert_array_equal(g.array("blk.0.ffn_gate_tid2eid.weight"), tid2eid.astype(np.int32))
    # BF16 norms become the same values in F32
    _, norm = read_source(flash_ckpt, "layers.0.attn_norm.weight")
    np.testing.assert_array_equal(g.array("blk.0.attn_norm.weight"), (norm.astype(np.uint32) << 16).view(np.float32))
    # FP8 -> Q8_0 is ggml's Q8_0 of the exact dequantized weight
    exact = fp8_source(flash_ckpt, "layers.1.attn.wq_b")
    q8 = g.array("blk.1.attn_q_b.weight")
    assert q8.tobytes() == quants.quantize(exact.astype(np.float32), T.Q8_0).tobytes()
    decoded = quants.dequantize(q8, T.Q8_0).reshape(exact.shape)
    assert np.max(np.abs(decoded - exact)) <= np.abs(exact).max() / 127 * 0.6
    # experts: the MXFP4 bytes decode to exactly the E2M1 x E8M0 source values, expert by expert
    from tests.quant.test_formats import _e2m1_reference

    table = np.array([_e2m1_reference(c) for c in range(16)])
    decoded = quants.dequantize(g.array("blk.2.ffn_down_exps.weight"), T.MXFP4).reshape(8, 32, 32)
    for expert in (0, 7):
        _, packed = read_source(flash_ckpt, f"layers.2.ffn.experts.{expert}.w2.weight")
        _, scale = read_source(flash_ckpt, f"layers.2.ffn.experts.{expert}.w2.scale")
        codes = np.stack((packed.view(np.uint8) & 15, packed.view(np.uint8) >> 4), axis=-1).reshape(packed.shape[0], -1)
        values = table[codes] * np.repeat(np.exp2(scale.astype(np.float64) - 127), 32, axis=1)
        np.testing.assert_array_equal(decoded[expert], values)


def test_llama_cpp_loads_generates_and_chats(flash_gguf):
    result = run_llama(flash_gguf, n_tokens=4, chat=True)
    assert result["n_vocab"] == 129280
    assert result["completion_tokens"] == 4
    assert result["metadata"] == {"general.architecture": "deepseek4", "tokenizer.ggml.pre": "joyai-llm"}
    assert result["chat_finish"] in ("length", "stop")


def test_chat_template_renders_the_v4_format(flash_gguf):
    import jinja2

    template = GGUFFile(flash_gguf).value("tokenizer.chat_template")
    env = jinja2.Environment()
    messages = [{"role": "system", "content": "S"}, {"role": "user", "content": "Q1"},
                {"role": "assistant", "content": "A1"}, {"role": "user", "content": "Q2"}]
    bos, eos = "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>"
    plain = env.from_string(template).render(messages=messages, bos_token=bos, add_generation_prompt=True)
    assert plain == f"{bos}S<｜User｜>Q1<｜Assistant｜></think>A1{eos}<｜User｜>Q2<｜Assistant｜></think>"
    thinking = env.from_string(template).render(messages=messages[:2], bos_token=bos, add_generation_prompt=True,
                                                thinking=True)
    assert thinking == f"{bos}S<｜User｜>Q1<｜Assistant｜><think>"
    # reasoning is kept only for the turn after the last user message; tool results join the user turn
    history = messages[1:3] + [{"role": "user", "content": "Q2"}, {"role": "tool", "content": "R"},
                               {"role": "assistant", "content": "A2", "reasoning_content": "why"}]
    agent = env.from_string(template).render(messages=history, bos_token=bos, enable_thinking=True)
    assert agent == (f"{bos}<｜User｜>Q1<｜Assistant｜></think>A1{eos}<｜User｜>Q2\n\n<tool_result>R</tool_result>"
                     f"<｜Assistant｜><think>why</think>A2{eos}")


def test_mtp_sidecar_is_upstreams_draft_head(flash_ckpt, flash_gguf):
    sidecar = flash_gguf.with_name(f"mtp-{flash_gguf.name}")
    g = GGUFFile(sidecar)
    assert g.value("deepseek4.block_count") == 5
    assert g.value("deepseek4.nextn_predict_layers") == 1
    t = types_and_shapes(g)
    assert t["blk.4.nextn.eh_proj.weight"] == ("Q8_0", [64, 32])
    assert {"blk.4.nextn.enorm.weight", "blk.4.nextn.hnorm.weight", "blk.4.nextn.shared_head_norm.weight",
            "blk.4.ffn_gate_exps.weight", "token_embd.weight", "output.weight"} <= set(t)
    assert not any(name.startswith("blk.0.") for name in t)
    # the head's hyper-connection tensors are the MTP block's own
    _, fn = read_source(flash_ckpt, "mtp.0.hc_head_fn")
    np.testing.assert_array_equal(g.array("output_hc_fn.weight"), fn)
    # eh_proj is [e_proj | h_proj] along the input dimension, quantized to Q8_0
    exact = np.concatenate([fp8_source(flash_ckpt, "mtp.0.e_proj"), fp8_source(flash_ckpt, "mtp.0.h_proj")], axis=1)
    assert g.data("blk.4.nextn.eh_proj.weight").tobytes() == quants.quantize(exact.astype(np.float32), T.Q8_0).tobytes()


@pytest.mark.parametrize("type_name, dense, experts", [("bf16", "BF16", "BF16"), ("q8_0", "Q8_0", "Q8_0"),
                                                         ("f16", "F16", "F16")])
def test_streamed_types(pro_ckpt, tmp_path, type_name, dense, experts):
    out = tmp_path / f"pro-{type_name}.gguf"
    proc = run_cli("convert", str(pro_ckpt), "-o", str(out), "--type", type_name)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == str(out.resolve())
    g = GGUFFile(out)
    t = types_and_shapes(g)
    assert t["blk.0.attn_q_a.weight"][0] == dense
    assert t["blk.0.ffn_up_exps.weight"][0] == experts
    assert t["blk.0.hc_ffn_fn.weight"][0] == "F32"
    assert t["blk.0.ffn_gate_inp.weight"][0] == "BF16"
    # experts decode to their FP4 source values within the type's error (exact in BF16 and F16 here)
    _, packed = read_source(pro_ckpt, "layers.3.ffn.experts.5.w3.weight")
    _, scale = read_source(pro_ckpt, "layers.3.ffn.experts.5.w3.scale")
    from quant.formats import dequant_fp4

    source = dequant_fp4(packed, scale)
    raw = g.data("blk.3.ffn_up_exps.weight")
    values = raw.view(np.float16).astype(np.float32) if experts == "F16" else quants.dequantize(raw, T[experts])
    values = values.reshape(12, *source.shape)[5]
    tolerance = 0 if experts in ("BF16", "F16") else np.abs(source).max() / 127 * 0.6
    assert np.max(np.abs(values - source)) <= tolerance
    if type_name == "bf16":
        assert run_llama(out, n_tokens=2)["completion_tokens"] == 2


def test_split_output_loads_and_inspects_as_one_model(flash_ckpt, tmp_path):
    out = tmp_path / "split.gguf"
    proc = run_cli("convert", str(flash_ckpt), "-o", str(out), "--split-max-size", "8M")
    assert proc.returncode == 0, proc.stderr
    parts = sorted(tmp_path.glob("split-*-of-*.gguf"))
    assert len(parts) >= 2 and [str(p) for p in parts] == proc.stdout.split() and not out.exists()
    assert [p.name for p in parts] == [f"split-{i:05d}-of-{len(parts):05d}.gguf" for i in range(1, len(parts) + 1)]
    assert GGUFFile(parts[1]).value("split.no") == 1
    info = json.loads(run_cli("inspect", str(parts[-1]), "--json").stdout)
    assert info["tensor_count"] == 126 and len(info["files"]) == len(parts)
    assert info["metadata"]["split.count"] == len(parts)
    assert run_llama(parts[0], n_tokens=2)["completion_tokens"] == 2


def test_kquant_with_recipe_keeps_sensitive_tensors_precise(flash_ckpt, tmp_path):
    out = tmp_path / "flash-q4_k_m.gguf"
    proc = run_cli("convert", str(flash_ckpt), "-o", str(out), "--type", "q4_k_m")
    assert proc.returncode == 0, proc.stderr
    g = GGUFFile(out)
    assert g.value("general.file_type") == 15  # MOSTLY_Q4_K_M
    types = {name: t.type.name for name, t in g.tensors.items()}
    assert types["blk.1.hc_attn_fn.weight"] == "F32" and types["output_hc_fn.weight"] == "F32"
    assert types["blk.1.attn_compressor_ape.weight"] == "F32"
    assert types["blk.1.indexer.proj.weight"] == "Q8_0"
    assert types["blk.0.ffn_gate_tid2eid.weight"] == "I32" and types["blk.0.ffn_gate_inp.weight"] == "BF16"
    assert not list(tmp_path.glob(".*"))  # the streamed intermediate is gone
    assert run_llama(out, n_tokens=2)["completion_tokens"] == 2


def test_output_directory_gets_the_default_name(flash_ckpt, tmp_path):
    proc = run_cli("convert", str(flash_ckpt), "-o", str(tmp_path), "--type", "bf16", "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"{tmp_path / 'tiny-flash-bf16.gguf'}: 126 tensors")


def test_dry_run_prints_the_plan_and_writes_nothing(flash_ckpt, tmp_path):
    out = tmp_path / "plan.gguf"
    proc = run_cli("convert", str(flash_ckpt), "-o", str(out), "--dry-run", "--mtp")
    assert proc.returncode == 0, proc.stderr
    assert "126 tensors" in proc.stdout and "MXFP4" in proc.stdout and "mtp-plan.gguf" in proc.stdout
    assert list(tmp_path.iterdir()) == []


def test_pro_variant_converts_and_generates(pro_ckpt, tmp_path):
    out = tmp_path / "pro.gguf"
    from quant.convert import convert

    reports = []
    result = convert(pro_ckpt, out, threads=2, progress=lambda *report: reports.append(report))
    assert result.outputs == [out.resolve()] and result.bytes_written == out.stat().st_size
    done = [d for stage, d, _ in reports if stage == "convert"]
    assert done == sorted(done) and done[-1] == reports[-1][2] == sum(t.nbytes for t in GGUFFile(out).tensors.values())
    g = GGUFFile(out)
    assert g.value("deepseek4.block_count") == 5 and g.value("deepseek4.hash_layer_count") == 2
    assert g.value("deepseek4.attention.compress_ratios") == [128, 4, 0, 128, 4, 0]
    assert types_and_shapes(g)["blk.1.ffn_gate_tid2eid.weight"] == ("I32", [3, 129280])
    assert run_llama(out, n_tokens=3)["completion_tokens"] == 3


def test_fp8_block_size_comes_from_config(tmp_path):
    # V4.1 scales FP8 weights per 32x32 block (upstream's converter assumes 128x128)
    from quant.convert import convert
    from tests.quant.tiny_v4 import make_tiny_checkpoint

    ckpt = make_tiny_checkpoint(tmp_path / "v41", fp8_block=32, mtp=False)
    out = tmp_path / "v41.gguf"
    convert(ckpt, out, type="bf16", threads=2)
    exact = fp8_source(ckpt, "layers.1.attn.wo_a", block=32)
    got = GGUFFile(out).array("blk.1.attn_output_a.weight")
    np.testing.assert_array_equal((got.astype(np.uint32) << 16).view(np.float32), exact.astype(np.float32))
