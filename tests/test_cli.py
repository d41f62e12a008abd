"""The CLI as a user meets it: exit codes, one-line errors, stdin, outputs, fast start."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT, make_git_repo, run_v4, write_tree
from v4cli.context.tokens import usable_cpus

REPO = {"a.py": "print('a')\n", "pkg/b.py": "x = 1\n" * 10, "README.md": "# r\n"}


def test_version_and_help_do_not_load_heavy_modules():
    probe = (
        "import sys\n"
        "from v4cli.cli.main import main\n"
        "for argv in (['v4', '--version'], ['v4', '--help'], ['v4', 'pack', '--help']):\n"
        "    sys.argv = argv\n"
        "    try:\n        main()\n    except SystemExit as e:\n        assert e.code in (0, None), e.code\n"
        "heavy = [m for m in ('tiktoken', 'numpy', 'httpx', 'tree_sitter', 'llama_cpp', 'gguf', 'sqlite3') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    assert "HEAVY []" in out
    assert "v4 0." in out


def test_missing_path_is_a_one_line_usage_error(tmp_path, cache_dir):
    proc = run_v4("pack", str(tmp_path / "nope"))
    assert proc.returncode == 2
    err = proc.stderr.decode()
    assert err.startswith("v4: error: ") and "Traceback" not in err
    assert proc.stdout == b""


def test_debug_shows_the_traceback(tmp_path, cache_dir):
    proc = run_v4("--debug", "pack", str(tmp_path / "nope"))
    assert proc.returncode == 2
    assert "Traceback" in proc.stderr.decode()


def test_bad_options_exit_2(tmp_path, cache_dir):
    repo = write_tree(tmp_path / "r", REPO)
    for args in (["--budget", "lots"], ["--format", "yaml"], ["--max-file-size", "huge"], ["--budget", "3"]):
        proc = run_v4("pack", str(repo), *args)
        assert proc.returncode == 2, (args, proc.stderr)
        assert "Traceback" not in proc.stderr.decode()


def test_pack_prints_the_context_and_writes_files(tmp_path, cache_dir):
    repo = make_git_repo(tmp_path / "r", REPO)
    proc = run_v4("pack", str(repo))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.decode()
    assert '<file path="pkg/b.py"' in out and "print('a')" in out
    target = tmp_path / "ctx.md"
    assert run_v4("pack", str(repo), "-f", "markdown", "-o", str(target)).returncode == 0
    assert "## pkg/b.py" in target.read_text()


def test_output_to_a_fifo_or_through_a_symlink_writes_in_place(tmp_path, cache_dir):
    """Replacing the output by rename is for regular files only: `-o /dev/null` as root once replaced the device."""
    import os
    import stat
    import threading

    repo = make_git_repo(tmp_path / "r", REPO)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    proc = run_v4("pack", str(repo), "-o", str(fifo))
    reader.join(timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert stat.S_ISFIFO(fifo.lstat().st_mode) and b'<file path="pkg/b.py"' in received[0]
    target = tmp_path / "real.xml"
    target.write_text("old\n")
    link = tmp_path / "link.xml"
    link.symlink_to(target)
    assert run_v4("pack", str(repo), "-o", str(link)).returncode == 0
    assert link.is_symlink() and '<file path="pkg/b.py"' in target.read_text()
    assert not list(tmp_path.glob(".*v4-partial"))


def test_piped_stdin_is_the_only_document_unless_paths_are_given(tmp_path, cache_dir):
    repo = write_tree(tmp_path / "r", REPO)
    only = run_v4("pack", "-f", "json", cwd=repo, stdin=b"diff --git a/x b/x\n")
    assert [f["path"] for f in json.loads(only.stdout)["files"]] == ["<stdin>"]
    both = run_v4("pack", "-", ".", "-f", "json", cwd=repo, stdin=b"hello\n")
    assert "<stdin>" in [f["path"] for f in json.loads(both.stdout)["files"]]
    assert "a.py" in [f["path"] for f in json.loads(both.stdout)["files"]]


def test_tree_sums_tokens_per_directory(tmp_path, cache_dir):
    repo = write_tree(tmp_path / "r", REPO)
    manifest = json.loads(run_v4("pack", str(repo), "-f", "json").stdout)
    tokens = {f["path"]: f["tokens"] for f in manifest["files"]}
    tree = run_v4("pack", str(repo), "--tree").stdout.decode()
    assert f"pkg/ ({tokens['pkg/b.py']:,} tokens, 1 file)" in tree
    assert f". ({sum(tokens.values()):,} tokens, 3 files)" in tree


def test_warm_run_never_builds_the_tokenizer(tmp_path, cache_dir):
    repo = make_git_repo(tmp_path / "r", REPO)
    probe = (
        "import sys\n"
        "from v4cli.cli.main import main\n"
        f"sys.argv = ['v4', 'pack', {str(repo)!r}, '-o', {str(tmp_path / 'out.xml')!r}]\n"
        "try:\n    main()\nexcept SystemExit as e:\n    assert e.code in (0, None)\n"
        "print('TIKTOKEN', 'tiktoken' in sys.modules)\n"
    )
    env = {"V4_CACHE_DIR": str(cache_dir)}
    first = run_python(probe, env)
    second = run_python(probe, env)
    (repo / "a.py").write_text("x = 2\n")
    third = run_python(probe, env)
    # a first run counts in a worker process where a second core is free, a small change right here
    assert ("TIKTOKEN True" in first) == (usable_cpus() == 1)
    assert "TIKTOKEN False" in second
    assert "TIKTOKEN True" in third


def run_python(code: str, env: dict) -> str:
    import os

    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, **env}, check=True, stdin=subprocess.DEVNULL).stdout
