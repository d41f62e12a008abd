"""`v4 inspect` on converted tiny models: text and JSON reports, totals, split files, bad input."""

from __future__ import annotations

import json
import os
import shutil

from tests.quant.conftest import run_cli


def test_text_report_has_metadata_tensors_and_totals(flash_gguf):
    proc = run_cli("inspect", str(flash_gguf))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "general.architecture" in out and "'deepseek4'" in out
    assert "[str x 129280: '<｜begin▁of▁sentence｜>'" in out  # long arrays are summarized
    assert any(line.split()[:3] == ["blk.0.ffn_gate_exps.weight", "MXFP4", "32x32x8"] for line in out.splitlines())
    totals = out[out.index("totals by type:"):]
    assert "MXFP4       12 tensors" in totals and "all        126 tensors" in totals
    assert "\x1b[" not in out


def test_json_report_is_consistent(flash_gguf):
    info = json.loads(run_cli("inspect", str(flash_gguf), "--json").stdout)
    assert info["metadata"]["general.file_type"] == 38
    assert info["metadata"]["tokenizer.ggml.tokens"]["count"] == 129280
    assert info["tensor_count"] == len(info["tensors"]) == 126
    assert sum(t["count"] for t in info["totals"].values()) == 126
    assert sum(t["bytes"] for t in info["tensors"]) == info["tensor_bytes"] == sum(t["bytes"] for t in info["totals"].values())
    by_name = {t["name"]: t for t in info["tensors"]}
    assert by_name["blk.0.ffn_down_exps.weight"] == {"name": "blk.0.ffn_down_exps.weight", "type": "MXFP4",
                                                    "shape": [32, 32, 8], "bytes": 8 * 32 * 17, "file": "flash.gguf"}
    assert info["files"][0]["bytes"] == os.path.getsize(flash_gguf)
    brief = json.loads(run_cli("inspect", str(flash_gguf), "--json", "--no-tensors").stdout)
    assert "tensors" not in brief and brief["tensor_count"] == 126


def test_bad_files_are_usage_errors(flash_gguf, tmp_path):
    not_gguf = tmp_path / "notes.txt"
    not_gguf.write_text("hello")
    for path, fragment in ((tmp_path / "absent.gguf", "no such file"), (not_gguf, "not a valid GGUF")):
        proc = run_cli("inspect", str(path))
        assert proc.returncode == 2 and fragment in proc.stderr and "Traceback" not in proc.stderr
    truncated = tmp_path / "cut.gguf"
    shutil.copyfile(flash_gguf, truncated)
    os.truncate(truncated, os.path.getsize(flash_gguf) - 4096)
    proc = run_cli("inspect", str(truncated))
    assert proc.returncode == 2 and "truncated" in proc.stderr
    missing_part = tmp_path / "m-00001-of-00002.gguf"
    shutil.copyfile(flash_gguf, missing_part)
    proc = run_cli("inspect", str(missing_part))
    assert proc.returncode == 2 and "m-00002-of-00002.gguf" in proc.stderr
