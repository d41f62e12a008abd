"""v4: long-context codebase and document analysis with DeepSeek V4."""

__version__ = "0.1.0"
