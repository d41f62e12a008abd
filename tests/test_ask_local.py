"""The README's first command: `v4 ask` offline on the bundled example with the embedded demo model."""

from __future__ import annotations

import re

from tests.conftest import ROOT, run_v4


def test_ask_answers_offline_with_the_demo_model_and_reuses_the_context(cache_dir):
    example = str(ROOT / "examples" / "retry-demo")
    first = run_v4("ask", example, "--max-output", "24", "Where is the retry policy decided?", timeout=600)
    assert first.returncode == 0, first.stderr
    assert "demo model" in first.stderr.decode()
    assert first.stdout.decode().strip()
    second = run_v4("ask", example, "--max-output", "24", "Is the backoff capped?", timeout=600)
    assert second.returncode == 0, second.stderr
    hit = re.search(r"hit ([\d,]+) / miss ([\d,]+)", second.stderr.decode())
    assert hit, second.stderr
    hit_tokens, miss_tokens = (int(g.replace(",", "")) for g in hit.groups())
    assert hit_tokens > 0 and miss_tokens < hit_tokens  # the context came from the saved KV state

