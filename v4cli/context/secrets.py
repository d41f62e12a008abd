"""Find secrets in text and redact their values in place, before anything leaves the machine.

Everything the packer emits may be sent to a remote API, so redaction is on by default. The scanner is
hand-written (measured against `detect-secrets`: see benchmarks/bench_secrets.py). Python regexes crawl
at ~20 MB/s when they must try every position, so no rule does: a few C-speed passes over an ASCII view
of the text (``bytes.find``, ``bytes.translate``) pick the places worth a look — words of 20+ token
characters for the known token shapes, lines holding a keyword (``key``, ``token``, ``pass``, ``://``,
...) for the name/value rules — and only there do the compiled, linear-time regexes run.

What counts as a secret:
- provider tokens recognised by their shape (GitHub, GitLab, Slack, Stripe, Google, OpenAI, Anthropic,
  DeepSeek, npm, PyPI, Hugging Face, Twilio, SendGrid, ...), JWTs, AWS access key ids and a 40-character
  secret key within a few lines of one;
- private key blocks (PEM, OpenSSH, PGP): the BEGIN/END lines stay, the body becomes one marker; the
  Redaction's line is the BEGIN line;
- the password in ``scheme://user:password@host`` (user, scheme and host stay);
- values assigned to secret-looking names (``*_TOKEN``, ``*_SECRET``, ``api_key``, ``password``, ...) in
  code, YAML, JSON, .env, INI, TOML, shell and XML, when the value looks like a real secret: placeholders
  (``changeme``, ``<your-key>``, ``${VAR}``, ``os.environ[...]``, ``None``, empty), names without values,
  type annotations and identifiers are left alone; for a bare ``*_key`` name, hex digests and UUIDs are too.

Deliberate choices: AWS's documented example credentials (anything containing ``EXAMPLE``, such as
AKIAIOSFODNN7EXAMPLE) are not redacted — they are public and appear in docs and tests everywhere; high-entropy
strings with no name and no known shape are not redacted (too many false positives on hashes and data blobs);
a password needs a name that says so (``password: hunter2``), and an unquoted one must hold a digit or symbol.
Lines are counted by ``\\n`` (CRLF files count the same). Redaction is idempotent.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

SCANNER_VERSION = "1"

_MARKER = "[REDACTED:{}]"
_MARKER_PREFIX = "[REDACTED:"


@dataclass(frozen=True, slots=True)
class Redaction:
    line: int  # 1-based line in the original text where the secret starts (a key block: its BEGIN line)
    kind: str  # stable slug, e.g. "github-token", "private-key", "generic-secret"


@dataclass(frozen=True, slots=True)
class _Hit:
    start: int
    end: int
    kind: str
    rank: int  # 0: known shape, 1: context rule, 2: name/value heuristic; lower wins an overlap
    anchor: int  # where the reported line is counted from


def redact(text: str) -> tuple[str, list[Redaction]]:
    """Return ``text`` with each secret value replaced by ``[REDACTED:<kind>]``, and the redactions in order."""
    ascii_view = text.encode("ascii", "replace")  # one byte per character: offsets match the text's
    words = ascii_view.translate(_WORD_TABLE)  # b"a" for [A-Za-z0-9_-], b" " for everything else
    hits = _find_tokens(text, words) + _find_private_keys(text) + _find_named_values(text, ascii_view.lower(), words)
    if not hits:
        return text, []
    parts: list[str] = []
    redactions: list[Redaction] = []
    pos = 0
    line = 1
    counted = 0
    for hit in _merge(hits):
        line += text.count("\n", counted, hit.anchor)
        counted = hit.anchor
        redactions.append(Redaction(line, hit.kind))
        parts.append(text[pos : hit.start])
        parts.append(_MARKER.format(hit.kind))
        pos = hit.end
    parts.append(text[pos:])
    return "".join(parts), redactions


def _merge(hits: list[_Hit]) -> list[_Hit]:
    """Sort hits and fold overlapping ones into their union, keeping the most specific kind."""
    hits.sort(key=lambda h: (h.start, h.rank))
    merged: list[_Hit] = []
    for hit in hits:
        if merged and hit.start < merged[-1].end:
            last = merged[-1]
            best = last if last.rank <= hit.rank else hit
            merged[-1] = _Hit(last.start, max(last.end, hit.end), best.kind, best.rank, min(last.anchor, hit.anchor))
        else:
            merged.append(hit)
    return merged


# ---------------------------------------------------------------------------------------------------------
# Value checks shared by the rules

_PLACEHOLDER_WORDS = frozenset(
    "none null nil undefined true false yes no on off changeme change_me change-me password passwd pass pwd "
    "secret secrets token apikey api_key key example test testing dummy fake sample default required optional "
    "empty todo tbd string str bytes int value redacted hidden masked mypassword yourpassword mysecret "
    "yoursecret mytoken yourtoken placeholder unknown anonymous guest user username admin".split()
)
_PLACEHOLDER_PARTS = ("example", "placeholder", "changeme", "change_me", "dummy", "your_", "your-", "yourkey",
                      "insert", "replace_me", "replace-me", "replaceme", "redacted", _MARKER_PREFIX.lower())
_PLACEHOLDER_SHAPE = re.compile(
    r"[x*._#\-]+|[Xx]{3,}.*|.*[Xx]{4,}|\.\.\.+.*|<.*>|\$\w+|\$\(.*|%\(?\w*\)?[sd]|.*[{}].*|0+|1234.*",
    re.IGNORECASE,
)
_WORDLIKE = re.compile(r"[-_. :/]*[A-Za-z]+(?:[-_. :/]+[A-Za-z]+)*[-_. :/]*")
_LOWER_IDENTIFIER = re.compile(r"[a-z]+(?:[-_.][a-z0-9]+)+")
_WORD_SPLIT = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_FILE_NAME = re.compile(r".*\.(?:pem|key|crt|cer|der|p12|pfx|pub|gpg|asc|txt|json|ya?ml|toml|ini|cfg|conf|env|py|js)",
                        re.IGNORECASE)
_HTML_ENTITY = re.compile(r"&#?\w+;")
_HEX = re.compile(r"[0-9a-fA-F]+")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _is_placeholder(value: str) -> bool:
    lowered = value.lower()
    return (
        lowered in _PLACEHOLDER_WORDS
        or any(part in lowered for part in _PLACEHOLDER_PARTS)
        or _PLACEHOLDER_SHAPE.fullmatch(value) is not None
        or len(set(value)) < 3
    )


def _entropy(value: str) -> float:
    """Shannon entropy in bits per character."""
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values())


def _is_wordy(value: str) -> bool:
    """Mostly made of lowercase or Capitalized words of four letters or more: an identifier, not a random token.

    (A random 24-character base62 string passes this test about once in 1,000 tries; 32 characters, 1 in 5,000.)
    """
    alnum = sum(c.isalnum() for c in value)
    in_words = sum(len(w) for w in _WORD_SPLIT.findall(value) if len(w) >= 4 and w.isalpha() and not w.isupper())
    return in_words >= 0.75 * alnum


def _looks_random(value: str, *, min_len: int) -> bool:
    """True for a token-shaped value: long enough, no spaces, mixed characters, high entropy, not words or a path."""
    if len(value) < min_len or any(c.isspace() for c in value) or _is_placeholder(value):
        return False
    if value.isdigit() or _WORDLIKE.fullmatch(value) or _LOWER_IDENTIFIER.fullmatch(value) or _is_wordy(value):
        return False
    if value.startswith(("/", "./", "../", "~/", "http:", "https:", "file:")) or "\\x" in value or "\\u" in value:
        return False
    if _FILE_NAME.fullmatch(value) or _HTML_ENTITY.search(value) or sum(c.isalnum() for c in value) < 0.6 * len(value):
        return False
    classes = sum((any(c.islower() for c in value), any(c.isupper() for c in value), any(c.isdigit() for c in value),
                   any(not c.isalnum() for c in value)))
    return classes >= 2 and _entropy(value) >= (3.0 if len(value) >= 16 else 2.7)


def _not_example(value: str) -> bool:
    """Not a documented example (AKIAIOSFODNN7EXAMPLE) nor a filler like ghp_xxxx...: its tail varies."""
    return "EXAMPLE" not in value.upper() and len(set(value[-16:])) >= 6


# ---------------------------------------------------------------------------------------------------------
# Known token shapes. Each starts a word of 20+ characters from [A-Za-z0-9_-] (or sits next to one: the
# other parts of a JWT, SendGrid's "SG." prefix, a Telegram bot id): find those words, then try the shapes.

_TOKEN_KINDS = {
    "aws": "aws-access-key", "github": "github-token", "gitlab": "gitlab-token", "slack": "slack-token",
    "stripe": "stripe-key", "google": "google-api-key", "google_oauth": "google-oauth-secret", "sk": "",
    "npm": "npm-token", "pypi": "pypi-token", "huggingface": "huggingface-token", "twilio": "twilio-key",
    "sendgrid": "sendgrid-key", "mailgun": "mailgun-key", "shopify": "shopify-token",
    "digitalocean": "digitalocean-token", "databricks": "databricks-token", "square": "square-token",
    "age": "age-secret-key", "jwt": "jwt", "telegram": "telegram-bot-token",
}
_TOKEN_AT = re.compile(
    r"(?P<aws>A[KS]IA[A-Z2-7]{16})(?![A-Za-z0-9])"
    r"|(?P<github>gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})"
    r"|(?P<gitlab>gl(?:pat|dt|rt|ptt|cbt|soat|ffct|agent)-[A-Za-z0-9_-]{20,255})"
    r"|(?P<slack>xox[abposre]-[0-9A-Za-z-]{10,255})"
    r"|(?P<stripe>(?:sk|rk)_(?:live|test)_[0-9A-Za-z]{16,255}|whsec_[A-Za-z0-9]{32,255})"
    r"|(?P<google>AIza[0-9A-Za-z_-]{35})(?![A-Za-z0-9_-])"
    r"|(?P<google_oauth>GOCSPX-[A-Za-z0-9_-]{28})"
    r"|(?P<sk>sk-[A-Za-z0-9_-]{20,400})"
    r"|(?P<npm>npm_[A-Za-z0-9]{36})(?![A-Za-z0-9])"
    r"|(?P<pypi>pypi-AgE[A-Za-z0-9_-]{50,1000})"
    r"|(?P<huggingface>hf_[A-Za-z]{34})(?![A-Za-z0-9])"
    r"|(?P<twilio>SK[0-9a-fA-F]{32})(?![A-Za-z0-9])"
    r"|(?P<sendgrid>SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43})(?![A-Za-z0-9_-])"
    r"|(?P<mailgun>key-[0-9a-f]{32})(?![A-Za-z0-9])"
    r"|(?P<shopify>shp(?:at|ss|ca|pa)_[a-fA-F0-9]{32})(?![A-Za-z0-9])"
    r"|(?P<digitalocean>do[opr]_v1_[a-f0-9]{64})(?![A-Za-z0-9])"
    r"|(?P<databricks>dapi[a-f0-9]{32})(?![A-Za-z0-9])"
    r"|(?P<square>sq0(?:atp|csp)-[0-9A-Za-z_-]{22,43})"
    r"|(?P<age>AGE-SECRET-KEY-1[0-9A-Z]{58})"
    r"|(?P<jwt>eyJ[A-Za-z0-9_-]{8,8192}\.ey[A-Za-z0-9_-]{8,65536}\.[A-Za-z0-9_-]{16,8192})"
    r"|(?P<telegram>[0-9]{8,10}:AA[A-Za-z0-9_-]{33})(?![A-Za-z0-9_-])"
)
_TOKEN_WORD_LEN = 20
_TOKEN_FIRST_CHARS = frozenset("AgxsrwGnphSkde0123456789")
_WORD_CHARS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_WORD_TABLE = bytes(ord("a") if i in _WORD_CHARS else ord(" ") for i in range(256))
_SPLIT_SCAN = 40  # also try the shapes after a "_" or "-" this close to the word start (API_KEY_sk-...)
_SLACK_WEBHOOK = re.compile(r"hooks\.slack\.com/(?:services|workflows)/(T[A-Z0-9]{6,}/B[A-Z0-9]{6,}/[A-Za-z0-9]{16,})")
_AZURE_ACCOUNT_KEY = re.compile(r"AccountKey=([A-Za-z0-9+/]{86}==)")
_AWS_SECRET_NEARBY = re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")
_AWS_NEARBY_LINES = 5


def _find_tokens(text: str, words: bytes) -> list[_Hit]:
    hits: list[_Hit] = []
    needle = b"a" * _TOKEN_WORD_LEN
    pos = words.find(needle)
    while pos >= 0:
        end = words.find(b" ", pos)
        end = len(words) if end < 0 else end
        for start in _token_starts(text, words, pos, end):
            m = _TOKEN_AT.match(text, start)
            if m is None:
                continue
            kind = _TOKEN_KINDS[m.lastgroup] or _classify_sk(m.group())
            if kind and _not_example(m.group()):
                hits.append(_Hit(start, m.end(), kind, 0, start))
                break
        pos = words.find(needle, end)
    for anchor, pattern, kind in (("hooks.slack.com", _SLACK_WEBHOOK, "slack-webhook"),
                                  ("AccountKey=", _AZURE_ACCOUNT_KEY, "azure-storage-key")):
        if anchor in text:
            hits.extend(_Hit(m.start(1), m.end(1), kind, 0, m.start(1)) for m in pattern.finditer(text))
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
    return [s for s in starts if text[s] in _TOKEN_FIRST_CHARS]


def _classify_sk(value: str) -> str | None:
    """The ``sk-`` family is shared by several providers: tell them apart by what follows."""
    if value.startswith("sk-ant-"):
        return "anthropic-key"
    if value.startswith(("sk-proj-", "sk-svcacct-", "sk-admin-", "sk-None-")) or "T3BlbkFJ" in value:
        return "openai-key"
    body = value[3:]
    if len(body) == 32 and _HEX.fullmatch(body) and not body.isdigit():
        return "deepseek-key"
    if len(body) == 48 and body.isalnum():
        return "openai-key"
    return "api-key" if len(body) >= 32 and _looks_random(body, min_len=32) else None


def _find_aws_secrets_near(text: str, key_ids: list[int]) -> list[_Hit]:
    """An AWS secret key has no prefix: accept a 40-character base64 run only a few lines from an access key id."""
    hits = []
    for pos in key_ids:
        lo = hi = pos
        for _ in range(_AWS_NEARBY_LINES + 1):
            lo = text.rfind("\n", 0, lo) if lo > 0 else -1
            if lo < 0:
                break
        for _ in range(_AWS_NEARBY_LINES + 1):
            hi = text.find("\n", hi + 1)
            if hi < 0:
                hi = len(text)
                break
        for m in _AWS_SECRET_NEARBY.finditer(text, max(lo, 0), hi):
            value = m.group()
            if _is_aws_secret(value):
                hits.append(_Hit(m.start(), m.end(), "aws-secret-key", 1, m.start()))
    return hits


# ---------------------------------------------------------------------------------------------------------
# Private key blocks

_KEY_BEGIN = re.compile(r"-----BEGIN ([A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?)-----")
_KEY_MAX_BODY = 65536
_BASE64_LINE = re.compile(r"[ \t]*(?:[A-Za-z0-9+/=]{16,}|[A-Za-z-]+: [^\n]*)[ \t]*\r?(?:\n|$)")
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/]{32}")
_BODY_EDGE = " \t\r\n\"'"


def _is_aws_secret(value: str) -> bool:
    """40 base64 characters that look random (not a hex digest, not the documented example)."""
    return (len(value) == 40 and _AWS_SECRET_NEARBY.fullmatch(value) is not None and not _HEX.fullmatch(value)
            and _not_example(value) and not _is_wordy(value) and _entropy(value) >= 4.0)


def _find_private_keys(text: str) -> list[_Hit]:
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
        if _MARKER_PREFIX not in body and _BASE64_RUN.search(body):
            hits.append(_Hit(start, stop, "private-key", 0, m.start()))
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


# ---------------------------------------------------------------------------------------------------------
# Values assigned to secret-looking names: looked at only where a keyword occurs (any case)

_NAME_KEYWORDS = (b"pass", b"pwd", b"secret", b"token", b"key", b"auth", b"cred")

_NAME_OP = re.compile(
    r"(?P<name>-{0,2}[A-Za-z_][\w-]*)[\"'`\]]{0,2}[ \t]*"
    r"(?::[ \t]*[A-Za-z_][\w.]*(?:\[[^\]\n]{0,80}\])?(?:[ \t]*\|[ \t]*[A-Za-z_][\w.]*)*[ \t]*(?==[^=]))?"
    r"(?::=|=>|===?|!==?|=|:)"
)
_VALUE = re.compile(
    r"[ \t]*(?:[bBrRuU]{0,2}(?:\"(?P<dq>[^\"\\\n]*(?:\\.[^\"\\\n]*)*)\"|'(?P<sq>[^'\\\n]*(?:\\.[^'\\\n]*)*)'"
    r"|`(?P<bq>[^`\\\n]*)`)|(?P<uq>[^\s\"'`,;&<>{}()\[\]]+))"
)
_XML_ELEMENT = re.compile(r"<(?P<name>[A-Za-z_][\w.:-]{0,80})>(?P<value>[^<\n]{1,1000})</(?P=name)>")
_ATTR_NAME_VALUE = re.compile(r"(?P<name>[^\"\n]{1,200})\"[ \t]+value[ \t]*=[ \t]*\"(?P<value>[^\"\n]*)\"")
_AUTH_SCHEME = re.compile(r"(?P<scheme>bearer|basic|token)[ \t]+(?P<cred>[A-Za-z0-9._~+/-]{8,}=*)", re.IGNORECASE)
_URL_CREDENTIALS = re.compile(r"://(?P<user>[^\s:/?#@\"'`<>]{0,256}):(?P<password>[^\s/?#@\"'`<>]{1,256})@(?=[\w\[])")
_URL_PASSWORD_PLACEHOLDERS = frozenset("pass password passwd pwd secret token x xxx *** ****** changeme".split())
_DOTTED_IDENTIFIER = re.compile(r"[A-Za-z_$@][\w$@]*(?:\.[A-Za-z_$@][\w$@]*)+")
_CODE_IDENTIFIER = re.compile(r"[A-Za-z_$@]\w*")


def _find_named_values(text: str, lowered: bytes, words: bytes) -> list[_Hit]:
    """Secrets assigned to names that hold a keyword, and passwords in URLs."""
    hits: list[_Hit] = []
    seen: set[int] = set()
    for keyword in _NAME_KEYWORDS:
        pos = lowered.find(keyword)
        while pos >= 0:
            start = words.rfind(b" ", 0, pos) + 1  # the identifier holding the keyword
            end = words.find(b" ", pos)
            if start not in seen:
                seen.add(start)
                hits.extend(_named_values_at(text, start))
            pos = lowered.find(keyword, end) if end >= 0 else -1
    pos = lowered.find(b"://")
    while pos >= 0:
        m = _URL_CREDENTIALS.match(text, pos)
        if m and not _is_url_placeholder(m.group("password")):
            hits.append(_Hit(m.start("password"), m.end("password"), "url-credentials", 1, m.start("password")))
        pos = lowered.find(b"://", pos + 3)
    return hits


def _named_values_at(text: str, start: int) -> list[_Hit]:
    """The secret values given to the name starting at ``start``: ``name = value`` in its many syntaxes."""
    found: list[_Hit] = []
    m = _NAME_OP.match(text, start)
    if m and (name_class := _name_class(m.group("name"))):
        v = _VALUE.match(text, m.end())
        if v:
            group = v.lastgroup
            quoted = group != "uq"
            code = not quoted and v.end() < len(text) and text[v.end()] in "([{."  # a call, index or attribute
            kind = None if code else _value_kind(name_class, m.group("name"), v.group(group), quoted=quoted)
            if kind:
                found.append(_Hit(v.start(group), v.end(group), kind, 2, v.start(group)))
            elif scheme := _AUTH_SCHEME.match(text, v.start(group)):  # Authorization: Bearer <token>
                found.extend(_auth_credentials(scheme))
    if start and text[start - 1] == "<" and (m := _XML_ELEMENT.match(text, start - 1)):
        found.extend(_named_value(m))
    if start and text[start - 1] == '"':  # <add key="ApiSecret" value="..."/>
        before = text[max(0, start - 24) : start - 1].rstrip(" \t")
        if before.endswith("=") and before[:-1].rstrip(" \t").lower().endswith(("key", "name")):
            if m := _ATTR_NAME_VALUE.match(text, start):
                found.extend(_named_value(m))
    return found


def _named_value(m: re.Match[str]) -> list[_Hit]:
    name_class = _name_class(m.group("name"))
    kind = name_class and _value_kind(name_class, m.group("name"), m.group("value"), quoted=True)
    return [_Hit(m.start("value"), m.end("value"), kind, 2, m.start("value"))] if kind else []


def _auth_credentials(m: re.Match[str]) -> list[_Hit]:
    credential = m.group("cred")
    if m.group("scheme").lower() == "basic":
        ok, kind = _is_basic_credentials(credential), "basic-auth"
    else:
        ok, kind = _looks_random(credential, min_len=16), "bearer-token"
    return [_Hit(m.start("cred"), m.end("cred"), kind, 1, m.start("cred"))] if ok else []


def _is_url_placeholder(password: str) -> bool:
    return (password.lower() in _URL_PASSWORD_PLACEHOLDERS or _MARKER_PREFIX in password
            or password.startswith(("$", "%", "{", "<", "*")) or _is_placeholder(password))


def _is_basic_credentials(value: str) -> bool:
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return False
    user, sep, password = decoded.partition(":")
    return bool(sep and user and password) and decoded.isprintable() and not _is_placeholder(password)


# ---------------------------------------------------------------------------------------------------------
# Which names hold secrets, and which of their values are real

_PASSWORD_WORDS = frozenset("password passwd pwd pass passphrase passcode passwort".split())
_SECRET_WORDS = frozenset("secret secrets token credential credentials creds cred auth authorization apikey bearer".split())
_SECRET_SUFFIXES = ("secret", "token", "apikey", "privatekey", "accesskey", "secretkey", "authkey")
_KEY_QUALIFIERS = frozenset(
    "api access secret private auth client app application master signing sign encryption encrypt enc decryption "
    "hmac license licence account service subscription consumer webhook admin deploy session jwt ssh gpg pgp "
    "crypt cipher aes rsa root live prod openai deepseek anthropic stripe twilio sendgrid mailgun "
    "google azure aws gcp firebase".split()
)
_PUBLIC_WORDS = frozenset("public publishable pub".split())
_NOT_A_VALUE = frozenset(
    "file files path paths dir url uri urls env var vars name names type types len length size count id ids "
    "field fields prompt label header headers param params regex re pattern policy hint help message msg format "
    "fmt template min max limit limits expiry expires expiration ttl timeout mode class cls kind index idx hash "
    "hashed digest checksum fingerprint location endpoint provider manager store cache column col prefix suffix "
    "style widget input button char chars hook callback fn func function handler validator error errors exception "
    "required enabled disabled set list dict map version algorithm alg method scheme source sources attr attrs "
    "option options arg args flag flags keys getter setter factory reset generator parser command cmd "
    "placeholder desc description title text sort lookup primary foreign partition row group unique hot short".split()
)


@lru_cache(maxsize=4096)
def _name_class(name: str) -> str | None:
    """'password', 'aws', 'secret', 'key' (a weaker ``*_key``), or None when the name does not hold a secret."""
    last = name.strip("-$@").rsplit(".", 1)[-1]
    words = [w.lower() for w in _WORD_SPLIT.findall(last)]
    if not words or _PUBLIC_WORDS.intersection(words) or words[-1] in _NOT_A_VALUE:
        return None
    if len(words) > 1 and words[-1] == "key" and words[-2] in _NOT_A_VALUE:
        return None  # cache_key, sort_key, ...: names that mention a key without holding one
    if _PASSWORD_WORDS.intersection(words) or any(w.endswith(("password", "passwd", "passphrase")) for w in words):
        return "password"
    if "secret" in words and ("aws" in words or "access" in words):
        return "aws"
    if _SECRET_WORDS.intersection(words) or any(w.endswith(_SECRET_SUFFIXES) for w in words):
        return "secret"
    if "key" in words:
        i = words.index("key")
        return "secret" if i > 0 and words[i - 1] in _KEY_QUALIFIERS else "key"
    return None


def _normalized(value: str) -> str:
    return "".join(c for c in value.lower() if c.isalnum())


def _is_variable(value: str, *, password: bool) -> bool:
    """An unquoted identifier that reads like a variable name (passwords: one with no digit, or snake_case words)."""
    if not _CODE_IDENTIFIER.fullmatch(value):
        return False
    if password:
        return not any(c.isdigit() for c in value) or "_" in value and _is_wordy(value)
    return "_" in value or _is_wordy(value)


def _value_kind(name_class: str, name: str, value: str, *, quoted: bool) -> str | None:
    """The kind to report when ``value`` (assigned to a name of ``name_class``) is a real secret, else None."""
    value = value.strip()
    if not value or _MARKER_PREFIX in value or _is_placeholder(value):
        return None
    if _normalized(value) in _normalized(name) or value.endswith(":"):
        return None  # a label or the name itself ("Password:", PASSWORD = "password")
    if _DOTTED_IDENTIFIER.fullmatch(value) or not quoted and _is_variable(value, password=name_class == "password"):
        return None  # an attribute path, or an unquoted variable name: code, not a literal
    if name_class == "password":
        if len(value) < 4 or any(c.isspace() for c in value) or value.startswith(("/", "./", "~/", "!", "&", "*")):
            return None
        return "password"
    if name_class == "aws" and _is_aws_secret(value):
        return "aws-secret-key"
    if name_class == "key" and (_HEX.fullmatch(value) or _UUID.fullmatch(value)):
        return None
    hexlike = _HEX.fullmatch(value) is not None and len(value) >= 16 and not value.isdigit()
    if not (hexlike or _UUID.fullmatch(value) or _looks_random(value, min_len=12 if name_class != "key" else 16)):
        return None
    return "generic-secret"
