"""Checkpoint -> GGUF: plan from headers, check space, stream tensors in parallel, commit atomically.

Memory stays bounded: chunks (a block of rows, or one expert) are computed by a thread pool and written
in order, with at most `threads + 2` chunks in flight, so the peak is a small multiple of the largest
chunk whatever the model size. K-quants run llama.cpp's own quantizer on the streamed upstream layout.
"""

from __future__ import annotations

import os
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from gguf import GGUFValueType

from quant import arch
from quant.atomic import AtomicFile, check_free_space
from quant.errors import OutputError, UnsupportedModel
from quant.gguf_in import GGUFFile
from quant.gguf_out import KV, ShardWriter, TensorInfo, plan_shards, shard_paths
from quant.plan import CHUNK_BYTES, LAYOUTS, Plan
from quant.recipe import Recipe, resolve_recipe
from quant.safetensors_reader import Checkpoint
from quant.tokenizer import tokenizer_kv

Progress = Callable[[str, int, int], None]  # (stage, done, total)


@dataclass
class Job:
    """What one `convert` call will produce: the streamed plan(s), their files and, for K-quants, the recipe."""

    plans: list[tuple[Path, Plan]]  # (final path, plan), the trunk model first
    recipe: Recipe | None
    split_max_size: int

    def __post_init__(self) -> None:
        # K-quants stream one file each; the quantized result is split afterwards
        stream_split = 0 if self.recipe else self.split_max_size
        self.shards = [plan_shards(plan.kv, [t.info for t in plan.tensors], stream_split) for _, plan in self.plans]

    def shard_files(self) -> list[tuple[Path, int]]:
        """(path, bytes) of every file the streaming pass writes."""
        return [(shard_path, shard.file_bytes)
                for (path, _), shards in zip(self.plans, self.shards)
                for shard_path, shard in zip(shard_paths(path, len(shards)), shards)]

    @property
    def stream_bytes(self) -> int:
        return sum(size for _, size in self.shard_files())


def plan_job(ckpt: Checkpoint, out: str | os.PathLike[str], *, type: str | None = None,
             recipe: str | os.PathLike[str] | None = None, mtp: bool = False, split_max_size: int = 0) -> Job:
    """Validate every tensor of the open checkpoint and decide every output tensor's type and size."""
    resolved = resolve_recipe(type, recipe)
    layout = LAYOUTS["mxfp4_moe"] if resolved is not None else LAYOUTS.get(type or "mxfp4_moe")
    if layout is None:
        raise UnsupportedModel(f"unknown output type {type!r}", hint=f"choose one of {', '.join(output_types())}")
    mapping = arch.for_config(ckpt.config)
    out = Path(out)
    name = ckpt.directory.resolve().name
    vocab = tokenizer_kv(ckpt.directory, ckpt.config, mapping.CHAT_TEMPLATE)
    plans = []
    trunk = mapping.build_plan(ckpt, layout, name=name)
    plans.append((out, trunk))
    if mtp:
        plans.append((out.with_name(f"mtp-{out.name}"), mapping.build_plan(ckpt, layout, mtp_only=True, name=name)))
    for _, plan in plans:
        plan.kv += [_size_label(plan), *vocab]
    return Job(plans=plans, recipe=resolved, split_max_size=split_max_size)


def _size_label(plan: Plan) -> KV:
    """general.size_label as gguf-py computes it: '8x8.7M' for 8 experts and 8.7M parameters per token path."""
    from gguf.utility import size_label

    shared = experts = expert_sum = expert_tensors = 0
    for t in plan.tensors:
        size = t.info.element_count
        if "_exps." in t.info.name and len(t.info.shape) >= 3:
            experts += size // t.info.shape[0]
            expert_sum += t.info.shape[0]
            expert_tensors += 1
        else:
            shared += size
    count = expert_sum // expert_tensors if expert_tensors else 0
    return KV("general.size_label", GGUFValueType.STRING, size_label(shared + experts, shared, experts, count))


def output_types() -> list[str]:
    from quant.recipe import KQUANT_TYPES

    return [*LAYOUTS, *KQUANT_TYPES]


@dataclass
class Result:
    outputs: list[Path]
    bytes_written: int
    seconds: float


def convert(src: str | os.PathLike[str], out: str | os.PathLike[str], *, type: str | None = None,
            recipe: str | os.PathLike[str] | None = None, mtp: bool = False, split_max_size: int = 0,
            threads: int = 0, progress: Progress | None = None) -> Result:
    """Convert the checkpoint at `src` to the GGUF `out` (and `mtp-OUT` with `mtp`); nothing partial remains."""
    started = time.monotonic()
    with Checkpoint(src) as ckpt:
        job = plan_job(ckpt, out, type=type, recipe=recipe, mtp=mtp, split_max_size=split_max_size)
        directory = Path(out).resolve().parent
        if not directory.is_dir():
            raise OutputError(f"output directory does not exist: {directory}")
        check_free_space(directory, job.stream_bytes * (2 if job.recipe else 1))  # K-quants keep the streamed file
        threads = threads or os.cpu_count() or 1
        report = progress or (lambda stage, done, total: None)
        pending: list[AtomicFile] = []  # every file made so far: committed ones ignore the final discard
        try:
            finals = _stream_all(job, threads, report, pending)
            if job.recipe is not None:
                finals = _quantize_all(job, finals, threads, report, pending)
            for file, _ in finals:
                file.commit()
        except OSError as err:
            raise OutputError(f"writing {out} failed: {err.strerror or err}; nothing was left behind",
                              hint="check free space and permissions of the output directory") from None
        finally:
            for file in pending:
                file.discard()
    outputs = [final for _, final in finals]
    return Result(outputs=outputs, bytes_written=sum(p.stat().st_size for p in outputs),
                  seconds=time.monotonic() - started)


def _stream_all(job: Job, threads: int, report: Progress, pending: list[AtomicFile]) -> list[tuple[AtomicFile, Path]]:
    """The streaming pass over every plan; returns the (uncommitted file, final path) pairs."""
    total = sum(plan.data_bytes for _, plan in job.plans)
    written = 0
    finals = []
    for (path, plan), shards in zip(job.plans, job.shards):
        files = [AtomicFile(p.resolve()) for p in shard_paths(path, len(shards))]
        pending += files
        written = _stream(plan, shards, files, threads, report, written, total)
        finals += [(f, f.final) for f in files]
    return finals


def _quantize_all(job: Job, streamed: list[tuple[AtomicFile, Path]], threads: int, report: Progress,
                  pending: list[AtomicFile]) -> list[tuple[AtomicFile, Path]]:
    """llama.cpp's quantizer on each streamed file (then split, if asked); returns the new pairs."""
    from quant.quantize import quantize_file

    assert job.recipe is not None
    sizes = [os.fstat(file.fd).st_size for file, _ in streamed]
    finals = []
    for index, (source, final) in enumerate(streamed):
        report("quantize", sum(sizes[:index]), sum(sizes))  # llama.cpp reports no progress of its own
        target = AtomicFile(final)
        pending.append(target)
        quantize_file(source.path, target.path, job.recipe, threads)
        if job.split_max_size:
            parts = _split_copy(target.path, final, job.split_max_size)
            pending += [part for part, _ in parts]
            finals += parts
        else:
            finals.append((target, final))
    report("quantize", sum(sizes), sum(sizes))
    return finals


def _stream(plan: Plan, shards, files: list[AtomicFile], threads: int, report: Progress,
            written: int, total: int) -> int:
    """Write every shard of one plan: headers, then chunk results in order as the pool produces them."""
    chunks = iter([(i, c) for i, t in enumerate(plan.tensors) for c in t.chunks])
    shard_of = {}
    for no, shard in enumerate(shards):
        for info in shard.tensors:
            shard_of[info.name] = no
    writers = [ShardWriter(f.stream, s) for f, s in zip(files, shards)]
    window = threads + 2  # chunks in flight: every worker busy, one result waiting to be written
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="convert") as pool:
        queue: deque = deque()
        try:
            for index, chunk in chunks:
                queue.append((index, pool.submit(chunk)))
                if len(queue) >= window:
                    written = _write_next(queue, plan, writers, shard_of, report, written, total)
            while queue:
                written = _write_next(queue, plan, writers, shard_of, report, written, total)
        except BaseException:
            for _, future in queue:
                future.cancel()
            raise
    for writer, file in zip(writers, files):
        writer.finish()
        file.stream.flush()  # llama.cpp may read the file next, through its own descriptor
    return written


def _write_next(queue: deque, plan: Plan, writers, shard_of, report: Progress, written: int, total: int) -> int:
    index, future = queue.popleft()
    data: np.ndarray = future.result()
    writer = writers[shard_of[plan.tensors[index].info.name]]
    writer.write(memoryview(np.ascontiguousarray(data)).cast("B"))
    written += data.nbytes
    report("convert", written, total)
    return written


def _split_copy(src: str, final: Path, max_bytes: int) -> list[tuple[AtomicFile, Path]]:
    """Rewrite the GGUF at `src` as split files for `final` (metadata and tensor bytes unchanged)."""
    gguf = GGUFFile(src)
    infos = [TensorInfo(t.name, t.type, tuple(reversed(t.shape))) for t in gguf.tensors.values()]
    shards = plan_shards(gguf.kv_entries(), infos, max_bytes)
    paths = shard_paths(final, len(shards))
    parts = [(AtomicFile(path), path) for path in paths]
    for (file, _), shard in zip(parts, shards):
        writer = ShardWriter(file.stream, shard)
        for info in shard.tensors:
            data = gguf.data(info.name)
            for start in range(0, len(data), CHUNK_BYTES):
                writer.write(data[start:start + CHUNK_BYTES])
        writer.finish()
        file.stream.flush()
    return parts
