"""The secret scanner against a labelled corpus: every planted secret redacted at its line, no look-alike touched."""

from __future__ import annotations

import random
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.context.secrets_corpus import Shapes, look_alike_files, true_secret_files
from v4cli.context.secrets import SCANNER_VERSION, Redaction, redact

SEEDS = range(5)
TRUE_FILES = [(seed, f) for seed in SEEDS for f in true_secret_files(seed)]
LOOK_ALIKES = [(seed, f) for seed in SEEDS for f in look_alike_files(seed)]


def _ids(cases):
    return [f"{f.name}-seed{seed}" for seed, f in cases]


@pytest.mark.parametrize(("seed", "corpus_file"), TRUE_FILES, ids=_ids(TRUE_FILES))
def test_every_planted_secret_is_redacted_at_its_line_and_nothing_else(seed, corpus_file):
    out, redactions = redact(corpus_file.text)
    for planted in corpus_file.planted:
        assert planted.value not in out, f"{planted.kind} leaked"
    assert sorted((r.line, r.kind) for r in redactions) == sorted((p.line, p.kind) for p in corpus_file.planted)
    assert [r.line for r in redactions] == sorted(r.line for r in redactions)


@pytest.mark.parametrize(("seed", "corpus_file"), LOOK_ALIKES, ids=_ids(LOOK_ALIKES))
def test_look_alikes_are_left_alone(seed, corpus_file):
    assert redact(corpus_file.text) == (corpus_file.text, [])


@pytest.mark.parametrize(("seed", "corpus_file"), TRUE_FILES, ids=_ids(TRUE_FILES))
def test_redacting_redacted_text_changes_nothing(seed, corpus_file):
    out, _ = redact(corpus_file.text)
    assert redact(out) == (out, [])


@pytest.mark.parametrize(("seed", "corpus_file"), TRUE_FILES[: len(TRUE_FILES) // len(SEEDS)],
                         ids=_ids(TRUE_FILES[: len(TRUE_FILES) // len(SEEDS)]))
def test_crlf_files_give_the_same_redactions_and_keep_their_line_endings(seed, corpus_file):
    crlf = corpus_file.text.replace("\n", "\r\n")
    out, redactions = redact(crlf)
    lf_out, lf_redactions = redact(corpus_file.text)
    assert redactions == lf_redactions
    assert out == lf_out.replace("\n", "\r\n")
    for planted in corpus_file.planted:
        assert planted.value not in out


def test_values_are_replaced_in_place_keeping_the_syntax_around_them():
    rng = Shapes(random.Random(7))
    token, secret, password, deepseek = rng.github(), rng.generic(), rng.password(), rng.deepseek()
    text = (
        f'GITHUB_TOKEN = "{token}"\n'
        f"api_secret: '{secret}'\n"
        f"postgres://app:{password}@db.internal:5432/app\n"
        f"DEEPSEEK_API_KEY={deepseek}\n"
        f'<add key="ClientSecret" value="{secret}"/>\n'
    )
    out, redactions = redact(text)
    assert out == (
        'GITHUB_TOKEN = "[REDACTED:github-token]"\n'
        "api_secret: '[REDACTED:generic-secret]'\n"
        "postgres://app:[REDACTED:url-credentials]@db.internal:5432/app\n"
        "DEEPSEEK_API_KEY=[REDACTED:deepseek-key]\n"
        '<add key="ClientSecret" value="[REDACTED:generic-secret]"/>\n'
    )
    assert redactions == [Redaction(1, "github-token"), Redaction(2, "generic-secret"),
                          Redaction(3, "url-credentials"), Redaction(4, "deepseek-key"), Redaction(5, "generic-secret")]


def test_a_private_key_block_keeps_its_begin_and_end_lines_around_one_marker():
    body = Shapes(random.Random(3)).key_body(10)
    text = f"key file:\n-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----\ndone\n"
    out, redactions = redact(text)
    assert out == (
        "key file:\n-----BEGIN RSA PRIVATE KEY-----\n[REDACTED:private-key]\n-----END RSA PRIVATE KEY-----\ndone\n"
    )
    assert redactions == [Redaction(2, "private-key")]


def test_a_truncated_private_key_is_redacted_up_to_where_it_stops():
    body = Shapes(random.Random(4)).key_body(6)
    out, redactions = redact(f"-----BEGIN OPENSSH PRIVATE KEY-----\n{body}\n")
    assert out == "-----BEGIN OPENSSH PRIVATE KEY-----\n[REDACTED:private-key]\n"
    assert redactions == [Redaction(1, "private-key")]


def test_aws_documented_example_credentials_are_kept_but_real_looking_ones_are_not():
    example = (
        "aws_access_key_id = AKIAIOSFODNN7EXAMPLE\n"
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"
    )
    assert redact(example) == (example, [])
    shapes = Shapes(random.Random(5))
    real = f"[default]\naws_access_key_id = {shapes.aws_access_key()}\n# rotated\nsecret = {shapes.aws_secret_key()}\n"
    out, redactions = redact(real)
    assert redactions == [Redaction(2, "aws-access-key"), Redaction(4, "aws-secret-key")]


def test_offsets_stay_right_after_non_ascii_text():
    token = Shapes(random.Random(6)).github()
    text = f"# 配置文件 — ключ 🔑 ß\nTOKEN = '{token}'  # ünïcode\n"
    out, redactions = redact(text)
    assert out == "# 配置文件 — ключ 🔑 ß\nTOKEN = '[REDACTED:github-token]'  # ünïcode\n"
    assert redactions == [Redaction(2, "github-token")]


def test_a_secret_on_a_very_long_line_is_found_with_its_line():
    shapes = Shapes(random.Random(8))
    key = shapes.google()
    line = "x=" + ";".join(f"v{i}=fn({i})" for i in range(150_000)) + f';apiKey:"{key}";'
    out, redactions = redact("// header\n" + line + "\n")
    assert key not in out and redactions == [Redaction(2, "google-api-key")]


ADVERSARIAL = {
    "one long word": "a" * 2_000_000,
    "repeated keyword": "key" * 400_000,
    "repeated assignment": "key=" * 250_000,
    "unclosed quote": "password = '" + "a" * 2_000_000,
    "token prefixes": "ghp_" * 500_000,
    "dashed word": "sk-" + "a-" * 1_000_000,
    "jwt-ish dots": "eyJ" + "aaaaaaaa." * 200_000,
    "key headers": "-----BEGIN PRIVATE KEY-----\n" * 70_000,
    "url colons": "://" + ":" * 1_000_000 + "@",
    "url userinfo": "://a:" * 300_000,
    "xml tags": "<password>" * 200_000,
    "quotes": '"' * 2_000_000,
    "bearer words": "Authorization: Bearer " * 50_000,
    "telegram-ish": "123456789:AA" * 150_000,
    "annotation": "password: " + "A" * 1_000_000 + "[" * 1_000_000,
    "escaped newlines": "-----BEGIN PRIVATE KEY-----" + "\\n" * 1_000_000,
}


@pytest.mark.parametrize("name", ADVERSARIAL)
def test_adversarial_input_finishes(name):
    text = ADVERSARIAL[name]
    out, redactions = redact(text)  # must simply return: every regex is linear
    assert len(redactions) < len(text) and (out == text) == (not redactions)


@given(
    before=st.text(alphabet="ab_-=:\"' \n\r\t.{}[]()$/@#<>AKIesky0129", max_size=60),
    after=st.text(alphabet="ab_-=:\"' \n\r\t.{}[]()$/@#<>AKIesky0129", max_size=60),
    separator=st.sampled_from([" ", "=", ": ", '"', "'", "\n", "\t", "("]),  # tokens are delimited
    seed=st.integers(0, 2**16),
)
@settings(max_examples=150, deadline=None)
def test_a_planted_token_never_survives_and_redaction_is_idempotent(before, after, separator, seed):
    shapes = Shapes(random.Random(seed))
    token = random.Random(seed).choice([shapes.github, shapes.deepseek, shapes.anthropic, shapes.slack,
                                        shapes.stripe, shapes.npm, shapes.jwt])()
    text = before + separator + token + separator + after
    out, _ = redact(text)
    assert token not in out
    assert redact(out) == (out, [])


SYNTAX_PIECES = [
    "password", "token", "KEY", "api_key", "secret", "=", ": ", '"', "'", " ", "\n", "\r\n", "://", "u:", "@h", ".",
    "_", "-", "$", "{", "}", "(", ")", "Bearer ", "basic ", "Authorization: ", "<password>", "</password>", "hunter22",
    "Zx8Qp2LmN4vR7tY1wK9s", "aGVsbG86d29ybGQ=", "-----BEGIN PRIVATE KEY-----", "-----END PRIVATE KEY-----", "AKIA",
    "sk-", "eyJ", "[REDACTED:generic-secret]",
]


@given(pieces=st.lists(st.sampled_from(SYNTAX_PIECES), max_size=25), secret=st.integers(-1, 6),
       where=st.integers(0, 25), seed=st.integers(0, 2**16))
@settings(max_examples=300, deadline=None)
def test_redaction_is_idempotent_on_syntax_soup(pieces, secret, where, seed):
    shapes = Shapes(random.Random(seed))
    makers = [shapes.github, shapes.generic, shapes.password, shapes.aws_secret_key, shapes.jwt, shapes.key_body,
              shapes.deepseek]
    if secret >= 0:
        pieces.insert(min(where, len(pieces)), makers[secret]())
    out, redactions = redact("".join(pieces))
    assert redact(out) == (out, [])
    assert all(r.line >= 1 for r in redactions)


def test_empty_text_has_nothing_to_redact():
    assert redact("") == ("", [])


def test_scanner_version_is_a_nonempty_string():
    assert isinstance(SCANNER_VERSION, str) and SCANNER_VERSION


TRIGGER_PIECES = ["pass", "PaSsWoRd", "pwd", "SECRET", "Token", "kEy", "auth", "CRED", "[REDACTED:", "PRIVATE KEY",
                  "AccountKey=", "accountkey=", "return", "render", "red", "ken", "s", "a", "e", "_", " ", "\n", "é"]


@given(pieces=st.lists(st.sampled_from(TRIGGER_PIECES), max_size=30))
@settings(max_examples=300, deadline=None)
def test_trigger_scan_finds_every_trigger_that_a_plain_search_finds(pieces):
    # The class view only narrows where to look: the result must be exactly what one str.find pass per trigger
    # gives (keywords in any case, anchors as written), overlaps included.
    from v4cli.context.secrets._triggers import KEYWORDS, VIEW_TABLE, find_triggers

    text = "".join(pieces)
    ascii_view = text.encode("ascii", "replace")
    found = find_triggers(ascii_view, ascii_view.translate(VIEW_TABLE))
    for trigger, starts in found.items():
        haystack, needle = (text.lower(), trigger) if trigger in KEYWORDS else (text, trigger)
        expected = [i for i in range(len(text)) if haystack.startswith(needle, i)]
        assert starts == expected, trigger


def test_no_trigger_class_string_overlaps_itself():
    # find_triggers splits the view on each class string, which finds every place only when no two can overlap
    from v4cli.context.secrets._triggers import _CHECKS

    for needle in _CHECKS:
        assert not any(needle.startswith(needle[i:]) for i in range(1, len(needle))), needle


BODY = "a1B2c3D4e5F6g7H8" * 4
# fixed starts, whole tokens whose long word is not where they start (SendGrid, Telegram, JWT), and word soup
TOKEN_START_PIECES = ["ghp_", "github_pat_", "glpat-", "xoxb-", "sk_live_", "whsec_", "AIza", "GOCSPX-", "sk-", "npm_",
                      "pypi-AgE", "hf_", "SK", "SG.", "key-", "shpat_", "doo_v1_", "dapi", "sq0atp-", "AGE-SECRET-KEY-1",
                      "eyJ", ".ey", "123456789", ":AA", "AKIA", f"SG.{BODY[:22]}.{BODY[:43]}", f"123456789:AA{BODY[:33]}",
                      f"eyJ{BODY[:12]}.ey{BODY[:20]}.{BODY[:16]}", "_", "-", ".", ":", " ", BODY[:16], BODY[:33], "xyz"]


@given(pieces=st.lists(st.sampled_from(TOKEN_START_PIECES), max_size=30))
@settings(max_examples=300, deadline=None)
def test_long_word_prefilter_keeps_every_word_where_a_token_starts(pieces):
    # find_tokens tries the shapes only on long words _TOKEN_MAY_START accepts: it must accept every word where
    # one of the places _token_starts gives begins a token
    from v4cli.context.secrets._shapes import (_FIXED_START_MAX, _SPLIT_SCAN, _TOKEN_AT, _TOKEN_MAY_START,
                                               WORD_TABLE, _token_starts)

    text = "".join(pieces)
    words = text.encode("ascii", "replace").translate(WORD_TABLE)
    for word in re.finditer(rb"a{20,}", words):
        pos, end = word.span()
        if any(_TOKEN_AT.match(text, start) for start in _token_starts(text, words, pos, end)):
            assert _TOKEN_MAY_START.match(text, pos, min(end, pos + _SPLIT_SCAN) + _FIXED_START_MAX), text
