"""K-quants through llama.cpp's own quantizer (llama_model_quantize via llama-cpp-python), in-process."""

from __future__ import annotations

import ctypes
from collections import deque

from quant.errors import ConvertError, UnsupportedModel
from quant.recipe import Recipe


def quantize_file(src: str, dst: str, recipe: Recipe, threads: int) -> None:
    """Quantize the GGUF at `src` into `dst` with the recipe's file type and tensor-type overrides."""
    try:
        import llama_cpp
    except ImportError:
        raise UnsupportedModel("K-quant types need llama-cpp-python",
                               hint="pip install llama-cpp-python, or use --type mxfp4_moe/q8_0/bf16/f16") from None
    params = llama_cpp.llama_model_quantize_default_params()
    params.nthread = threads
    params.ftype = int(recipe.file_type)
    params.allow_requantize = True  # the streamed file holds Q8_0 and MXFP4 already
    overrides = (llama_cpp.llama_model_tensor_override * (len(recipe.overrides) + 1))()
    for slot, (pattern, type_) in zip(overrides, recipe.overrides):
        slot.pattern = pattern.encode()
        slot.type = int(type_)
    overrides[len(recipe.overrides)].pattern = None  # the list ends with a null pattern
    params.tt_overrides = ctypes.cast(overrides, ctypes.POINTER(llama_cpp.llama_model_tensor_override))
    with _captured_log() as log:
        status = llama_cpp.llama_model_quantize(src.encode(), dst.encode(), ctypes.byref(params))
    if status != 0:
        detail = " ".join(line.strip() for line in log if line.strip())[-300:]
        raise ConvertError(f"llama.cpp could not quantize to {recipe.file_type.name}: {detail or 'no details'}")


class _captured_log:
    """Keep llama.cpp's log off the terminal during quantization, remembering the last lines for errors."""

    def __enter__(self) -> deque[str]:
        import llama_cpp

        self.lines: deque[str] = deque(maxlen=20)

        @llama_cpp.llama_log_callback
        def sink(level, text, user_data):
            self.lines.append(text.decode("utf-8", "replace"))

        self._callback = sink  # keep a reference while llama.cpp holds the pointer
        llama_cpp.llama_log_set(sink, ctypes.c_void_p(0))
        return self.lines

    def __exit__(self, *exc: object) -> None:
        import llama_cpp
        from llama_cpp._logger import llama_log_callback as default_callback

        llama_cpp.llama_log_set(default_callback, ctypes.c_void_p(0))
