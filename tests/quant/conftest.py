"""Shared fixtures: tiny V4 checkpoints (made once per session) and helpers to run the CLI and llama.cpp."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.quant.tiny_v4 import make_tiny_checkpoint

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE", "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}


@pytest.fixture(scope="session")
def flash_ckpt(tmp_path_factory) -> Path:
    return make_tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny-flash", variant="flash", seed=0)


@pytest.fixture(scope="session")
def pro_ckpt(tmp_path_factory) -> Path:
    return make_tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "tiny-pro", variant="pro", seed=1, num_shards=3)


@pytest.fixture(scope="session")
def flash_gguf(flash_ckpt, tmp_path_factory) -> Path:
    from quant.convert import convert

    out = tmp_path_factory.mktemp("gguf") / "flash.gguf"
    convert(flash_ckpt, out, mtp=True, threads=2)
    return out


def run_cli(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "v4cli", *args], capture_output=True, text=True, env=ENV,
                          cwd=ROOT, timeout=600, **kwargs)


LLAMA_SCRIPT = textwrap.dedent("""
    import json, sys
    from llama_cpp import Llama
    path, n_tokens, chat = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
    llm = Llama(model_path=path, n_ctx=256, n_threads=2, n_batch=64, verbose=False, seed=1)
    prompt = llm.tokenize("The quick brown fox".encode(), add_bos=True, special=True)
    out = llm.create_completion(prompt, max_tokens=n_tokens, temperature=0.0)
    result = {"n_vocab": llm.n_vocab(), "completion_tokens": out["usage"]["completion_tokens"],
              "text": out["choices"][0]["text"], "metadata": {k: llm.metadata[k] for k in
              ("general.architecture", "tokenizer.ggml.pre")}}
    if chat:
        reply = llm.create_chat_completion(messages=[{"role": "system", "content": "Be brief."},
                                                     {"role": "user", "content": "Hi"}], max_tokens=2)
        result["chat_finish"] = reply["choices"][0]["finish_reason"]
    print(json.dumps(result))
""")


def run_llama(path: Path, n_tokens: int = 4, chat: bool = False) -> dict:
    """Load a GGUF in llama-cpp-python in a subprocess (a loader abort must not kill pytest) and generate."""
    proc = subprocess.run([sys.executable, "-c", LLAMA_SCRIPT, str(path), str(n_tokens), "1" if chat else "0"],
                          capture_output=True, text=True, env=ENV, timeout=600)
    assert proc.returncode == 0, f"llama.cpp failed ({proc.returncode}): {proc.stderr[-2000:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])
