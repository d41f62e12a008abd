"""Secrets known by their shape: provider tokens, JWTs, AWS keys, and private key blocks.

A token starts a word of 20+ characters from [A-Za-z0-9_-] (or sits next to one: the other parts of a JWT,
SendGrid's "SG." prefix, a Telegram bot id): find those words with bytes.find, then try the shapes there.
"""

from __future__ import annotations

import re

from v4cli.context.secrets._hit import MARKER_PREFIX, Hit
from v4cli.context.secrets._values import HEX, entropy, is_wordy, looks_random, not_example

_TOKEN_KINDS = {
    "aws": "aws-access-key", "github": "github-token", "gitlab": "gitlab-token", "slack": "slack-token",
    "stripe": "stripe-key", "google": "google-api-key", "google_oauth": "google-oauth-secret", "sk": "",
    "npm": "npm-token", "pypi": "pypi-token", "huggingface": "huggingface-token", "twilio": "twilio-key",
    "sendgrid": "sendgrid-key", "mailgun": "mailgun-key", "shopify": "shopify-token",
    "digitalocean": "digitalocean-token", "databricks": "databricks-token", "square": "square-token",
    "age": "age-secret-key", "jwt": "jwt", "telegram": "telegram-bot-token",
}
# Each shape: (kind group, [(fixed start, rest), ...], what must not follow). Every token starts with the
# fixed start of its shape, which lets find_tokens skip the long words where no shape can begin.
_TOKEN_SHAPES = (
    ("aws", [("A[KS]IA", "[A-Z2-7]{16}")], "(?![A-Za-z0-9])"),
    ("github", [("gh[pousr]_", "[A-Za-z0-9]{36,255}"), ("github_pat_", "[A-Za-z0-9_]{22,255}")], ""),
    ("gitlab", [("gl(?:pat|dt|rt|ptt|cbt|soat|ffct|agent)-", "[A-Za-z0-9_-]{20,255}")], ""),
    ("slack", [("xox[abposre]-", "[0-9A-Za-z-]{10,255}")], ""),
    ("stripe", [("(?:sk|rk)_(?:live|test)_", "[0-9A-Za-z]{16,255}"), ("whsec_", "[A-Za-z0-9]{32,255}")], ""),
    ("google", [("AIza", "[0-9A-Za-z_-]{35}")], "(?![A-Za-z0-9_-])"),
    ("google_oauth", [("GOCSPX-", "[A-Za-z0-9_-]{28}")], ""),
    ("sk", [("sk-", "[A-Za-z0-9_-]{20,400}")], ""),
    ("npm", [("npm_", "[A-Za-z0-9]{36}")], "(?![A-Za-z0-9])"),
    ("pypi", [("pypi-AgE", "[A-Za-z0-9_-]{50,1000}")], ""),
    ("huggingface", [("hf_", "[A-Za-z]{34}")], "(?![A-Za-z0-9])"),
    ("twilio", [("SK", "[0-9a-fA-F]{32}")], "(?![A-Za-z0-9])"),
    ("sendgrid", [(r"SG\.", r"[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}")], "(?![A-Za-z0-9_-])"),
    ("mailgun", [("key-", "[0-9a-f]{32}")], "(?![A-Za-z0-9])"),
    ("shopify", [("shp(?:at|ss|ca|pa)_", "[a-fA-F0-9]{32}")], "(?![A-Za-z0-9])"),
    ("digitalocean", [("do[opr]_v1_", "[a-f0-9]{64}")], "(?![A-Za-z0-9])"),
    ("databricks", [("dapi", "[a-f0-9]{32}")], "(?![A-Za-z0-9])"),
    ("square", [("sq0(?:atp|csp)-", "[0-9A-Za-z_-]{22,43}")], ""),
    ("age", [("AGE-SECRET-KEY-1", "[0-9A-Z]{58}")], ""),
    ("jwt", [("eyJ", r"[A-Za-z0-9_-]{8,8192}\.ey[A-Za-z0-9_-]{8,65536}\.[A-Za-z0-9_-]{16,8192}")], ""),
    ("telegram", [("[0-9]{8,10}:AA", "[A-Za-z0-9_-]{33}")], "(?![A-Za-z0-9_-])"),
)
_TOKEN_AT = re.compile("|".join(
    f"(?P<{name}>{'|'.join(start + rest for start, rest in forms)}){after}" for name, forms, after in _TOKEN_SHAPES
))
_FIXED_START_MAX = 16  # the longest fixed start ("AGE-SECRET-KEY-1")


def _fixed_starts() -> str:
    """The fixed starts as one alternation, grouped by their first letter (the regex engine then tries
    a handful of branches at each place, not all of them)."""
    groups: dict[str, list[str]] = {}
    for _, forms, _ in _TOKEN_SHAPES:
        for start, _ in forms:  # no fixed start has a quantifier after its first letter
            first = start[0] if start[0].isalpha() else ""
            groups.setdefault(first, []).append(start[1:] if first else start)
    return "|".join(f"{first}(?:{'|'.join(rests)})" if first else "|".join(rests) for first, rests in groups.items())


_TOKEN_WORD_LEN = 20
_LONG_WORD = b"a" * _TOKEN_WORD_LEN  # in WORD_TABLE's view
_TOKEN_FIRST_CHARS = frozenset("AgxsrwGnphSkde0123456789")
# Whether a token can begin where _token_starts looks for one, given a long word: just before it (a Telegram
# bot id before ":AA", a JWT header before ".ey", SendGrid's "SG."), or at its start or just after one of its
# "_" / "-", which a lazy walk over the word's parts tries, skipping a part whose first character starts no
# token before it tries the fixed starts. Matched up to _SPLIT_SCAN + _FIXED_START_MAX characters in, it may
# look a little further than _token_starts: it only has to miss nothing.
_TOKEN_MAY_START = re.compile(
    r"(?<=:)AA|(?<=\.)ey|(?<=SG\.)"
    f"|(?:[A-Za-z0-9]*+[_-])*?(?=[{''.join(sorted(_TOKEN_FIRST_CHARS))}])(?:{_fixed_starts()})"
)
_WORD_CHARS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
WORD_TABLE = bytes(ord("a") if i in _WORD_CHARS else ord(" ") for i in range(256))
_SPLIT_SCAN = 40  # also try the shapes after a "_" or "-" this close to the word start (API_KEY_sk-...)
_SLACK_WEBHOOK = re.compile(r"hooks\.slack\.com/(?:services|workflows)/(T[A-Z0-9]{6,}/B[A-Z0-9]{6,}/[A-Za-z0-9]{16,})")
_AZURE_ACCOUNT_KEY = re.compile(r"AccountKey=([A-Za-z0-9+/]{86}==)")
_AWS_SECRET_NEARBY = re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")
_AWS_NEARBY_LINES = 5
_AWS_NEARBY_CHARS = 2048


def find_tokens(text: str, words: bytes, *, azure: bool) -> list[Hit]:
    """Known token shapes in ``text`` (``words``: its WORD_TABLE view); ``azure``: whether "AccountKey=" occurs."""
    hits: list[Hit] = []
    may_start = _TOKEN_MAY_START.match
    find = words.find
    pos = find(_LONG_WORD)
    while pos >= 0:  # once per long word (tens of thousands in a large repository): no min()/max() calls
        end = find(b" ", pos)
        if end < 0:
            end = len(words)
        while pos < end:  # after a token, the rest of the word is looked at as a word of its own
            # most long words (identifiers, paths, hashes) have no token's fixed start where _token_starts looks
            limit = end if end < pos + _SPLIT_SCAN else pos + _SPLIT_SCAN
            if not may_start(text, pos, limit + _FIXED_START_MAX):
                break
            for start in _token_starts(text, words, pos, end):
                m = _TOKEN_AT.match(text, start)
                kind = m and (_TOKEN_KINDS[m.lastgroup] or _classify_sk(m.group()))
                if kind and not_example(m.group()):
                    hits.append(Hit(start, m.end(), kind, 0, start))
                    pos = m.end()
                    break
            else:
                break
        pos = find(_LONG_WORD, end if end > pos else pos)
    for anchored, pattern, kind in (("hooks.slack.com" in text, _SLACK_WEBHOOK, "slack-webhook"),
                                    (azure, _AZURE_ACCOUNT_KEY, "azure-storage-key")):
        if anchored:
            hits.extend(Hit(m.start(1), m.end(1), kind, 0, m.start(1)) for m in pattern.finditer(text))
    hits.extend(_find_aws_secrets_near(text, [h.start for h in hits if h.kind == "aws-access-key"]))
    return hits


def _token_starts(text: str, words: bytes, start: int, end: int) -> list[int]:
    """Where a token may begin, given a long word at text[start:end]: its start, after a "_" or "-" near it."""
    starts = [start]
    limit = min(end, start + _SPLIT_SCAN)
    for separator in "_-":
        p = text.find(separator, start, limit)
        while p >= 0:
            starts.append(p + 1)
            p = text.find(separator, p + 1, limit)
    if start >= 3 and text[start - 3 : start] == "SG.":
        starts.append(start - 3)
    if start and text[start - 1] == ":" and text.startswith("AA", start):  # a Telegram bot id before the colon
        digits = start - 1
        while digits > max(0, start - 12) and text[digits - 1].isdigit():
            digits -= 1
        starts.append(digits)
    if start and text[start - 1] == "." and text.startswith("ey", start):  # a JWT payload: its header is before
        starts.append(words.rfind(b" ", 0, start - 1) + 1)
    return [s for s in starts if s < len(text) and text[s] in _TOKEN_FIRST_CHARS]


def _classify_sk(value: str) -> str | None:
    """The ``sk-`` family is shared by several providers: tell them apart by what follows."""
    if value.startswith("sk-ant-"):
        return "anthropic-key"
    if value.startswith(("sk-proj-", "sk-svcacct-", "sk-admin-", "sk-None-")) or "T3BlbkFJ" in value:
        return "openai-key"
    body = value[3:]
    if len(body) == 32 and HEX.fullmatch(body) and not body.isdigit():
        return "deepseek-key"
    if len(body) == 48 and body.isalnum():
        return "openai-key"
    return "api-key" if len(body) >= 32 and looks_random(body, min_len=32) else None


def _find_aws_secrets_near(text: str, key_ids: list[int]) -> list[Hit]:
    """An AWS secret key has no prefix: accept a 40-character base64 run only a few lines from an access key id."""
    windows: list[list[int]] = []
    for pos in key_ids:
        lo = hi = pos
        for _ in range(_AWS_NEARBY_LINES + 1):
            lo = text.rfind("\n", max(0, pos - _AWS_NEARBY_CHARS), lo) if lo > 0 else -1
            if lo < 0:
                break
        for _ in range(_AWS_NEARBY_LINES + 1):
            hi = text.find("\n", hi + 1, pos + _AWS_NEARBY_CHARS)
            if hi < 0:
                break
        lo = max(lo, pos - _AWS_NEARBY_CHARS, 0)
        hi = min(len(text), pos + _AWS_NEARBY_CHARS) if hi < 0 else hi
        if windows and lo <= windows[-1][1]:  # key ids come in order: merge overlapping windows, scan each once
            windows[-1][1] = max(windows[-1][1], hi)
        else:
            windows.append([lo, hi])
    hits = []
    for lo, hi in windows:
        for m in _AWS_SECRET_NEARBY.finditer(text, lo, hi):
            value = m.group()
            if is_aws_secret(value):
                hits.append(Hit(m.start(), m.end(), "aws-secret-key", 1, m.start()))
    return hits

def is_aws_secret(value: str) -> bool:
    """40 base64 characters that look random (not a hex digest, not the documented example)."""
    return (len(value) == 40 and _AWS_SECRET_NEARBY.fullmatch(value) is not None and not HEX.fullmatch(value)
            and not_example(value) and not is_wordy(value) and entropy(value) >= 4.0)




# ---------------------------------------------------------------------------------------------------------
# Private key blocks

_KEY_BEGIN = re.compile(r"-----BEGIN ([A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?)-----")
_KEY_MAX_BODY = 65536
_BASE64_LINE = re.compile(r"[ \t]*(?:[A-Za-z0-9+/=]{16,}|[A-Za-z-]+: [^\n]*)[ \t]*\r?(?:\n|$)")
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/]{32}")
_BODY_EDGE = " \t\r\n\"'"




def find_private_keys(text: str) -> list[Hit]:
    if "-----BEGIN " not in text:
        return []
    hits = []
    for m in _KEY_BEGIN.finditer(text):
        body_start = m.end()
        limit = text.find("-----BEGIN ", body_start, body_start + _KEY_MAX_BODY)
        limit = body_start + _KEY_MAX_BODY if limit < 0 else limit
        end = text.find(f"-----END {m.group(1)}-----", body_start, limit)
        if end < 0:  # a truncated block: take the base64 lines that follow the header
            end = text.find("\n", body_start, limit) + 1 or limit
            while (line := _BASE64_LINE.match(text, end, limit)) and line.end() > end:
                end = line.end()
        end = min(end, len(text))
        start, stop = _strip_body(text, body_start, end)
        body = text[start:stop]
        if MARKER_PREFIX not in body and _BASE64_RUN.search(body):
            hits.append(Hit(start, stop, "private-key", 0, m.start()))
    return hits


def _strip_body(text: str, start: int, stop: int) -> tuple[int, int]:
    """Shrink a key body to its content: no surrounding whitespace or escaped newlines (keys inside JSON)."""
    while start < stop:
        if text[start] in _BODY_EDGE:
            start += 1
        elif text.startswith(("\\n", "\\r"), start):
            start += 2
        else:
            break
    while stop > start:
        if text[stop - 1] in _BODY_EDGE:
            stop -= 1
        elif text[stop - 2 : stop] in ("\\n", "\\r"):
            stop -= 2
        else:
            break
    return start, stop
