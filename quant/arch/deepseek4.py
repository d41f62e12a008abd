"""DeepSeek V4 (Flash, Pro) -> llama.cpp's `deepseek4` GGUF layout.

The keys, tensor names, shapes and types are those of upstream llama.cpp's converter
(`conversion/deepseek.py::DeepseekV4Model`) and loader (`src/models/deepseek4.cpp`): FP8 dense weights
-> Q8_0, E2M1 routed experts stacked per layer and repacked to MXFP4, BF16 2-D weights kept, 1-D and
norm tensors F32, `tid2eid` I32, hash layers' unused router bias dropped. gguf-py 0.19 lacks these
constants, so names are spelled out here. Other layouts (q8_0, bf16, f16) change only the types.
"""

from __future__ import annotations

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf import GGUFValueType as V

from quant.errors import BadCheckpoint
from quant.gguf_out import KV, TensorInfo
from quant.plan import (
    Layout, OutputTensor, Plan, can_encode, expect, expert_chunks, fp8_chunks, fp8_rows, encode, plain_chunks,
    row_ranges,
)
from quant.safetensors_reader import Checkpoint, TensorRef

HF_ARCHITECTURES = ("DeepseekV4ForCausalLM",)
ARCH = "deepseek4"
CHAT_TEMPLATE = "deepseek4.jinja"
GATING_FUNCS = {"softmax": 1, "sigmoid": 2, "sqrtsoftplus": 4}
SCALE_DTYPES = ("F8_E8M0", "U8", "F32", "BF16")
HALF = ("BF16", "F16")

# checkpoint name inside a block -> GGUF name inside blk.N
BLOCK_TENSORS = {
    "attn_norm.weight": "attn_norm.weight",
    "ffn_norm.weight": "ffn_norm.weight",
    "hc_attn_fn": "hc_attn_fn.weight",
    "hc_attn_base": "hc_attn_base.weight",
    "hc_attn_scale": "hc_attn_scale.weight",
    "hc_ffn_fn": "hc_ffn_fn.weight",
    "hc_ffn_base": "hc_ffn_base.weight",
    "hc_ffn_scale": "hc_ffn_scale.weight",
    "attn.attn_sink": "attn_sinks.weight",
    "attn.wq_a.weight": "attn_q_a.weight",
    "attn.q_norm.weight": "attn_q_a_norm.weight",
    "attn.wq_b.weight": "attn_q_b.weight",
    "attn.wkv.weight": "attn_kv.weight",
    "attn.kv_norm.weight": "attn_kv_a_norm.weight",
    "attn.wo_a.weight": "attn_output_a.weight",
    "attn.wo_b.weight": "attn_output_b.weight",
    "attn.compressor.wkv.weight": "attn_compressor_kv.weight",
    "attn.compressor.wgate.weight": "attn_compressor_gate.weight",
    "attn.compressor.ape": "attn_compressor_ape.weight",
    "attn.compressor.norm.weight": "attn_compressor_norm.weight",
    "attn.indexer.wq_b.weight": "indexer.attn_q_b.weight",
    "attn.indexer.weights_proj.weight": "indexer.proj.weight",
    "attn.indexer.compressor.wkv.weight": "indexer_compressor_kv.weight",
    "attn.indexer.compressor.wgate.weight": "indexer_compressor_gate.weight",
    "attn.indexer.compressor.ape": "indexer_compressor_ape.weight",
    "attn.indexer.compressor.norm.weight": "indexer_compressor_norm.weight",
    "ffn.gate.weight": "ffn_gate_inp.weight",
    "ffn.gate.bias": "exp_probs_b.bias",
    "ffn.gate.tid2eid": "ffn_gate_tid2eid.weight",
    "ffn.shared_experts.w1.weight": "ffn_gate_shexp.weight",
    "ffn.shared_experts.w2.weight": "ffn_down_shexp.weight",
    "ffn.shared_experts.w3.weight": "ffn_up_shexp.weight",
}
EXPERT_TENSORS = {"w1": "ffn_gate_exps.weight", "w2": "ffn_down_exps.weight", "w3": "ffn_up_exps.weight"}
HC_HEAD = {"hc_head_fn": "output_hc_fn.weight", "hc_head_base": "output_hc_base.weight",
           "hc_head_scale": "output_hc_scale.weight"}


class _Dims:
    """The hparams the layout depends on, read from config.json with clear errors."""

    def __init__(self, config: dict) -> None:
        self.config = config
        c = self.get
        self.hidden, self.vocab, self.layers = c("hidden_size"), c("vocab_size"), c("num_hidden_layers")
        self.heads, self.head_dim, self.q_lora = c("num_attention_heads"), c("head_dim"), c("q_lora_rank")
        self.o_groups, self.o_lora = c("o_groups"), c("o_lora_rank")
        self.experts, self.top_k = c("n_routed_experts"), c("num_experts_per_tok")
        self.ffn, self.shared = c("moe_intermediate_size"), c("n_shared_experts")
        self.hc, self.hash_layers = c("hc_mult"), c("num_hash_layers")
        self.index_heads, self.index_dim = c("index_n_heads"), c("index_head_dim")
        self.ratios = list(c("compress_ratios"))
        self.nextn = int(config.get("num_nextn_predict_layers") or 0)
        block = (config.get("quantization_config") or {}).get("weight_block_size") or [128, 128]
        self.block = (int(block[0]), int(block[1]))
        if len(self.ratios) < self.layers or any(r not in (0, 4, 128) for r in self.ratios):
            raise BadCheckpoint(
                f"config.json compress_ratios {self.ratios} needs one value in {{0, 4, 128}} per layer "
                f"({self.layers} layers)"
            )

    def get(self, key: str):
        value = self.config.get(key)
        if value is None:
            raise BadCheckpoint(f"config.json has no {key}", hint="is this a DeepSeek V4 checkpoint?")
        return value


def build_plan(ckpt: Checkpoint, layout: Layout, *, mtp_only: bool = False, name: str = "") -> Plan:
    """The GGUF of the trunk model, or with `mtp_only` the MTP draft head (upstream's `--mtp` file)."""
    d = _Dims(ckpt.config)
    if mtp_only and d.nextn < 1:
        raise BadCheckpoint("config.json sets no num_nextn_predict_layers: this checkpoint has no MTP block")
    builder = _Builder(ckpt, layout, d)
    builder.root(hc_prefix="mtp.0." if mtp_only else "")
    if mtp_only:
        for m in range(d.nextn):
            builder.block(f"mtp.{m}", d.layers + m, hashed=False)
            builder.mtp_extras(f"mtp.{m}", d.layers + m)
    else:
        for i in range(d.layers):
            builder.block(f"layers.{i}", i, hashed=i < d.hash_layers)
    block_count = d.layers + (d.nextn if mtp_only else 0)
    if len(d.ratios) < block_count:
        raise BadCheckpoint(f"config.json compress_ratios has {len(d.ratios)} values for {block_count} blocks")
    kv = model_kv(ckpt.config, d, layout, block_count, nextn=d.nextn if mtp_only else 0, name=name)
    # report what was left out of this file: the trunk leaves the MTP block to the draft-head file
    skipped = sorted(n for n in ckpt.tensors if n not in builder.used and n.startswith("mtp.") == mtp_only)
    return Plan(kv=kv, tensors=builder.out, skipped=skipped)


def model_kv(config: dict, d: _Dims, layout: Layout, block_count: int, nextn: int, name: str) -> list[KV]:
    """The architecture metadata llama.cpp's deepseek4 loader reads (the keys upstream writes)."""
    a = ARCH
    kv = [
        KV("general.architecture", V.STRING, a),
        KV("general.type", V.STRING, "model"),
        KV("general.name", V.STRING, name or "DeepSeek V4"),
        KV(f"{a}.block_count", V.UINT32, block_count),
    ]
    optional_u32 = [
        ("context_length", ("max_position_embeddings",)),
        ("embedding_length", ("hidden_size",)),
        ("feed_forward_length", ("prefix_dense_intermediate_size", "dense_intermediate_size", "intermediate_size")),
        ("attention.head_count", ("num_attention_heads",)),
        ("attention.head_count_kv", ("num_key_value_heads",)),
    ]
    for key, names in optional_u32:
        value = next((config[n] for n in names if config.get(n) is not None), None)
        if value is not None:
            kv.append(KV(f"{a}.{key}", V.UINT32, int(value)))
    kv += _rope_kv(config)
    kv.append(KV(f"{a}.attention.layer_norm_rms_epsilon", V.FLOAT32, float(d.get("rms_norm_eps"))))
    kv.append(KV(f"{a}.expert_count", V.UINT32, d.experts))
    kv.append(KV(f"{a}.expert_used_count", V.UINT32, d.top_k))
    for key, name_ in (("expert_group_count", "n_group"), ("expert_group_used_count", "topk_group")):
        if config.get(name_) is not None:
            kv.append(KV(f"{a}.{key}", V.UINT32, int(config[name_])))
    scoring = config.get("scoring_func", "sqrtsoftplus")
    if scoring not in GATING_FUNCS:
        raise BadCheckpoint(f"config.json scoring_func {scoring!r} is not one of {sorted(GATING_FUNCS)}")
    kv.append(KV(f"{a}.expert_gating_func", V.UINT32, GATING_FUNCS[scoring]))
    kv += [
        KV(f"{a}.attention.key_length", V.UINT32, d.head_dim),
        KV(f"{a}.attention.value_length", V.UINT32, d.head_dim),
        KV("general.file_type", V.UINT32, int(layout.file_type)),
        KV(f"{a}.rope.dimension_count", V.UINT32, int(d.get("qk_rope_head_dim"))),
        KV(f"{a}.attention.q_lora_rank", V.UINT32, d.q_lora),
        KV(f"{a}.attention.sliding_window", V.UINT32, int(d.get("sliding_window"))),
        KV(f"{a}.expert_feed_forward_length", V.UINT32, d.ffn),
        KV(f"{a}.expert_shared_count", V.UINT32, d.shared),
        KV(f"{a}.expert_weights_scale", V.FLOAT32, float(d.get("routed_scaling_factor"))),
        KV(f"{a}.expert_weights_norm", V.BOOL, bool(d.get("norm_topk_prob"))),
        KV(f"{a}.swiglu_clamp_exp", V.ARRAY, [float(d.get("swiglu_limit"))] * block_count, V.FLOAT32),
        KV(f"{a}.swiglu_clamp_shexp", V.ARRAY, [float(d.get("swiglu_limit"))] * block_count, V.FLOAT32),
        KV(f"{a}.attention.indexer.head_count", V.UINT32, d.index_heads),
        KV(f"{a}.attention.indexer.key_length", V.UINT32, d.index_dim),
        KV(f"{a}.attention.indexer.top_k", V.UINT32, int(d.get("index_topk"))),
        KV(f"{a}.attention.output_group_count", V.UINT32, d.o_groups),
        KV(f"{a}.attention.output_lora_rank", V.UINT32, d.o_lora),
        KV(f"{a}.attention.compress_ratios", V.ARRAY, [int(r) for r in d.ratios], V.INT32),
        KV(f"{a}.attention.compress_rope_freq_base", V.FLOAT32, float(d.get("compress_rope_theta"))),
        KV(f"{a}.hyper_connection.count", V.UINT32, d.hc),
        KV(f"{a}.hyper_connection.sinkhorn_iterations", V.UINT32, int(d.get("hc_sinkhorn_iters"))),
        KV(f"{a}.hyper_connection.epsilon", V.FLOAT32, float(d.get("hc_eps"))),
        KV(f"{a}.hash_layer_count", V.UINT32, d.hash_layers),
        KV(f"{a}.embedding_length_out", V.UINT32, d.hidden * d.hc),
    ]
    if nextn:
        kv.append(KV(f"{a}.nextn_predict_layers", V.UINT32, nextn))
    kv.append(KV("general.quantization_version", V.UINT32, 2))
    return kv


def _rope_kv(config: dict) -> list[KV]:
    a = ARCH
    params = dict(config.get("rope_parameters") or config.get("rope_scaling") or {})
    params = params.get("full_attention", params)
    kind = params.get("rope_type") or params.get("type")
    kv = []
    if kind in ("yarn", "linear") and params.get("factor") is not None:
        kv.append(KV(f"{a}.rope.scaling.type", V.STRING, kind))
        kv.append(KV(f"{a}.rope.scaling.factor", V.FLOAT32, float(params["factor"])))
        if kind == "yarn":
            kv.append(KV(f"{a}.rope.scaling.original_context_length", V.UINT32,
                         int(params["original_max_position_embeddings"])))
            for key, names in (("yarn_ext_factor", ("extrapolation_factor",)),
                               ("yarn_attn_factor", ("attention_factor", "attn_factor")),
                               ("yarn_beta_fast", ("beta_fast",)), ("yarn_beta_slow", ("beta_slow",))):
                value = next((params[n] for n in names if params.get(n) is not None), None)
                if value is not None:
                    kv.append(KV(f"{a}.rope.scaling.{key}", V.FLOAT32, float(value)))
    theta = params.get("rope_theta", config.get("rope_theta"))
    if theta is not None:
        kv.append(KV(f"{a}.rope.freq_base", V.FLOAT32, float(theta)))
    return kv


class _Builder:
    """Collects output tensors, checking every source tensor's shape and dtype on the way."""

    def __init__(self, ckpt: Checkpoint, layout: Layout, d: _Dims) -> None:
        self.ckpt, self.layout, self.d = ckpt, layout, d
        self.out: list[OutputTensor] = []
        self.used: set[str] = set()

    # -- the tensors outside the blocks

    def root(self, hc_prefix: str) -> None:
        d = self.d
        self.dense("embed.weight", "token_embd.weight", (d.vocab, d.hidden))
        self.dense("norm.weight", "output_norm.weight", (d.hidden,))
        self.dense("head.weight", "output.weight", (d.vocab, d.hidden))
        shapes = {"hc_head_fn": (d.hc, d.hc * d.hidden), "hc_head_base": (d.hc,), "hc_head_scale": (1,)}
        for src, dst in HC_HEAD.items():
            self.dense(hc_prefix + src, dst, shapes[src])

    # -- one transformer block

    def block(self, prefix: str, bid: int, hashed: bool) -> None:
        d = self.d
        h, hd, q = d.hidden, d.head_dim, d.q_lora
        mix = (2 + d.hc) * d.hc
        ratio = d.ratios[bid]
        shapes: dict[str, tuple[int, ...]] = {
            "attn_norm.weight": (h,), "ffn_norm.weight": (h,),
            "hc_attn_fn": (mix, d.hc * h), "hc_attn_base": (mix,), "hc_attn_scale": (3,),
            "hc_ffn_fn": (mix, d.hc * h), "hc_ffn_base": (mix,), "hc_ffn_scale": (3,),
            "attn.attn_sink": (d.heads,),
            "attn.wq_a.weight": (q, h), "attn.q_norm.weight": (q,), "attn.wq_b.weight": (d.heads * hd, q),
            "attn.wkv.weight": (hd, h), "attn.kv_norm.weight": (hd,),
            "attn.wo_a.weight": (d.o_groups * d.o_lora, d.heads * hd // d.o_groups),
            "attn.wo_b.weight": (h, d.o_groups * d.o_lora),
        }
        if ratio:
            width = (2 if ratio == 4 else 1) * hd
            shapes.update({
                "attn.compressor.wkv.weight": (width, h), "attn.compressor.wgate.weight": (width, h),
                "attn.compressor.ape": (ratio, width), "attn.compressor.norm.weight": (hd,),
            })
        if ratio == 4:
            ih, idim = d.index_heads, d.index_dim
            shapes.update({
                "attn.indexer.wq_b.weight": (ih * idim, q), "attn.indexer.weights_proj.weight": (ih, h),
                "attn.indexer.compressor.wkv.weight": (2 * idim, h),
                "attn.indexer.compressor.wgate.weight": (2 * idim, h),
                "attn.indexer.compressor.ape": (ratio, 2 * idim), "attn.indexer.compressor.norm.weight": (idim,),
            })
        shapes["ffn.gate.weight"] = (d.experts, h)
        if hashed:
            shapes["ffn.gate.tid2eid"] = (d.vocab, d.top_k)
        else:
            shapes["ffn.gate.bias"] = (d.experts,)
        shared = d.ffn * d.shared
        shapes.update({"ffn.shared_experts.w1.weight": (shared, h), "ffn.shared_experts.w2.weight": (h, shared),
                       "ffn.shared_experts.w3.weight": (shared, h)})
        for src, shape in shapes.items():
            self.dense(f"{prefix}.{src}", f"blk.{bid}.{BLOCK_TENSORS[src]}", shape)
        if hashed:  # the router bias of hash layers is unused by llama.cpp (upstream drops it too)
            self.used.add(f"{prefix}.ffn.gate.bias")
        expert_shapes = {"w1": (d.ffn, h), "w2": (h, d.ffn), "w3": (d.ffn, h)}
        for proj, dst in EXPERT_TENSORS.items():
            self.experts(prefix, proj, f"blk.{bid}.{dst}", expert_shapes[proj])

    def mtp_extras(self, prefix: str, bid: int) -> None:
        """The MTP block's own tensors: the e/h projection pair fused as eh_proj, and its norms."""
        h = self.d.hidden
        for src, dst in (("enorm.weight", "nextn.enorm.weight"), ("hnorm.weight", "nextn.hnorm.weight"),
                         ("norm.weight", "nextn.shared_head_norm.weight")):
            self.dense(f"{prefix}.{src}", f"blk.{bid}.{dst}", (h,))
        e = self.fp8_pair(f"{prefix}.e_proj", (h, h))
        hp = self.fp8_pair(f"{prefix}.h_proj", (h, h))
        type_ = self.layout.fp8 if can_encode(self.layout.fp8, (h, 2 * h)) else T.F16
        block = self.d.block

        def chunk(start: int, stop: int) -> np.ndarray:
            rows = np.concatenate([fp8_rows(self.ckpt, *e, block, start, stop),
                                   fp8_rows(self.ckpt, *hp, block, start, stop)], axis=1)
            return encode(rows, type_)

        chunks = [lambda s=s, t=t: chunk(s, t) for s, t in row_ranges(h, 2 * h * 4, block[0])]
        self.add(f"blk.{bid}.nextn.eh_proj.weight", type_, (h, 2 * h), f"{prefix}.e_proj + h_proj", chunks)

    # -- tensor kinds

    def dense(self, src: str, dst: str, shape: tuple[int, ...]) -> None:
        """A non-expert tensor: FP8 with a block scale, or BF16/F16/F32/integer kept or converted."""
        ref = self.ckpt.get(src)
        if ref.dtype in ("F8_E4M3",):
            weight, scale = self.fp8_pair(src.removesuffix(".weight"), shape)
            type_ = self._fp8_type(dst, shape)
            self.add(dst, type_, shape, src, fp8_chunks(self.ckpt, weight, scale, self.d.block, type_))
            return
        if dst.endswith("tid2eid.weight"):
            ref = expect(self.ckpt, src, shape, ("I64", "I32", "I16", "U8", "I8"))
            self.used.add(src)
            self.add(dst, T.I32, shape, src, plain_chunks(self.ckpt, ref, T.I32))
            return
        ref = expect(self.ckpt, src, shape, ("BF16", "F16", "F32"))
        self.used.add(src)
        type_ = self._float_type(dst, ref)
        self.add(dst, type_, shape, src, plain_chunks(self.ckpt, ref, type_))

    def fp8_pair(self, base: str, shape: tuple[int, ...]) -> tuple[TensorRef, TensorRef]:
        weight = expect(self.ckpt, f"{base}.weight", shape, ("F8_E4M3",))
        scale_name = f"{base}.scale"
        if scale_name not in self.ckpt.tensors:
            raise BadCheckpoint(f"missing scale {scale_name} for the FP8 weight {weight.name} in {weight.file.name}")
        b0, b1 = self.d.block
        scale = expect(self.ckpt, scale_name, (-(-shape[0] // b0), -(-shape[1] // b1)), SCALE_DTYPES)
        self.used.update((weight.name, scale.name))
        return weight, scale

    def experts(self, prefix: str, proj: str, dst: str, shape: tuple[int, int]) -> None:
        rows, cols = shape
        if cols % 32:
            raise BadCheckpoint(f"{prefix}.experts.*.{proj}: {cols} inputs is not a multiple of 32 (MXFP4 groups)")
        pairs = []
        for e in range(self.d.experts):
            base = f"{prefix}.ffn.experts.{e}.{proj}"
            weight = expect(self.ckpt, f"{base}.weight", (rows, cols // 2), ("I8", "U8"))
            if f"{base}.scale" not in self.ckpt.tensors:
                raise BadCheckpoint(f"missing scale {base}.scale for the FP4 expert {weight.name} in {weight.file.name}")
            scale = expect(self.ckpt, f"{base}.scale", (rows, cols // 32), ("F8_E8M0", "U8"))
            pairs.append((weight, scale))
            self.used.update((weight.name, scale.name))
        type_ = self.layout.fp4
        self.add(dst, type_, (self.d.experts, rows, cols), f"{prefix}.ffn.experts.*.{proj}",
                 expert_chunks(self.ckpt, pairs, type_))

    def add(self, name: str, type_: T, shape: tuple[int, ...], sources: str, chunks) -> None:
        self.out.append(OutputTensor(TensorInfo(name, type_, tuple(shape)), sources, chunks))

    # -- type rules (upstream's tensor_force_quant and its 1-D/norm override)

    def _fp8_type(self, dst: str, shape: tuple[int, ...]) -> T:
        if len(shape) < 2 or dst.endswith("_norm.weight"):
            return T.F32
        return self.layout.fp8 if can_encode(self.layout.fp8, shape) else T.F16

    def _float_type(self, dst: str, ref: TensorRef) -> T:
        if len(ref.shape) < 2 or dst.endswith("_norm.weight") or ref.dtype == "F32":
            return T.F32
        if dst.endswith("ffn_gate_inp.weight"):  # the router keeps its precision in every layout
            return T.BF16 if ref.dtype == "BF16" else T.F16
        return self.layout.half if can_encode(self.layout.half, ref.shape) else T.F16
