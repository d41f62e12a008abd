"""Ranking files for a question: identifier splitting, BM25, PageRank over real definitions, cues, determinism."""

from __future__ import annotations

import random

import numpy as np
import pytest

from v4cli.context.languages import language_for
from v4cli.context.rank import (
    DEFINITION_WEIGHT,
    PATH_WEIGHT,
    PROSE_PENALTY,
    Candidate,
    bm25,
    mentioned_identifiers,
    name_weight,
    pagerank,
    query_terms,
    rank,
    split_identifier,
    term_stats,
)
from v4cli.context.syntax import analyze

# A small service: the retry policy is defined in one module and used by three others; the question names the
# concept in words, never the file, so the relevant file is known by construction.
SERVICE = {
    "README.md": "# fetcher\n\nDownloads pages politely. Run `python -m fetcher URL`.\n",
    "pyproject.toml": "[project]\nname = \"fetcher\"\nversion = \"1.0\"\n",
    "fetcher/__main__.py": (
        "import sys\n\nfrom fetcher.client import Client\n\n\n"
        "def main():\n    client = Client()\n    print(client.get(sys.argv[1]))\n\n\nmain()\n"
    ),
    "fetcher/retry.py": (
        '"""How long to wait between attempts."""\n\nimport random\n\n\n'
        "class RetryPolicy:\n"
        '    """Exponential backoff with jitter, capped."""\n\n'
        "    def __init__(self, attempts=5, base_delay=0.5, max_delay=30.0):\n"
        "        self.attempts = attempts\n        self.base_delay = base_delay\n        self.max_delay = max_delay\n\n"
        "    def backoff_delay(self, attempt):\n"
        "        delay = min(self.max_delay, self.base_delay * 2 ** attempt)\n"
        "        return delay * random.uniform(0.5, 1.0)\n"
    ),
    "fetcher/client.py": (
        "import time\n\nfrom fetcher.retry import RetryPolicy\nfrom fetcher.transport import open_connection\n\n\n"
        "class Client:\n    def __init__(self, policy=None):\n        self.policy = policy or RetryPolicy()\n\n"
        "    def get(self, url):\n        for attempt in range(self.policy.attempts):\n"
        "            try:\n                return open_connection(url).read()\n"
        "            except OSError:\n                time.sleep(self.policy.backoff_delay(attempt))\n"
        "        raise OSError(url)\n"
    ),
    "fetcher/worker.py": (
        "from fetcher.client import Client\nfrom fetcher.retry import RetryPolicy\n\n\n"
        "def crawl(urls):\n    client = Client(RetryPolicy(attempts=3))\n    return [client.get(url) for url in urls]\n"
    ),
    "fetcher/transport.py": (
        "import socket\n\n\ndef open_connection(url):\n    host = url.split('/')[2]\n"
        "    return socket.create_connection((host, 80)).makefile('rb')\n"
    ),
    "fetcher/render.js": (
        "export function renderPage(html) {\n  return html.replace(/<script.*?<\\/script>/g, '');\n}\n"
    ),
    "tests/test_retry.py": (
        "from fetcher.retry import RetryPolicy\n\n\n"
        "def test_backoff_delay_is_capped():\n    policy = RetryPolicy(max_delay=1.0)\n"
        "    assert policy.backoff_delay(10) <= 1.0\n"
    ),
}


def _candidates(files: dict[str, str], flags: dict[str, tuple[str, ...]] | None = None) -> list[Candidate]:
    return [
        Candidate(path, text, len(text) // 4, analyze(text, language_for(path, text[:200])),
                  (flags or {}).get(path, ()))
        for path, text in files.items()
    ]


def _by_path(files: dict[str, str], question: str | None, **kw) -> dict:
    candidates = _candidates(files, kw.pop("flags", None))
    return {c.path: s for c, s in zip(candidates, rank(candidates, question, **kw))}


def _ordered(scores: dict, key=lambda s: s.total) -> list[str]:
    return sorted(scores, key=lambda p: (-key(scores[p]), p))


def test_identifiers_split_on_case_underscores_and_digits_and_keep_the_whole():
    assert split_identifier("parseHTTPResponse2") == ("parse", "http", "response", "2", "parsehttpresponse2")
    assert split_identifier("retry_policy") == ("retry", "policy", "retry_policy")
    assert split_identifier("XMLHttpRequest") == ("xml", "http", "request", "xmlhttprequest")
    assert split_identifier("__init__") == ("init", "__init__")
    assert split_identifier("MAX_RETRIES") == ("max", "retries", "max_retries")
    assert split_identifier("données") == ("données",)


def test_question_terms_drop_common_english_words_and_split_identifiers():
    assert query_terms("Why does the RetryPolicy ignore max_delay?") == (
        "retry", "policy", "retrypolicy", "ignore", "max", "delay", "max_delay")


def test_the_file_defining_the_asked_concept_ranks_first():
    scores = _by_path(SERVICE, "how is the delay between retry attempts computed with backoff and jitter")
    assert _ordered(scores)[0] == "fetcher/retry.py"
    assert scores["fetcher/retry.py"].lexical == 1.0
    assert scores["fetcher/render.js"].lexical == 0.0


def test_a_term_in_few_files_outweighs_a_term_in_all_of_them():
    files = [Candidate(f"f{i}.txt", text, 10, None, ()) for i, text in enumerate(
        ["widget gadget", "widget sprocket", "widget filler", "widget filler", "widget filler"])]
    raw = bm25(files, query_terms("widget gadget sprocket"))
    assert raw[0] > raw[2] and raw[1] > raw[2]
    rare_only = bm25([*files, Candidate("g.txt", "gadget filler", 10, None, ())], ["gadget"])
    common_only = bm25([*files, Candidate("g.txt", "gadget filler", 10, None, ())], ["widget"])
    assert rare_only[5] > common_only[2] > 0


def test_longer_documents_are_length_normalised():
    short = Candidate("short.txt", "cache eviction policy\n", 5, None, ())
    long = Candidate("long.txt", "cache eviction policy\n" + "unrelated words about the weather\n" * 40, 200, None, ())
    other = Candidate("other.txt", "nothing relevant here at all\n", 5, None, ())
    raw = bm25([short, long, other], ["eviction"])
    assert raw[0] > raw[1] > raw[2] == 0


def test_path_words_and_defined_names_count_for_bm25():
    files = {
        "billing/invoice.py": "def total(lines):\n    return sum(lines)\n",
        "billing/other.py": "def total(lines):\n    return sum(lines)  # used for the invoice\n",
    }
    scores = _by_path(files, "invoice")
    assert scores["billing/invoice.py"].lexical > scores["billing/other.py"].lexical > 0


def test_term_stats_count_every_part_of_every_word_and_the_defined_names():
    text = "retryPolicy = RetryPolicy()\nretry_policy(max_delay)  # données\n"
    stats = term_stats(text, None)
    # each word adds its count to each of its distinct parts, the lower-cased whole included
    assert stats.count("retry") == 3 and stats.count("policy") == 3
    assert stats.count("retrypolicy") == 2 and stats.count("retry_policy") == 1
    assert stats.count("max") == stats.count("delay") == stats.count("max_delay") == 1
    assert stats.count("données") == 1 and stats.count("retr") == 0 and stats.count("2") == 0
    assert stats.length == 5  # words, not parts
    defining = "def backoff_delay(attempt):\n    return attempt\n"
    defined = term_stats(defining, analyze(defining, "python"))
    assert defined.count("backoff") == 1 + DEFINITION_WEIGHT and defined.count("attempt") == 2
    assert defined.length == 5 + DEFINITION_WEIGHT  # def, backoff_delay, attempt, return, attempt


def test_cached_term_stats_give_the_same_bm25_and_the_path_is_added_per_candidate():
    plain = _candidates(SERVICE)
    with_stats = [Candidate(c.path, c.text, c.tokens, c.symbols, c.flags, term_stats(c.text, c.symbols))
                  for c in plain]
    terms = query_terms("retry policy backoff transport client")
    assert list(bm25(with_stats, terms)) == list(bm25(plain, terms))
    # the same content at two paths: only the path word tells them apart
    text = "def send(packet):\n    return packet\n"
    stats = term_stats(text, None)
    twins = [Candidate(path, text, 9, None, (), stats) for path in ("net/transport.py", "net/other.py")]
    raw = bm25([*twins, Candidate("x.txt", "filler words", 3, None, ())], ["transport"])
    assert raw[0] > 0 == raw[1] == raw[2]
    assert PATH_WEIGHT > 1


def test_a_file_referenced_by_many_ranks_above_a_leaf_without_a_question():
    scores = _by_path(SERVICE, None)
    assert scores["fetcher/retry.py"].structure > scores["fetcher/worker.py"].structure
    assert scores["fetcher/client.py"].structure > scores["fetcher/worker.py"].structure
    assert max(s.structure for s in scores.values()) == 1.0
    assert all(s.total == s.stable and s.lexical == 0.0 for s in scores.values())


def test_pagerank_is_a_distribution_and_personalisation_moves_mass_toward_the_restart():
    # 0 -> 1 -> 2, 3 -> 2, and 4 dangling: a tiny graph checked by its properties
    edges = (np.array([0, 1, 3]), np.array([1, 2, 2]), np.array([1.0, 1.0, 1.0]))
    uniform = pagerank(5, edges, np.full(5, 0.2))
    assert uniform.sum() == pytest.approx(1.0, abs=1e-6)
    assert uniform[2] == uniform.max()  # two in-links, one of them carrying 1's in-link
    toward_three = pagerank(5, edges, np.array([0.0, 0.0, 0.0, 1.0, 0.0]))
    assert toward_three.sum() == pytest.approx(1.0, abs=1e-6)
    assert toward_three[3] > uniform[3] and toward_three[2] > uniform[2]
    assert toward_three[0] == pytest.approx(0.0) and toward_three[1] == pytest.approx(0.0)


def test_the_question_personalises_structure_toward_the_matching_files_neighbours():
    plain = _by_path(SERVICE, None)
    asked = _by_path(SERVICE, "open_connection socket host")
    # transport.py matches; client.py (which calls it) gains relative to worker.py, which never touches it
    assert asked["fetcher/transport.py"].structure / asked["fetcher/worker.py"].structure > \
        plain["fetcher/transport.py"].structure / plain["fetcher/worker.py"].structure
    assert asked["fetcher/client.py"].structure / asked["fetcher/worker.py"].structure > \
        plain["fetcher/client.py"].structure / plain["fetcher/worker.py"].structure


def test_generic_names_weigh_less_than_long_specific_ones():
    assert name_weight("backoff_delay", 1) > name_weight("get", 1)
    assert name_weight("get", 1) > name_weight("get", 3) > name_weight("get", 8)
    assert name_weight("_helper", 1) < name_weight("helper", 1)


def test_cues_raise_readme_entry_points_and_manifests_and_lower_generated_and_tests():
    files = dict(SERVICE, **{"fetcher/schema_pb2.py": SERVICE["fetcher/transport.py"].replace("open_", "gen_")})
    scores = _by_path(files, None, flags={"fetcher/schema_pb2.py": ("generated",)})
    assert "readme" in scores["README.md"].cues and _ordered(scores, key=lambda s: s.stable)[0] == "README.md"
    assert "entry-point" in scores["fetcher/__main__.py"].cues
    assert "manifest" in scores["pyproject.toml"].cues
    assert "test" in scores["tests/test_retry.py"].cues
    assert scores["fetcher/schema_pb2.py"].stable < scores["fetcher/transport.py"].stable
    assert scores["fetcher/render.js"].cues == ()


def test_tests_rank_below_sources_unless_the_question_is_about_tests():
    same = "def drain(pool):\n    while pool.busy():\n        pool.release_idle()\n"
    files = {"pkg/pool_drain.py": same, "tests/pool_drain_check.py": same}
    about_code = _by_path(files, "pool drain leaks connections")
    assert about_code["pkg/pool_drain.py"].total > about_code["tests/pool_drain_check.py"].total
    about_tests = _by_path(files, "pool drain leaks connections in the tests")
    assert about_tests["tests/pool_drain_check.py"].total > about_tests["pkg/pool_drain.py"].total


def test_a_mentioned_path_and_a_named_identifier_are_cues():
    scores = _by_path(SERVICE, "why does transport.py sometimes hang?")
    assert "path-match" in scores["fetcher/transport.py"].cues
    assert _ordered(scores)[0] == "fetcher/transport.py"
    named = _by_path(SERVICE, "`crawl` is slow")
    assert "defines:crawl" in named["fetcher/worker.py"].cues
    assert _ordered(named)[0] == "fetcher/worker.py"


def test_identifiers_are_mentioned_by_their_shape_or_as_code_and_plain_words_are_english():
    question = ("Why does `crawl` return a list of values when MultiDict.getlist is called with max_delay, "
                "or open() over IPv6?")
    assert mentioned_identifiers(question) == {"crawl", "MultiDict", "getlist", "max_delay", "open", "IPv6"}
    # a file that happens to define `list` is not "named" by a question that uses the English word
    files = dict(SERVICE, **{"fetcher/listing.py": "def list(items):\n    return sorted(items)\n"})
    scores = _by_path(files, "the client returns a list of pages")
    assert not any(c.startswith("defines:") for c in scores["fetcher/listing.py"].cues)


def test_a_name_spelling_a_package_does_not_make_its_definer_a_hub():
    # every module imports `from fetcher.x import ...`, so `fetcher` is referenced everywhere; a member that
    # happens to be called `fetcher` must not collect those references
    files = dict(SERVICE, **{"fetcher/config.py": "class Settings:\n    def fetcher(self):\n        return None\n"})
    scores = _by_path(files, None)
    assert scores["fetcher/config.py"].structure < scores["fetcher/retry.py"].structure
    assert scores["fetcher/config.py"].structure < scores["fetcher/client.py"].structure


def test_changelogs_docs_and_examples_rank_below_the_code_for_a_code_question():
    files = dict(SERVICE, **{
        "CHANGES.md": "## 1.1\n\n- Fix the retry backoff delay: the jitter was applied twice.\n" * 3,
        "docs/retry.md": "# Retries\n\nThe client retries with an exponential backoff delay and jitter.\n",
        "examples/retry_demo.py": SERVICE["fetcher/retry.py"],
        "fetcher/history.py": "def past_attempts(log):\n    return [entry for entry in log if entry.retry]\n",
    })
    scores = _by_path(files, "retry backoff delay jitter applied twice")
    assert "changelog" in scores["CHANGES.md"].cues and "docs" in scores["docs/retry.md"].cues
    assert scores["fetcher/history.py"].cues == ()  # a module named history is code, not a changelog
    assert "example" in scores["examples/retry_demo.py"].cues
    assert scores["CHANGES.md"].lexical == 1.0  # it matches best, yet the code comes first
    assert _ordered(scores)[0] == "fetcher/retry.py"
    for other in ("CHANGES.md", "docs/retry.md", "examples/retry_demo.py"):
        assert scores[other].total < scores["fetcher/retry.py"].total
    # asked about the documentation (a word no file contains, so nothing else moves), the docs are not held back
    about_docs = _by_path(files, "retry backoff delay jitter applied twice documentation")
    assert about_docs["docs/retry.md"].total == pytest.approx(scores["docs/retry.md"].total + PROSE_PENALTY)
    assert about_docs["fetcher/retry.py"].total == pytest.approx(scores["fetcher/retry.py"].total)


def test_same_input_in_any_order_gives_the_same_scores():
    question = "retry backoff when the connection fails"
    expected = _by_path(SERVICE, question)
    items = list(SERVICE.items())
    for seed in (1, 2):
        random.Random(seed).shuffle(items)
        assert _by_path(dict(items), question) == expected


def test_bm25_method_ignores_structure_and_cues():
    scores = _by_path(SERVICE, "retry backoff", method="bm25")
    assert all(s.structure == 0.0 and s.stable == 0.0 and s.cues == () for s in scores.values())
    assert all(s.total == s.lexical for s in scores.values())
    # the hub client.py does not rise above files that match better lexically
    candidates = _candidates(SERVICE)
    raw = dict(zip((c.path for c in candidates), bm25(candidates, query_terms("retry backoff"))))
    assert _ordered(scores) == sorted(raw, key=lambda p: (-raw[p], p))
    assert rank(_candidates(SERVICE), None, method="bm25")[0].total == 0.0


def test_text_without_a_grammar_and_empty_input():
    assert rank([], "anything") == []
    notes = [Candidate("notes.txt", "retry backoff notes\n", 5, None, ()),
             Candidate("other.txt", "unrelated\n", 3, None, ())]
    first, second = rank(notes, "retry backoff")
    assert first.lexical == 1.0 and second.lexical == 0.0 and first.total > second.total


def test_unknown_method_is_rejected():
    with pytest.raises(ValueError):
        rank(_candidates(SERVICE), "x", method="tfidf")
