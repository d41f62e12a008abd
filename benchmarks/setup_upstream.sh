#!/usr/bin/env bash
# Set up the upstream anchor for benchmarks/bench_convert.py: llama.cpp's own HF -> GGUF converter
# (convert_hf_to_gguf.py, vendored in the llama-cpp-python 0.3.36 sdist) in a separate virtualenv with
# CPU torch. torch is never a dependency of v4 itself; this venv exists only to run the anchor.
#
#   benchmarks/setup_upstream.sh            # idempotent: skips what is already there
#
# Environment:
#   V4_UPSTREAM_VENV   venv path            (default: <repo>/.venv-upstream)
#   PYTHON             interpreter for it   (default: python3)
#   TORCH_INDEX_URL    extra index for torch, e.g. https://download.pytorch.org/whl/cpu on plain PyPI,
#                      where the default Linux torch wheel pulls several GB of CUDA libraries
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV="${V4_UPSTREAM_VENV:-$ROOT/.venv-upstream}"
WORK="$ROOT/benchmarks/.work"
VERSION=0.3.36
SDIST="llama_cpp_python-$VERSION"

if ! "$VENV/bin/python" -c "import torch, transformers, safetensors" 2>/dev/null; then
    "${PYTHON:-python3}" -m venv "$VENV"
    extra=()
    if [[ -n "${TORCH_INDEX_URL:-}" ]]; then extra=(--extra-index-url "$TORCH_INDEX_URL"); fi
    # versions from the sdist's requirements/requirements-convert_hf_to_gguf.txt (torch bumped to 2.13)
    "$VENV/bin/pip" install "${extra[@]}" torch==2.13.0 "numpy~=2.2.6" "sentencepiece>=0.1.98,<0.3.0" \
        transformers==4.57.6 "protobuf>=4.21.0,<5.0.0" safetensors pyyaml tqdm
fi

mkdir -p "$WORK"
if [[ ! -f "$WORK/$SDIST/vendor/llama.cpp/convert_hf_to_gguf.py" ]]; then
    if [[ ! -f "$WORK/$SDIST.tar.gz" ]]; then
        "$VENV/bin/pip" download --no-deps --no-binary :all: "llama-cpp-python==$VERSION" -d "$WORK"
    fi
    tar xzf "$WORK/$SDIST.tar.gz" -C "$WORK"
fi

echo "upstream converter: $WORK/$SDIST/vendor/llama.cpp/convert_hf_to_gguf.py"
echo "upstream python:    $VENV/bin/python"
