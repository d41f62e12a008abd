"""Bad checkpoints fail with exit 2 naming the tensor and file; failed or killed conversions leave nothing."""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.quant.conftest import ENV, ROOT, run_cli
from tests.quant.tiny_v4 import make_config, write_checkpoint


@pytest.fixture
def ckpt(flash_ckpt, tmp_path) -> Path:
    """A private copy of the tiny checkpoint to damage."""
    return Path(shutil.copytree(flash_ckpt, tmp_path / "ckpt"))


def shard_of(ckpt: Path, name: str) -> Path:
    return ckpt / json.loads((ckpt / "model.safetensors.index.json").read_text())["weight_map"][name]


def rewrite_header(shard: Path, edit) -> None:
    """Apply `edit(header_dict)` to a shard's JSON header, keeping its data bytes."""
    raw = shard.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    edit(header)
    new = json.dumps(header).encode()
    new += b" " * (-len(new) % 8)
    shard.write_bytes(struct.pack("<Q", len(new)) + new + raw[8 + n:])


def convert_fails(ckpt: Path, tmp_path: Path, *fragments: str) -> str:
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    proc = run_cli("convert", str(ckpt), "-o", str(out / "model.gguf"))
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    line = proc.stderr.splitlines()[0]
    for fragment in fragments:
        assert fragment in line, line
    assert list(out.iterdir()) == []
    return line


def test_missing_shard(ckpt, tmp_path):
    shard = shard_of(ckpt, "head.weight")
    shard.unlink()
    convert_fails(ckpt, tmp_path, "missing shard", shard.name)


def test_truncated_shard(ckpt, tmp_path):
    shard = shard_of(ckpt, "head.weight")
    os.truncate(shard, shard.stat().st_size - 1000)
    convert_fails(ckpt, tmp_path, "truncated", shard.name)


def test_shape_mismatch(ckpt, tmp_path):
    name = "layers.1.attn.wq_b.weight"
    shard = shard_of(ckpt, name)
    rewrite_header(shard, lambda h: h[name].update(shape=list(reversed(h[name]["shape"]))))  # same byte count
    convert_fails(ckpt, tmp_path, name, shard.name, "shape [32, 256]", "expected [256, 32]")


def test_dtype_mismatch(ckpt, tmp_path):
    name = "layers.2.ffn.experts.3.w1.weight"
    shard = shard_of(ckpt, name)
    rewrite_header(shard, lambda h: h[name].update(dtype="F8_E4M3"))  # same size, wrong kind
    convert_fails(ckpt, tmp_path, name, shard.name, "dtype F8_E4M3")


def test_missing_scale(ckpt, tmp_path):
    name = "layers.0.attn.wkv.scale"
    shard = shard_of(ckpt, name)
    rewrite_header(shard, lambda h: h.pop(name))
    index = ckpt / "model.safetensors.index.json"
    data = json.loads(index.read_text())
    del data["weight_map"][name]
    index.write_text(json.dumps(data))
    convert_fails(ckpt, tmp_path, "missing scale", name, "layers.0.attn.wkv.weight", shard.name)


def test_unsupported_architecture(ckpt, tmp_path):
    config = json.loads((ckpt / "config.json").read_text())
    config["architectures"] = ["LlamaForCausalLM"]
    (ckpt / "config.json").write_text(json.dumps(config))
    convert_fails(ckpt, tmp_path, "unsupported architecture LlamaForCausalLM")
    assert "DeepseekV4ForCausalLM" in run_cli("convert", str(ckpt), "-o", str(tmp_path / "x.gguf")).stderr


def test_bad_compress_ratio(ckpt, tmp_path):
    config = json.loads((ckpt / "config.json").read_text())
    config["compress_ratios"][1] = 8
    (ckpt / "config.json").write_text(json.dumps(config))
    convert_fails(ckpt, tmp_path, "compress_ratios")


def test_unknown_type_and_recipe_are_usage_errors(flash_ckpt, tmp_path):
    proc = run_cli("convert", str(flash_ckpt), "-o", str(tmp_path / "x.gguf"), "--type", "q9_z")
    assert proc.returncode == 2 and "unknown output type 'q9_z'" in proc.stderr
    recipe = tmp_path / "bad.toml"
    recipe.write_text('type = "q4_k_m"\n[tensors]\n"hc_" = "q17"\n')
    proc = run_cli("convert", str(flash_ckpt), "-o", str(tmp_path / "x.gguf"), "--recipe", str(recipe))
    assert proc.returncode == 2 and "unknown type 'q17'" in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.toml"]


@pytest.fixture(scope="module")
def medium_ckpt(tmp_path_factory) -> Path:
    """A checkpoint big enough (~150 MB) that a conversion is still writing when we interrupt it."""
    dims = dict(hidden_size=256, q_lora_rank=128, n_routed_experts=32, moe_intermediate_size=256,
                num_hidden_layers=6, compress_ratios=[0, 4, 128, 4, 128, 4])
    return write_checkpoint(tmp_path_factory.mktemp("medium") / "ckpt", make_config("flash", mtp=False, overrides=dims))


def _start_and_wait_for_output(ckpt: Path, out: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "v4cli", "convert", str(ckpt), "-o", str(out), "--threads", "1"],
                            env=ENV, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        # the output is an unnamed file in the target directory until it is complete
        fds = Path(f"/proc/{proc.pid}/fd")
        try:
            if any(str(out.parent) in os.readlink(fd) for fd in fds.iterdir()):
                return proc
        except OSError:
            pass
        time.sleep(0.01)
    proc.kill()
    pytest.fail("the conversion never started writing")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL])
def test_interrupted_conversion_leaves_nothing(medium_ckpt, tmp_path, sig):
    out = tmp_path / "model.gguf"
    proc = _start_and_wait_for_output(medium_ckpt, out)
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == (130 if sig == signal.SIGINT else -signal.SIGKILL), stderr
    assert list(tmp_path.iterdir()) == []


def test_full_disk_leaves_nothing(flash_ckpt, tmp_path):
    def small_disk():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (4 << 20, 4 << 20))

    proc = subprocess.run([sys.executable, "-m", "v4cli", "convert", str(flash_ckpt), "-o", str(tmp_path / "m.gguf")],
                          env=ENV, cwd=ROOT, capture_output=True, text=True, preexec_fn=small_disk, timeout=300)
    assert proc.returncode == 1, proc.stderr
    assert "nothing was left behind" in proc.stderr and "Traceback" not in proc.stderr
    assert list(tmp_path.iterdir()) == []
