"""DeepSeek V4 checkpoint -> GGUF conversion and quantization (no CLI dependencies).

Public surface:
- `quant.convert.convert(src, out, *, type=None, recipe=None, mtp=False, split_max_size=0, threads=0,
  progress=None) -> Result`: write the GGUF (and `mtp-OUT` with `mtp`) atomically.
- `quant.convert.plan_job(Checkpoint(src), out, ...) -> Job`: the plan alone (tensors, types, sizes), for dry runs.
- `quant.inspect.inspect_gguf(path) -> dict`: metadata, tensors and totals of a GGUF (split files too).
- `quant.errors`: ConvertError and its kinds (BadCheckpoint, UnsupportedModel, BadRecipe, BadGGUF, OutputError).

Modules: safetensors_reader (lazy shard reads), formats (FP8/E8M0/E2M1, Q8_0, MXFP4, BF16 in numpy),
arch/ (one mapping per checkpoint family: deepseek4), plan (output tensors as chunked producers),
gguf_out / gguf_in (streaming writer, fast header reader), tokenizer (+ templates/), atomic (output files
that appear only when complete), recipe + recipes/ and quantize (K-quants through llama.cpp).
"""
