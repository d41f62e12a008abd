"""A lone document too big for the budget: excerpts chosen for the question instead of only its head."""

from __future__ import annotations

import re

from tests.conftest import run_v4, write_tree
from v4cli.context.cache import Cache
from v4cli.context.pack import Selection, pack
from v4cli.context.sources import SourceOptions, collect
from v4cli.context.tokens import get_tokenizer

MARKER = re.compile(r"^\[… excerpt: lines (\d+)-(\d+) of (\d+)(?: in (.*))?\]$", re.M)


def _contract() -> str:
    clauses = []
    for n in range(1, 121):
        if n in (14, 97):
            body = (f"Either party may terminate this Agreement by written notice if the other party breaches "
                    f"clause {n - 1} and fails to cure within thirty days. Termination takes effect on receipt.")
        else:
            body = (f"The supplier shall deliver the goods described in schedule {n} in good condition, packed "
                    f"for transport, with invoices stating the order number and the delivery address.")
        clauses.append(f"{n}. Clause {n}\n\n{body}\n")
    return "MASTER SUPPLY AGREEMENT\n\n" + "\n".join(clauses)


def _module() -> str:
    helpers = "".join(
        f"    def helper_{i}(self, rows):\n        total = 0\n        for row in rows:\n"
        f"            total += row * {i}\n        return total\n\n" for i in range(80)
    )
    target = ("    def compute_refund(self, order):\n        \"\"\"The refund owed for a cancelled order.\"\"\"\n"
              "        fee = order.total * 0.05\n        refund = order.total - fee\n        return refund\n\n")
    return f"class Ledger:\n    \"\"\"Bookkeeping.\"\"\"\n\n{helpers[: len(helpers) // 2]}{target}{helpers[len(helpers) // 2:]}"


def _check_markers(shown: str, original: str) -> list[tuple[int, int, str | None]]:
    """Every marker names the real lines that follow it; returns (start, end, headers) per excerpt."""
    lines = original.splitlines(keepends=True)
    pieces = MARKER.split(shown)
    found = []
    for k in range(1, len(pieces), 5):
        start, end, total, inside, body = pieces[k:k + 5]
        start, end = int(start), int(end)
        assert int(total) == len(lines)
        assert body[1:] == "".join(lines[start - 1:end])  # [1:]: the marker's own line end
        found.append((start, end, inside))
    return found


def _body(context: str) -> str:
    """The text inside the one (truncated) file block."""
    return context.split('truncated_from="', 1)[1].split("\n", 1)[1].split("</file>", 1)[0]


def _pack_stdin(text: str, budget: int, question: str | None):
    collection = collect([], SourceOptions(), stdin=text.encode())
    return pack(collection, budget=budget, cache=Cache(None), selection=Selection(question))


def test_excerpts_find_what_the_question_asks_for_deep_in_a_long_text():
    contract = _contract()
    result = _pack_stdin(contract, 900, "List every termination clause")
    (entry,) = result.files
    assert entry.status == "truncated" and entry.reason == "excerpts-for-question"
    assert result.tokens == get_tokenizer().count(result.text) <= 900
    excerpts = _check_markers(_body(result.text), contract)
    lines = contract.splitlines(keepends=True)
    covered = "".join("".join(lines[s - 1:e]) for s, e, _ in excerpts)
    # both termination clauses, the second near the end, which the head alone would never reach
    assert "breaches clause 13" in covered and "breaches clause 96" in covered
    assert excerpts[0][0] == 1  # the opening says what the document is
    assert "excerpts for the question" in result.text.split("<coverage>", 1)[1]


def test_without_a_question_or_a_match_the_head_is_shown():
    contract = _contract()
    for question in (None, "zebra quantum"):
        result = _pack_stdin(contract, 900, question)
        (entry,) = result.files
        assert entry.status == "truncated" and entry.reason == "truncated-to-fit"
        assert "MASTER SUPPLY AGREEMENT" in result.text and "excerpt:" not in result.text


def test_code_excerpts_keep_whole_definitions_and_name_their_class(tmp_path):
    source = _module()
    root = write_tree(tmp_path / "src", {"ledger.py": source})
    collection = collect([str(root / "ledger.py")], SourceOptions())
    result = pack(collection, budget=700, cache=Cache(None), selection=Selection("How is the refund computed?"))
    (entry,) = result.files
    assert entry.reason == "excerpts-for-question" and result.tokens <= 700
    body = _body(result.text)
    excerpts = _check_markers(body, source)
    lines = source.splitlines(keepends=True)
    (refund,) = [e for e in excerpts if "compute_refund" in "".join(lines[e[0] - 1:e[1]])]
    assert refund[2] is not None and refund[2].startswith("class Ledger")
    assert "return refund" in body  # the method is shown whole, not cut


def test_cli_piped_document_and_question_pick_the_excerpts(tmp_path, cache_dir):
    contract = _contract()
    proc = run_v4("pack", "-", "-b", "900", "-q", "termination clauses", stdin=contract.encode())
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.decode()
    assert "breaches clause 96" in out and "excerpt: lines" in out
