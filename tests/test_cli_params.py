"""v4's own coercion of plain parameters gives exactly what typer's pydantic-based one gives, without pydantic."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import typer.core
import typer.main

from tests.conftest import ROOT, make_git_repo
from v4cli.cli import plain_params
from v4cli.cli.main import build_app

SAMPLES = {
    "str": ["", "x", "128k", "-", "a b", "naïve", "\udcff-not-utf8", "--x"],
    "list": [(), ("a",), ("src", "b/*.py", "\udcff"), ["x", "y"]],
    "path": ["out.xml", "-", "", "a/b/../c", "/tmp", "\udcffname"],
    "bool": [True, False],
}


APP = build_app()


def _params():
    command = typer.main.get_command(APP)
    for sub in command.commands.values():
        for param in sub.params:
            kind = plain_params.plain_kind(param.type_descriptor)
            if kind is not None:
                yield sub.name, param, kind


def test_every_plain_parameter_coerces_as_typer_would():
    typer_build = typer.core.build_runtime_param
    assert getattr(typer_build, "v4_plain", False), "main installs the plain coercion"
    from typer._coercion import build_runtime_param as original  # typer's own, pydantic-based

    seen = set()
    for name, param, kind in _params():
        seen.add(kind)
        ctx = typer.core._click.Context(typer.main.get_command(APP))
        ours, theirs = typer_build(param.type_descriptor), original(param.type_descriptor)
        assert type(ours).__name__ == "PlainParam"
        for value in SAMPLES[kind]:
            got = ours.coerce(value, param=param, ctx=ctx)
            want = theirs.coerce(value, param=param, ctx=ctx)
            assert got == want and type(got) is type(want), (name, param.name, value)
        assert ours.coerce(None, param=param, ctx=ctx) == theirs.coerce(None, param=param, ctx=ctx)
    assert seen == {"str", "list", "path", "bool"}


def test_unexpected_values_are_left_to_typer():
    param = next(p for _, p, kind in _params() if kind == "str")
    ctx = typer.core._click.Context(typer.main.get_command(APP))
    ours = typer.core.build_runtime_param(param.type_descriptor)
    assert ours.coerce(b"bytes", param=param, ctx=ctx) == "bytes"  # typer decodes bytes; we hand them over
    assert ours.coerce(7, param=param, ctx=ctx) == "7"


def test_other_kinds_keep_typers_coercion():
    command = typer.main.get_command(APP)
    kinds = {
        repr(p.type_descriptor.annotation): plain_params.plain_kind(p.type_descriptor)
        for sub in command.commands.values() for p in sub.params
    }
    assert kinds["<class 'int'>"] is None and kinds["<class 'float'>"] is None


@pytest.mark.parametrize("args", [["pack", "{repo}", "-o", "{out}", "--budget", "10k", "-e", "*.md"],
                                  ["pack", "{repo}", "--tree", "-f", "markdown"]])
def test_pack_never_imports_pydantic(tmp_path, cache_dir, args):
    repo = make_git_repo(tmp_path / "r", {"a.py": "print('a')\n", "README.md": "# r\n"})
    argv = ["v4", *(a.format(repo=repo, out=tmp_path / "out.xml") for a in args)]
    probe = (
        "import sys\n"
        "from v4cli.cli.main import main\n"
        f"sys.argv = {argv!r}\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert e.code in (0, None), e.code\n"
        "sys.stderr.write('PYDANTIC %s\\n' % ('pydantic' in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert "PYDANTIC False" in done.stderr
    if "-o" in args:
        assert '<file path="a.py"' in Path(tmp_path / "out.xml").read_text()
