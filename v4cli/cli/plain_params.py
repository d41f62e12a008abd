"""Coerce plain command-line values (str, list[str], Path, bool) without importing pydantic.

Recent typer (0.29 here) coerces every parameter through a pydantic TypeAdapter built on first use. Importing
pydantic takes about 0.25 s, a third of a warm `v4 pack`, to turn strings into the same strings. For string
(and bool) values of these four kinds this module does what typer's own adapters do, in plain Python; any other
kind or value, and typers without that layer, keep typer's own coercion. It hooks typer's private
`core.build_runtime_param`; tests/test_cli_params.py checks the results against typer's own for every
parameter v4 has, and fails if the hook no longer takes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args, get_origin


def install() -> None:
    """Route str, list[str], Path and bool parameters around pydantic. Idempotent; a no-op on other typers."""
    try:
        from typer import _coercion, core
        from typer._param_types import coerce_cli_path
    except ImportError:
        return
    typer_build = getattr(core, "build_runtime_param", None)
    base = getattr(_coercion, "RuntimeParam", None)
    if typer_build is None or base is None or getattr(typer_build, "v4_plain", False):
        return

    @dataclass(frozen=True)
    class PlainParam(base):  # type: ignore[misc, valid-type]
        kind: str  # "str", "list", "path" or "bool"
        descriptor: Any

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            if self.kind == "str" and type(value) is str:
                return value
            if self.kind == "bool" and type(value) is bool:  # typer builds a coercion even for a flag's None
                return value
            if self.kind == "path" and type(value) is str:
                return coerce_cli_path(Path(value), self.parameter_info, path_type=Path, param=param, ctx=ctx)
            if self.kind == "list" and isinstance(value, (list, tuple)) and all(type(v) is str for v in value):
                return list(value)
            # not what a command line gives: typer's own coercion decides, as it would have
            return typer_build(self.descriptor)._coerce_value(value, param=param, ctx=ctx)

    def build(descriptor: Any) -> Any:
        kind = plain_kind(descriptor)
        if kind is None:
            return typer_build(descriptor)
        return PlainParam(descriptor.parameter_info, descriptor.annotation, kind, descriptor)

    build.v4_plain = True  # type: ignore[attr-defined]
    core.build_runtime_param = build


def plain_kind(descriptor: Any) -> str | None:
    """The kind ("str", "list" of str, "path", "bool") typer coerces by a plain conversion, or None."""
    info = descriptor.parameter_info
    if (descriptor.file_annotation is not None or info.parser is not None
            or getattr(info, "click_type", None) is not None):
        return None
    annotation = descriptor.annotation
    if annotation is str:
        return "str"
    if get_origin(annotation) is list and get_args(annotation) == (str,):
        return "list"
    if annotation is Path and info.path_type is None:
        return "path"
    if annotation is bool:
        return "bool"
    return None
