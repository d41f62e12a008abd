"""Values assigned to secret-looking names, and passwords in URLs: looked at only where a keyword occurs."""

from __future__ import annotations

import base64
import binascii
import re
from functools import lru_cache

from v4cli.context.secrets._hit import MARKER_PREFIX, Hit
from v4cli.context.secrets._shapes import is_aws_secret
from v4cli.context.secrets._values import HEX, REGEX_SOURCE, UUID, WORD_SPLIT, is_placeholder, is_wordy, looks_random

# Values assigned to secret-looking names: looked at only where a keyword occurs (any case; see _triggers)

# the name is read possessively: a shorter one would be followed by a name character, which nothing after it takes
_NAME_OP = re.compile(
    r"(?P<name>-{0,2}[A-Za-z_][\w-]*+)[\"'`\]]{0,2}[ \t]*"
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
_URL_CREDENTIALS = re.compile(
    r"://(?P<user>[^\s:/?#@\"'`<>\[\]]{0,256}):(?P<password>[^\s/?#@\"'`<>\[\]]{1,256})@(?=[\w\[])"
)
_URL_PASSWORD_PLACEHOLDERS = frozenset("pass password passwd pwd secret token x xxx *** ****** changeme".split())
_DOTTED_IDENTIFIER = re.compile(r"[A-Za-z_$@][\w$@]*(?:\.[A-Za-z_$@][\w$@]*)+")
_CODE_IDENTIFIER = re.compile(r"[A-Za-z_$@]\w*")


def find_named_values(text: str, view: bytes, words: bytes, keywords: list[list[int]]) -> list[Hit]:
    """Secrets assigned to names that hold a keyword (``keywords``: where each keyword occurs), and passwords in
    URLs. ``view`` and ``words``: the text's _triggers and WORD_TABLE views, with known shapes masked."""
    hits: list[Hit] = []
    rfind = words.rfind
    starts = {rfind(b" ", 0, pos) + 1 for found in keywords for pos in found}  # the identifiers holding a keyword
    scanned_to = 0
    for start in sorted(starts):
        if start < scanned_to:  # inside an unquoted value already read (keeps "key=key=key=..." linear)
            continue
        m = _NAME_OP.match(text, start)
        if m or start and text[start - 1] in "<\"":  # else nothing to read here (most starts)
            found, scanned_to = _named_values_at(text, start, m, view)
            hits.extend(found)
    pos = view.find(b"://")
    while pos >= 0:
        m = _URL_CREDENTIALS.match(text, pos)
        if m and not _is_url_placeholder(m.group("password")):
            hits.append(Hit(m.start("password"), m.end("password"), "url-credentials", 1, m.start("password")))
        pos = view.find(b"://", pos + 3)
    return hits


def _named_values_at(text: str, start: int, m: re.Match[str] | None, masked: bytes) -> tuple[list[Hit], int]:
    """The secret values given to the name starting at ``start`` (``name = value`` in its many syntaxes; ``m``
    is _NAME_OP's match there), and where the unquoted value read ends."""
    found: list[Hit] = []
    scanned_to = start
    if m and (name_class := _name_class(m.group("name"))):
        v = _VALUE.match(text, m.end())
        if v:
            group = v.lastgroup
            value_start, value_end = v.span(group)
            quoted = group != "uq"
            if not quoted:  # an unquoted value stops where a masked token starts, as it stops at its marker later
                cut = masked.find(b" ", value_start, value_end)
                value_end = value_end if cut < 0 else cut
                scanned_to = value_end
            code = not quoted and value_end < len(text) and (text[value_end] in "([{." or value_end < v.end())
            value = text[value_start:value_end]
            kind = None if code or not value else _value_kind(name_class, m.group("name"), value, quoted=quoted)
            if kind:
                found.append(Hit(value_start, value_end, kind, 2, value_start))
            elif scheme := _AUTH_SCHEME.match(text, value_start):  # Authorization: Bearer <token>
                found.extend(_auth_credentials(scheme))
    if start and text[start - 1] == "<" and (m := _XML_ELEMENT.match(text, start - 1)):
        found.extend(_named_value(m))
    if start and text[start - 1] == '"':  # <add key="ApiSecret" value="..."/>
        before = text[max(0, start - 24) : start - 1].rstrip(" \t")
        if before.endswith("=") and before[:-1].rstrip(" \t").lower().endswith(("key", "name")):
            if m := _ATTR_NAME_VALUE.match(text, start):
                found.extend(_named_value(m))
    return found, scanned_to


def _named_value(m: re.Match[str]) -> list[Hit]:
    name_class = _name_class(m.group("name"))
    kind = name_class and _value_kind(name_class, m.group("name"), m.group("value"), quoted=True)
    return [Hit(m.start("value"), m.end("value"), kind, 2, m.start("value"))] if kind else []


def _auth_credentials(m: re.Match[str]) -> list[Hit]:
    credential = m.group("cred")
    if m.group("scheme").lower() == "basic":
        ok, kind = _is_basic_credentials(credential), "basic-auth"
    else:
        ok, kind = looks_random(credential, min_len=16), "bearer-token"
    return [Hit(m.start("cred"), m.end("cred"), kind, 1, m.start("cred"))] if ok else []


def _is_url_placeholder(password: str) -> bool:
    return (password.lower() in _URL_PASSWORD_PLACEHOLDERS or MARKER_PREFIX in password
            or password.startswith(("$", "%", "{", "<", "*")) or is_placeholder(password))


def _is_basic_credentials(value: str) -> bool:
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return False
    user, sep, password = decoded.partition(":")
    return bool(sep and user and password) and decoded.isprintable() and not is_placeholder(password)


# ---------------------------------------------------------------------------------------------------------
# Which names hold secrets, and which of their values are real

_PASSWORD_WORDS = frozenset("password passwd pwd pass passphrase passcode passwort".split())
_SECRET_WORDS = frozenset(
    "secret secrets token credential credentials creds cred auth authorization apikey bearer".split()
)
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
    words = [w.lower() for w in WORD_SPLIT.findall(last)]
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
        return not any(c.isdigit() for c in value) or "_" in value and is_wordy(value)
    return "_" in value or is_wordy(value)


def _value_kind(name_class: str, name: str, value: str, *, quoted: bool) -> str | None:
    """The kind to report when ``value`` (assigned to a name of ``name_class``) is a real secret, else None."""
    value = value.strip()
    if not value or MARKER_PREFIX in value or is_placeholder(value) or REGEX_SOURCE.search(value):
        return None
    if _normalized(value) in _normalized(name) or value.endswith(":"):
        return None  # a label or the name itself ("Password:", PASSWORD = "password")
    if _DOTTED_IDENTIFIER.fullmatch(value) or not quoted and _is_variable(value, password=name_class == "password"):
        return None  # an attribute path, or an unquoted variable name: code, not a literal
    if name_class == "password":
        if len(value) < 4 or any(c.isspace() for c in value) or value.startswith(("/", "./", "~/", "!", "&", "*")):
            return None
        return "password"
    if name_class == "aws" and is_aws_secret(value):
        return "aws-secret-key"
    if name_class == "key" and (HEX.fullmatch(value) or UUID.fullmatch(value)):
        return None
    hexlike = HEX.fullmatch(value) is not None and len(value) >= 16 and not value.isdigit()
    if not (hexlike or UUID.fullmatch(value) or looks_random(value, min_len=12 if name_class != "key" else 16)):
        return None
    return "generic-secret"
