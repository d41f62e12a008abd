"""Packing a repository that does not fit: tiers (full, outline, path), the question, the stable prefix, --explain."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import make_git_repo, run_v4
from v4cli.context import formats
from v4cli.context.cache import Cache
from v4cli.context.pack import Selection, pack
from v4cli.context.sources import SourceOptions, collect
from v4cli.context.tokens import get_tokenizer
from v4cli.errors import UsageError


def _filler(name: str, n: int) -> str:
    """A plausible module about something else: a class with methods and a docstring per method."""
    methods = "".join(
        f"    def {name}_step_{i}(self, value):\n"
        f'        """Advance the {name} pipeline by one step ({i})."""\n'
        f"        total = value * {i + 3}\n"
        f"        for item in range({i + 2}):\n"
        f"            total += item * self.scale\n"
        f"            if total > {100 * i + 7}:\n"
        f"                total -= {i + 1} * item\n"
        f"            elif total % {i + 2} == 0:\n"
        f"                total //= {i + 2}\n"
        f"        return total\n\n"
        for i in range(n)
    )
    return f'"""The {name} component."""\n\n\nclass {name.title()}Engine:\n    scale = 2\n\n{methods}'


RETRY = '''"""How failed requests are retried."""

import random


class RetryPolicy:
    """Exponential backoff with full jitter, capped at max_delay seconds."""

    def __init__(self, attempts=5, base_delay=0.5, max_delay=30.0):
        self.attempts = attempts
        self.base_delay = base_delay
        self.max_delay = max_delay

    def backoff(self, attempt):
        """Seconds to wait before retry number `attempt`."""
        return random.uniform(0, min(self.max_delay, self.base_delay * 2 ** attempt))
'''

CLIENT = '''"""The HTTP client."""

from retry import RetryPolicy


def fetch(url, policy=None):
    policy = policy or RetryPolicy()
    for attempt in range(policy.attempts):
        delay = policy.backoff(attempt)
    return url, delay
'''

README = "# shop\n\nAn example shop backend: billing, catalog, shipping and an HTTP client with retries.\n"


def _repo(tmp_path):
    files = {"README.md": README, "src/retry.py": RETRY, "src/client.py": CLIENT}
    for name in ("billing", "catalog", "shipping", "inventory", "reports", "search", "accounts", "audit"):
        files[f"src/{name}.py"] = _filler(name, 25)
    return make_git_repo(tmp_path / "shop", files)


def _pack(repo, budget, question=None, fmt="xml", cache=None, ranking="v4"):
    collection = collect([str(repo)], SourceOptions())
    return pack(collection, budget=budget, fmt=fmt, cache=cache or Cache(None),
                selection=Selection(question, ranking))


def _status(result):
    return {f.path: f.status for f in result.files}


def test_when_everything_fits_the_question_changes_nothing(tmp_path):
    repo = _repo(tmp_path)
    plain = _pack(repo, 1_000_000)
    asked = _pack(repo, 1_000_000, question="Where is the retry backoff decided?")
    assert plain.text == asked.text
    assert all(f.status == "full" and f.section == "" for f in asked.files)
    assert asked.prefix_chars is None
    assert "no ranking was needed" in asked.explain()


@pytest.mark.parametrize("fmt", ["xml", "markdown", "plain"])
@pytest.mark.parametrize("budget", [600, 1_500, 3_000, 6_000])
def test_ranked_pack_never_exceeds_the_budget_and_counts_exactly(tmp_path, fmt, budget):
    repo = _repo(tmp_path)
    result = _pack(repo, budget, question="How is the retry backoff computed?", fmt=fmt)
    assert result.tokens == get_tokenizer().count(result.text) <= budget
    for f in result.files:  # each shown file is rendered once, with the count the manifest gives it
        if f.status in ("full", "outline"):
            outlined = f.status == "outline"
            opened = formats.file_open(fmt, formats.Shown(f.path, f.language, "x", f.tokens_shown,
                                                          outline_of=f.tokens if outlined else None,
                                                          compact=f.reason == "compact-outline"))
            assert result.text.count(opened.split("\n")[0]) == 1


def test_the_question_brings_its_files_in_and_the_rest_become_outlines_or_paths(tmp_path):
    repo = _repo(tmp_path)
    total = _pack(repo, 1_000_000).tokens
    question = "How is the retry backoff computed, and is the jitter right?"
    # half: the question's files and some of the eight large modules in full, compact outlines of the others,
    # and what is left after those raises the first of them to its outline
    result = _pack(repo, total // 2, question=question)
    status = _status(result)
    assert status["src/retry.py"] == "full"
    # an outline is a real skeleton of the file: its signatures with line numbers, bodies elided
    outline = next(f for f in result.files if f.status == "outline" and f.reason == "over-budget")
    block = result.text.split(f'<outline path="{outline.path}"', 1)[1].split("</outline>", 1)[0]
    assert "class " in block and "def " in block and "│" in block and '"""' in block
    assert outline.tokens_shown < outline.tokens
    # a compact outline keeps the definition lines only: the class, and its methods by name and line; it is
    # much smaller than the outline of a file of the same shape
    compact = next(f for f in result.files if f.status == "outline" and f.reason == "compact-outline")
    opened = f'<outline path="{compact.path}" tokens="{compact.tokens_shown}" file_tokens="{compact.tokens}" ' \
        'compact="true">\n'
    block = result.text.split(opened, 1)[1].split("</outline>", 1)[0]
    assert "class " in block and "_step_24 " in block and "def " not in block and '"""' not in block
    assert compact.tokens_shown * 3 < outline.tokens_shown
    assert "compact" in result.explain()
    # a tenth: the question's files in full, compact outlines while they fit, paths for the rest
    result = _pack(repo, total // 10, question=question)
    status = _status(result)
    assert status["src/retry.py"] == "full" and set(status.values()) == {"full", "outline", "omitted"}
    assert {f.reason for f in result.files if f.status == "outline"} == {"compact-outline"}
    # omitted files are still named: the coverage footer lists the paths, the most relevant first
    footer = result.text.split("<coverage>", 1)[1]
    omitted = [f.path for f in result.files if f.status == "omitted"]
    assert all(f"omitted (over budget): {p}" in footer for p in omitted)
    assert "as outlines" in footer


def test_stable_section_comes_first_and_does_not_depend_on_the_question(tmp_path):
    repo = _repo(tmp_path)
    total = _pack(repo, 1_000_000).tokens
    first = _pack(repo, total // 2, question="How is the retry backoff computed?")
    second = _pack(repo, total // 2, question="What does the billing engine do in step 3?")
    stable = {f.path: f.status for f in first.files if f.section == "stable" and f.status != "omitted"}
    assert stable
    # the stable blocks form a common prefix of both contexts: everything before the first question block
    assert _stable_prefix(first) == _stable_prefix(second)
    assert first.prefix_chars == len(_stable_prefix(first)) and second.prefix_chars == len(_stable_prefix(second))
    for result in (first, second):
        prefix = _stable_prefix(result)
        assert all(f'path="{f.path}"' in prefix for f in result.files if f.section == "stable" and f.status != "omitted")


def _stable_prefix(result) -> str:
    """The context up to its first question-section block (a file outlined in the prefix may follow in full)."""
    starts = []
    for f in result.files:
        if f.section == "question" and f.status in ("full", "outline"):
            tag = "file" if f.status == "full" else "outline"
            starts.append(result.text.rindex(f'<{tag} path="{f.path}"'))
    assert starts, "the question chose nothing"
    return result.text[:min(starts)]


def test_without_a_question_the_selection_is_question_independent(tmp_path):
    repo = _repo(tmp_path)
    total = _pack(repo, 1_000_000).tokens
    result = _pack(repo, total // 2)
    assert {f.section for f in result.files} == {"stable"}
    assert result.tokens <= total // 2
    # the README and the files others depend on are preferred over leaves
    status = _status(result)
    assert status["README.md"] == "full"


def test_bm25_ranking_is_the_lexical_baseline(tmp_path):
    repo = _repo(tmp_path)
    total = _pack(repo, 1_000_000).tokens
    result = _pack(repo, total // 3, question="retry backoff jitter", ranking="bm25")
    assert _status(result)["src/retry.py"] == "full"
    with pytest.raises(UsageError):
        _pack(repo, total // 3, ranking="pagerank")


def test_index_is_cached_and_reused(tmp_path, monkeypatch):
    repo = _repo(tmp_path)
    cache = Cache(tmp_path / "cache")
    total = _pack(repo, 1_000_000, cache=cache).tokens
    first = _pack(repo, total // 3, question="retry backoff", cache=cache)

    from v4cli.context import syntax

    def no_parsing(*args, **kwargs):
        raise AssertionError("a warm index must not parse again")

    monkeypatch.setattr(syntax, "analyze", no_parsing)
    second = _pack(repo, total // 3, question="retry backoff", cache=cache)
    assert second.text == first.text
    cache.close()


def test_piped_input_goes_first_and_is_never_dropped(tmp_path):
    repo = _repo(tmp_path)
    total = _pack(repo, 1_000_000).tokens
    diff = "diff --git a/src/retry.py b/src/retry.py\n+    return min(self.max_delay, delay)\n" * 3
    collection = collect([str(repo)], SourceOptions(), stdin=diff.encode())
    result = pack(collection, budget=total // 3, cache=Cache(None), selection=Selection("review this diff"))
    stdin = next(f for f in result.files if f.path == "<stdin>")
    assert stdin.status == "full" and stdin.section == "question"
    assert result.tokens <= total // 3


def test_outline_format_in_markdown_and_plain(tmp_path):
    shown = formats.Shown("a.py", "python", "1│ def f(): ...\n", 7, outline_of=120)
    assert formats.file_open("markdown", shown).startswith("## a.py (outline, 7 of 120 tokens)")
    assert formats.file_open("plain", shown) == "===== a.py (outline, 7 of 120 tokens) =====\n"
    assert formats.render_file("xml", shown).endswith("</outline>\n")
    compact = formats.Shown("a.py", "python", "1│ def f():\n", 5, outline_of=120, compact=True)
    assert formats.file_open("markdown", compact).startswith("## a.py (compact outline, 5 of 120 tokens)")
    assert formats.file_open("xml", compact) == '<outline path="a.py" tokens="5" file_tokens="120" compact="true">\n'


def test_cli_question_explain_and_manifest(tmp_path, cache_dir):
    repo = _repo(tmp_path)
    total = _pack(repo, 1_000_000).tokens
    budget = str(total // 3)
    explained = run_v4("pack", str(repo), "-b", budget, "-q", "How is the retry backoff computed?", "--explain")
    assert explained.returncode == 0, explained.stderr
    rows = explained.stdout.decode().splitlines()
    assert rows[0].split()[:3] == ["tier", "section", "shown"]
    retry_row = next(r for r in rows if "src/retry.py" in r)
    assert retry_row.split()[0] == "full" and "score" in retry_row
    manifest = run_v4("pack", str(repo), "-b", budget, "-q", "How is the retry backoff computed?", "-f", "json")
    data = json.loads(manifest.stdout)
    entry = next(f for f in data["files"] if f["path"] == "src/retry.py")
    assert entry["status"] == "full" and entry["section"] in ("stable", "question") and entry["score"] > 0
    bad = run_v4("pack", str(repo), "-b", budget, "--ranking", "magic")
    assert bad.returncode == 2 and b"unknown ranking" in bad.stderr


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fraction=st.floats(min_value=0.02, max_value=0.98), fmt=st.sampled_from(["xml", "markdown", "plain"]),
       asked=st.booleans())
def test_any_budget_fits_exactly_without_giving_up(tmp_path, fraction, fmt, asked):
    """The selection is not monotone in its room, so the coverage report's size is learnt round by round;
    whatever the budget, a context comes out, within it, exactly counted."""
    repo = tmp_path / "shop"
    if not repo.exists():
        _repo(tmp_path)
    cache = Cache(tmp_path / "cache")
    total = _pack(repo, 1_000_000, fmt=fmt, cache=cache).tokens
    budget = max(200, int(total * fraction))
    result = _pack(repo, budget, "How is the retry backoff computed?" if asked else None, fmt=fmt, cache=cache)
    assert result.tokens == get_tokenizer().count(result.text) <= budget
    cache.close()
