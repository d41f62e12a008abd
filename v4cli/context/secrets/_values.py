"""Value checks shared by the rules: placeholders, identifiers and words, entropy, the shape of a random token."""

from __future__ import annotations

import math
import re
from collections import Counter

from v4cli.context.secrets._hit import MARKER_PREFIX

_PLACEHOLDER_WORDS = frozenset(
    "none null nil undefined true false yes no on off changeme change_me change-me password passwd pass pwd "
    "secret secrets token apikey api_key key example test testing dummy fake sample default required optional "
    "empty todo tbd string str bytes int value redacted hidden masked mypassword yourpassword mysecret "
    "yoursecret mytoken yourtoken placeholder unknown anonymous guest user username admin".split()
)
_PLACEHOLDER_PARTS = ("example", "placeholder", "changeme", "change_me", "dummy", "your_", "your-", "yourkey",
                      "insert", "replace_me", "replace-me", "replaceme", "redacted", "...", MARKER_PREFIX.lower())
_PLACEHOLDER_SHAPE = re.compile(
    r"[x*._#\-]+|[Xx]{3,}.*|.*[Xx]{4,}|\.\.\.+.*|<.*>|\$\w+|\$\(.*|%\(?\w*\)?[sd]|.*[{}].*|0+|1234.*",
    re.IGNORECASE,
)
_WORDLIKE = re.compile(r"[-_. :/]*[A-Za-z]+(?:[-_. :/]+[A-Za-z]+)*[-_. :/]*")
_LOWER_IDENTIFIER = re.compile(r"[a-z]+(?:[-_.][a-z0-9]+)+")
WORD_SPLIT = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_FILE_NAME = re.compile(r".*\.(?:pem|key|crt|cer|der|p12|pfx|pub|gpg|asc|txt|json|ya?ml|toml|ini|cfg|conf|env|py|js)",
                        re.IGNORECASE)
_HTML_ENTITY = re.compile(r"&#?\w+;")
REGEX_SOURCE = re.compile(r"\(\?|\\[dswbDSWB]|\[\^|[(|][^|]*\|")
HEX = re.compile(r"[0-9a-fA-F]+")
UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def is_placeholder(value: str) -> bool:
    lowered = value.lower()
    return (
        lowered in _PLACEHOLDER_WORDS
        or any(part in lowered for part in _PLACEHOLDER_PARTS)
        or _PLACEHOLDER_SHAPE.fullmatch(value) is not None
        or len(set(value)) < 3
    )


def entropy(value: str) -> float:
    """Shannon entropy in bits per character."""
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values())


def is_wordy(value: str) -> bool:
    """Mostly made of lowercase or Capitalized words of four letters or more: an identifier, not a random token.

    (A random 24-character base62 string passes this test about once in 1,000 tries; 32 characters, 1 in 5,000.)
    """
    alnum = sum(c.isalnum() for c in value)
    in_words = sum(len(w) for w in WORD_SPLIT.findall(value) if len(w) >= 4 and w.isalpha() and not w.isupper())
    return in_words >= 0.75 * alnum


def looks_random(value: str, *, min_len: int) -> bool:
    """True for a token-shaped value: long enough, no spaces, mixed characters, high entropy, not words or a path."""
    if len(value) < min_len or any(c.isspace() for c in value) or is_placeholder(value):
        return False
    if value.isdigit() or _WORDLIKE.fullmatch(value) or _LOWER_IDENTIFIER.fullmatch(value) or is_wordy(value):
        return False
    if value.startswith(("/", "./", "../", "~/", "http:", "https:", "file:")) or "\\x" in value or "\\u" in value:
        return False
    if _FILE_NAME.fullmatch(value) or _HTML_ENTITY.search(value) or sum(c.isalnum() for c in value) < 0.6 * len(value):
        return False
    classes = sum((any(c.islower() for c in value), any(c.isupper() for c in value), any(c.isdigit() for c in value),
                   any(not c.isalnum() for c in value)))
    return classes >= 2 and entropy(value) >= (3.0 if len(value) >= 16 else 2.7)


def not_example(value: str) -> bool:
    """Not a documented example (AKIAIOSFODNN7EXAMPLE) nor a filler like ghp_xxxx...: its tail varies."""
    return "EXAMPLE" not in value.upper() and len(set(value[-16:])) >= 6
