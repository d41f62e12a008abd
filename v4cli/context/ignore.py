"""Ignore files with git's exact semantics, and v4's built-in ignore list.

Why not pathspec here: pathspec matches a whole path against patterns that also match every descendant of a
matching directory. Git never does that: it tests one path against one pattern, and a directory's contents
vanish only because git does not descend into an ignored directory. The two disagree as soon as several
ignore files are involved (a `!keep/` in a subdirectory would wrongly re-include `keep/x.log` that the root
`.gitignore` ignores with `*.log`). This module reproduces git's dir.c and wildmatch.c instead:

- lines split on LF (a trailing CR is dropped), a UTF-8 BOM skipped, `#` comments, trailing spaces trimmed unless
  escaped, `!` negates, a trailing `/` means "directories only";
- a pattern without an inner slash matches the basename at any depth; otherwise it matches the path relative to
  the ignore file's directory (a leading `/` only anchors);
- wildmatch with WM_PATHNAME: `*`, `?` and `[...]` never match `/`; `**` between slashes (or at either end) spans
  directories; a malformed bracket expression never matches; matching is on bytes, like git;
- git's literal-prefix shortcut is kept, quirk included (in `a/foo**/x`, `**` starts the wildcard part and so
  spans directories).

Precedence, as in git: the deepest ignore file that has a matching pattern decides, and within one file the last
matching pattern wins. Callers walk top-down and never descend into an ignored directory, which is what makes a
file under an ignored directory impossible to re-include.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Sequence
from dataclasses import dataclass

# Read ignore files of at most this size; a larger one is treated as absent (git stops at 100 MiB too).
MAX_IGNORE_FILE_BYTES = 100 * 1024 * 1024

DEFAULT_IGNORES = """\
# Version control metadata (`.git` itself is never collected, even without this list)
.hg/
.svn/
.bzr/
_darcs/
CVS/
.jj/
.sl/
# Dependencies and virtual environments
node_modules/
bower_components/
jspm_packages/
vendor/
.venv/
venv/
.tox/
.nox/
site-packages/
.eggs/
*.egg-info/
.bundle/
Pods/
# Build outputs
dist/
build/
target/
out/
_build/
.next/
.nuxt/
.svelte-kit/
.output/
.vercel/
.turbo/
.parcel-cache/
.angular/
.gradle/
.terraform/
bazel-*/
cmake-build-*/
# Caches and tool state
__pycache__/
*.py[cod]
.mypy_cache/
.pytest_cache/
.ruff_cache/
.hypothesis/
.ipynb_checkpoints/
.cache/
.sass-cache/
.eslintcache
.coverage
coverage/
htmlcov/
.nyc_output/
.idea/
.vscode/
.DS_Store
Thumbs.db
# Lock files
package-lock.json
npm-shrinkwrap.json
yarn.lock
pnpm-lock.yaml
bun.lockb
bun.lock
Cargo.lock
Gemfile.lock
composer.lock
poetry.lock
Pipfile.lock
pdm.lock
uv.lock
go.sum
flake.lock
mix.lock
pubspec.lock
Package.resolved
packages.lock.json
# Minified bundles and source maps
*.min.js
*.min.css
*.min.mjs
*.map
# Environment files and private keys (the templates stay)
.env
.env.*
!.env.example
!.env.sample
!.env.template
.envrc
*.pem
*.key
*.p12
*.pfx
id_rsa
id_dsa
id_ecdsa
id_ed25519
"""


@dataclass(frozen=True, slots=True)
class Rule:
    """One compiled pattern line of an ignore file."""

    pattern: str  # the line as written, for messages
    line: int
    negated: bool
    dir_only: bool
    basename_only: bool
    regex: re.Pattern[bytes]


@dataclass(frozen=True, slots=True)
class IgnoreFile:
    """The rules of one ignore file; `base` is its directory relative to the frame root (b"" or b"a/b/")."""

    origin: str  # "src/.gitignore", "the default ignore list", ...
    base: bytes
    rules: tuple[Rule, ...]
    # A quick test that most paths fail (they match nothing): literal basenames, `*suffix` basenames, and
    # one regex for the rest. Only a path that passes it goes through the rules one by one.
    names: frozenset[bytes]
    suffixes: tuple[bytes, ...]
    others: re.Pattern[bytes] | None  # fullmatched against "basename" + NUL + local path

    def last_match(self, relpath: bytes, basename: bytes, is_dir: bool) -> Rule | None:
        """The last rule of this file matching the path (relative to the frame root), as git's dir.c picks it."""
        if self.base:
            if not relpath.startswith(self.base):
                return None
            local = relpath[len(self.base) :]
        else:
            local = relpath
        if not (
            basename in self.names
            or basename.endswith(self.suffixes)
            or (self.others is not None and self.others.fullmatch(basename + b"\0" + local) is not None)
        ):
            return None
        for rule in reversed(self.rules):
            if rule.dir_only and not is_dir:
                continue
            if rule.regex.fullmatch(basename if rule.basename_only else local):
                return rule
        return None


def parse_ignore(data: bytes, origin: str, base: bytes = b"") -> IgnoreFile:
    """Compile the contents of a gitignore-syntax file (as bytes, as git reads it)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    rules: list[Rule] = []
    for number, line in enumerate(data.split(b"\n"), start=1):
        if line.endswith(b"\r"):
            line = line[:-1]
        if not line or line.startswith(b"#"):
            continue
        rules.append(_compile_line(_trim_trailing_spaces(line), number))
    names, suffixes, others = _prefilter(rules)
    return IgnoreFile(origin, base, tuple(rules), names, suffixes, others)


def default_ignore_file() -> IgnoreFile:
    """The built-in list as an ignore file that sits at the root of each collected tree."""
    return _DEFAULTS


def read_ignore_file(path: bytes, origin: str, base: bytes) -> IgnoreFile | None:
    """Read and compile an ignore file; None when absent, unreadable, a symlink (git refuses those) or huge."""
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_IGNORE_FILE_BYTES:
            return None
        data = os.read(fd, st.st_size + 1)  # an ignore file that grows meanwhile is read as it was
    except OSError:
        return None
    finally:
        os.close(fd)
    return parse_ignore(data, origin, base)


def first_decision(frames: Sequence[IgnoreFile], relpath: bytes, is_dir: bool) -> tuple[Rule, IgnoreFile] | None:
    """The deciding rule for a path: deepest file with a match first (frames are ordered shallow to deep)."""
    basename = relpath.rsplit(b"/", 1)[-1]
    for frame in reversed(frames):
        rule = frame.last_match(relpath, basename, is_dir)
        if rule is not None:
            return rule, frame
    return None


# --- pattern compilation (git dir.c parse_path_pattern + wildmatch.c) ---------------------------------------

_NEVER = re.compile(b"(?!)")
_SPECIAL = frozenset(b"*?[\\")


def _trim_trailing_spaces(line: bytes) -> bytes:
    last_space = None
    i = 0
    while i < len(line):
        c = line[i]
        if c == 0x20:
            if last_space is None:
                last_space = i
        elif c == 0x5C:  # backslash: the next byte is kept whatever it is
            i += 1
            if i >= len(line):
                return line
            last_space = None
        else:
            last_space = None
        i += 1
    return line if last_space is None else line[:last_space]


def _compile_line(line: bytes, number: int) -> Rule:
    text = line.decode("utf-8", "surrogateescape")
    negated = line.startswith(b"!")
    if negated:
        line = line[1:]
    dir_only = line.endswith(b"/")
    if dir_only:
        line = line[:-1]
    basename_only = b"/" not in line
    if not basename_only and line.startswith(b"/"):
        line = line[1:]
    source = _literal_prefix_regex(line) if not basename_only else _wild_to_regex(line)
    regex = _NEVER if source is None else re.compile(source, re.DOTALL)
    return Rule(text, number, negated, dir_only, basename_only, regex)


def _literal_prefix_regex(pattern: bytes) -> bytes | None:
    """match_pathname: a literal prefix compared as is, then wildmatch on the rest (a new pattern start)."""
    cut = next((i for i, c in enumerate(pattern) if c in _SPECIAL), len(pattern))
    rest = _wild_to_regex(pattern[cut:])
    return None if rest is None else re.escape(pattern[:cut]) + rest


def _wild_to_regex(pattern: bytes) -> bytes | None:
    """Translate a wildmatch pattern (WM_PATHNAME) to a regex source; None when it can never match."""
    out: list[bytes] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == 0x2A:  # '*'
            j = i
            while j < n and pattern[j] == 0x2A:
                j += 1
            double = j - i >= 2
            starts_segment = i == 0 or pattern[i - 1] == 0x2F
            next_slash = j < n and pattern[j] == 0x2F
            next_escaped_slash = j + 1 < n and pattern[j] == 0x5C and pattern[j + 1] == 0x2F
            if double and starts_segment and (j == n or next_slash or next_escaped_slash):
                if next_slash:
                    out.append(b"(?:.*/)?")  # zero or more whole directories
                    j += 1
                else:
                    out.append(b".*")
            else:
                out.append(b"[^/]*")
            i = j
        elif c == 0x3F:  # '?'
            out.append(b"[^/]")
            i += 1
        elif c == 0x5B:  # '['
            parsed = _bracket(pattern, i)
            if parsed is None:
                return None
            allowed, i = parsed
            out.append(_byte_class(allowed))
        elif c == 0x5C:  # backslash escapes the next byte; a trailing one never matches
            if i + 1 >= n:
                return None
            out.append(re.escape(pattern[i + 1 : i + 2]))
            i += 2
        else:
            out.append(re.escape(pattern[i : i + 1]))
            i += 1
    return b"".join(out)


_CLASSES: dict[bytes, frozenset[int]] = {}


def _ctype_classes() -> dict[bytes, frozenset[int]]:
    """git's sane_ctype (ASCII only; git's isspace is space, tab, LF and CR)."""
    if not _CLASSES:
        rng = range(128)
        alpha = {c for c in rng if chr(c).isalpha()}
        digit = set(range(0x30, 0x3A))
        lower = set(range(0x61, 0x7B))
        upper = set(range(0x41, 0x5B))
        graph = set(range(0x21, 0x7F))
        _CLASSES.update(
            {
                b"alnum": frozenset(alpha | digit),
                b"alpha": frozenset(alpha),
                b"blank": frozenset({0x20, 0x09}),
                b"cntrl": frozenset(set(range(0x20)) | {0x7F}),
                b"digit": frozenset(digit),
                b"graph": frozenset(graph),
                b"lower": frozenset(lower),
                b"print": frozenset(graph | {0x20}),
                b"punct": frozenset(graph - alpha - digit),
                b"space": frozenset({0x20, 0x09, 0x0A, 0x0D}),
                b"upper": frozenset(upper),
                b"xdigit": frozenset(digit | set(range(0x41, 0x47)) | set(range(0x61, 0x67))),
            }
        )
    return _CLASSES


def _bracket(pattern: bytes, start: int) -> tuple[set[int], int] | None:
    """Parse `[...]` at `start` the way wildmatch does; returns the matched byte set and the index after `]`."""
    n = len(pattern)
    p = start + 1
    if p >= n:
        return None
    negated = pattern[p] in (0x21, 0x5E)  # '!' or '^'
    if negated:
        p += 1
    matched: set[int] = set()
    prev = 0  # 0 means "no previous byte", as in wildmatch
    first = True
    while True:
        if p >= n:
            return None
        ch = pattern[p]
        if ch == 0x5D and not first:  # ']'
            break
        first = False
        if ch == 0x5C:
            p += 1
            if p >= n:
                return None
            ch = pattern[p]
            matched.add(ch)
        elif ch == 0x2D and prev and p + 1 < n and pattern[p + 1] != 0x5D:  # range
            p += 1
            hi = pattern[p]
            if hi == 0x5C:
                p += 1
                if p >= n:
                    return None
                hi = pattern[p]
            matched.update(range(prev, hi + 1))
            ch = 0
        elif ch == 0x5B and p + 1 < n and pattern[p + 1] == 0x3A:  # '[:class:]'
            s = p + 2
            q = s
            while q < n and pattern[q] != 0x5D:
                q += 1
            if q >= n:
                return None
            if q - s - 1 < 0 or pattern[q - 1] != 0x3A:
                matched.add(0x5B)  # no ":]": a literal '[' and go on after it
                prev = 0x5B
                p += 1
                continue
            members = _ctype_classes().get(pattern[s : q - 1])
            if members is None:
                return None
            matched.update(members)
            p = q
            ch = 0
        else:
            matched.add(ch)
        prev = ch
        p += 1
    allowed = set(range(256)) - matched if negated else matched
    allowed.discard(0x2F)
    return allowed, p + 1


def _byte_class(allowed: set[int]) -> bytes:
    """A regex class for a set of bytes, written as ranges."""
    if not allowed:
        return b"(?!)"
    parts = []
    values = sorted(allowed)
    start = prev = values[0]
    for c in values[1:] + [-1]:
        if c == prev + 1:
            prev = c
            continue
        parts.append(b"\\x%02x" % start if start == prev else b"\\x%02x-\\x%02x" % (start, prev))
        start = prev = c
    return b"[" + b"".join(parts) + b"]"


def _prefilter(rules: list[Rule]) -> tuple[frozenset[bytes], tuple[bytes, ...], re.Pattern[bytes] | None]:
    names: set[bytes] = set()
    suffixes: set[bytes] = set()
    others: list[bytes] = []
    for rule in rules:
        source = rule.regex.pattern
        if rule.regex is _NEVER:
            continue
        literal = _LITERAL.fullmatch(source)
        if rule.basename_only and literal:
            names.add(_unescape(source))
        elif rule.basename_only and source.startswith(b"[^/]*") and _LITERAL.fullmatch(source[5:]):
            suffixes.add(_unescape(source[5:]))
        elif rule.basename_only:
            others.append(b"(?:" + source + b")\\x00.*")
        else:
            others.append(b"[^\\x00]*\\x00(?:" + source + b")")
    union = re.compile(b"|".join(others), re.DOTALL) if others else None
    return frozenset(names), tuple(sorted(suffixes)), union


_LITERAL = re.compile(rb"(?:[^\\\[\](){}.*+?^$|]|\\.)*", re.DOTALL)  # re.escape output with no regex syntax


def _unescape(source: bytes) -> bytes:
    return re.sub(rb"\\(.)", rb"\1", source, flags=re.DOTALL)


_DEFAULTS = parse_ignore(DEFAULT_IGNORES.encode(), "the default ignore list")
