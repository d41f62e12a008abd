"""`v4 CMD` builds only CMD; help, completion and unknown names see every command."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT, make_git_repo, run_v4
from v4cli.cli.main import COMMANDS, commands_needed


def test_only_the_invoked_command_is_built(monkeypatch):
    monkeypatch.delenv("_V4_COMPLETE", raising=False)
    everything = tuple(COMMANDS)
    assert commands_needed(["pack", "src", "--budget", "1k"]) == ("pack",)
    assert commands_needed(["--debug", "ask", "why?"]) == ("ask",)
    assert commands_needed([]) == everything
    assert commands_needed(["--help"]) == everything
    assert commands_needed(["--version", "pack"]) == everything
    assert commands_needed(["pak"]) == everything
    monkeypatch.setenv("_V4_COMPLETE", "complete_bash")
    assert commands_needed(["pack"]) == everything


def test_help_lists_every_command_and_typos_get_suggestions(tmp_path, cache_dir):
    out = run_v4("--help").stdout.decode()
    assert all(name in out for name in COMMANDS)
    typo = run_v4("pak")
    assert typo.returncode == 2 and "pack" in typo.stderr.decode()


def test_pack_loads_no_other_command(tmp_path, cache_dir):
    repo = make_git_repo(tmp_path / "r", {"a.py": "print('a')\n"})
    probe = (
        "import sys\n"
        "from v4cli.cli.main import main\n"
        f"sys.argv = ['v4', '--debug', 'pack', {str(repo)!r}, '-o', {str(tmp_path / 'out.xml')!r}]\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert e.code in (0, None), e.code\n"
        "import json\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('v4cli.cli.'))))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    loaded = set(json.loads(done.stdout))
    others = {f"v4cli.cli.{module}" for name, (module, _, _) in COMMANDS.items() if name != "pack"}
    assert "v4cli.cli.pack" in loaded and not loaded & others
    assert '<file path="a.py"' in (tmp_path / "out.xml").read_text()
