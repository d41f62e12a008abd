"""DeepSeek V4 checkpoint → GGUF conversion and quantization (no CLI dependencies)."""
