"""quant/ is a library: it must load without the CLI stack (v4cli, typer, rich)."""

from __future__ import annotations

import subprocess
import sys

from tests.quant.conftest import ENV, ROOT


def test_quant_imports_no_cli_modules():
    code = ("import sys, quant.convert, quant.inspect, quant.quantize, quant.recipe\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('v4cli', 'typer', 'rich')))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
