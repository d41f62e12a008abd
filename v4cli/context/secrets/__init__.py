"""Find secrets in text and redact their values in place, before anything leaves the machine.

Everything the packer emits may be sent to a remote API, so redaction is on by default. The scanner is
hand-written (measured against `detect-secrets`: see benchmarks/bench_secrets.py). Python regexes crawl
at ~20 MB/s when they must try every position, so no rule does: a few C-speed passes over an ASCII view
of the text (``bytes.find``, ``bytes.translate``) pick the places worth a look — words of 20+ token
characters that begin a known token shape for the token rules, identifiers holding a keyword (``key``,
``token``, ``pass``, ...) and ``://`` for the name/value rules — and only there do anchored, linear-time
regexes run.

What counts as a secret:
- provider tokens recognised by their shape (GitHub, GitLab, Slack, Stripe, Google, OpenAI, Anthropic,
  DeepSeek, npm, PyPI, Hugging Face, Twilio, SendGrid, ...), JWTs, AWS access key ids and a 40-character
  secret key within a few lines of one;
- private key blocks (PEM, OpenSSH, PGP): the BEGIN/END lines stay, the body becomes one marker; the
  Redaction's line is the BEGIN line;
- the password in ``scheme://user:password@host`` (user, scheme and host stay), the credential after
  ``Bearer``/``Basic``/``token`` in an ``Authorization`` value;
- values assigned to secret-looking names (``*_TOKEN``, ``*_SECRET``, ``api_key``, ``password``, ...) in
  code, YAML, JSON, .env, INI, TOML, shell and XML, when the value looks like a real secret: placeholders
  (``changeme``, ``<your-key>``, ``${VAR}``, ``os.environ[...]``, ``None``, empty), names without values,
  type annotations and identifiers are left alone; for a bare ``*_key`` name, hex digests and UUIDs are too.

Deliberate choices: AWS's documented example credentials (anything containing ``EXAMPLE``, such as
AKIAIOSFODNN7EXAMPLE) are not redacted — they are public and appear in docs and tests everywhere; high-entropy
strings with no name and no known shape are not redacted (too many false positives on hashes and data blobs);
a password needs a name that says so (``password: hunter2``), and an unquoted one must hold a digit or symbol;
Stripe test keys (``sk_test_``) are redacted like live ones. Lines are counted by ``\\n`` (CRLF files count the
same). Redaction is idempotent: existing markers and the known shapes found are masked before names are read.

Layout: _scan (the views, the rules in order, the markers), _triggers (where keywords and anchors occur),
_shapes (known shapes, key blocks), _names (name = value, URLs), _values (what a real value looks like).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

SCANNER_VERSION = "1"


@dataclass(frozen=True, slots=True)
class Redaction:
    line: int  # 1-based line in the original text where the secret starts (a key block: its BEGIN line)
    kind: str  # stable slug, e.g. "github-token", "private-key", "generic-secret"


# The scan, imported on first use (its rules compile regexes): a warm run needs only SCANNER_VERSION and
# Redaction from this package. Bound once, not imported in every call: a pack scans thousands of small files.
_scan: Callable[[str], tuple[str, list[Redaction]]] | None = None


def redact(text: str) -> tuple[str, list[Redaction]]:
    """Return ``text`` with each secret value replaced by ``[REDACTED:<kind>]``, and the redactions in order."""
    global _scan
    if _scan is None:
        from v4cli.context.secrets._scan import scan as _scan
    return _scan(text)
