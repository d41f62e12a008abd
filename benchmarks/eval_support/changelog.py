"""A release's notes from the changelog its own sdist ships, as plain text fit to be a question.

Where to look: Django keeps one file per release (docs/releases/X.Y.Z.txt); the others keep one file with a
heading per version (Pallets' CHANGES.rst, httpx's CHANGELOG.md, requests' HISTORY.md, pytest's
doc/en/changelog.rst). The section runs from the version's heading to the next heading that names a version.
Subsections about documentation, packaging or contributors are dropped: their changes are not source files.

Cleaning keeps what a reader of the rendered notes sees and drops what only links elsewhere: issue, PR,
ticket and advisory references (:issue:`123`, (#123), `#123 <url>`_), dates, headings and directives;
Sphinx roles render as their text (:class:`~a.b.C` -> C, as Sphinx shows it), ``code`` as code.
"""

from __future__ import annotations

import re
from pathlib import Path

CANDIDATES = ("CHANGES.rst", "CHANGES.md", "CHANGELOG.md", "CHANGELOG.rst", "CHANGELOG", "HISTORY.md", "HISTORY.rst",
              "NEWS.rst", "NEWS.md", "doc/en/changelog.rst", "docs/changelog.rst", "docs/changes.rst")

_UNDERLINE = re.compile(r"^\s*([-=~^*#+`'\"])\1{2,}\s*$")
_VERSIONISH = re.compile(r"\d+\.\d+")
_NOISE_SECTION = re.compile(r"doc|contributor|packaging|trivial|internal", re.IGNORECASE)
_REFERENCE_ROLES = re.compile(r":(?:issue|pr|ghsa|ticket|cve|user|commit|gh|bpo|pull)s?:`?[^`\s]*`")
_ROLE = re.compile(r":[\w:.-]+:`([^`]*)`")
_RST_LINK = re.compile(r"`([^`<]*?)\s*<[^>]*>`__?")
_MD_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_ISSUE_NUMBER = re.compile(r"(?:\bgh-|#)\d+\b")
_REF = "\x00"  # where a reference was removed, so that only the parentheses it leaves empty go too
_EMPTY_PARENS = re.compile(r"\(\s*\x00[\s\x00,;]*\)")
_GENERIC_HEADING = re.compile(r"^(?:bug ?fixes|fixed|added|changed|security|improvements|features|"
                              r"deprecations|removed|other changes|breaking changes)$", re.IGNORECASE)
_DATE_LINE = re.compile(r"^\s*(?:released\b.*|unreleased|\*?[A-Z][a-z]+ \d{1,2}, \d{4}\*?)\s*$", re.IGNORECASE)


def release_notes(tree: Path, version: str) -> tuple[str, str] | None:
    """(cleaned notes, the changelog's path in the tree) for `version`, or None when the sdist has none."""
    per_release = tree / "docs" / "releases" / f"{version}.txt"
    if per_release.is_file():
        return clean(per_release.read_text(encoding="utf-8", errors="replace").splitlines()), str(
            per_release.relative_to(tree))
    for name in CANDIDATES:
        path = tree / name
        if path.is_file():
            section = version_section(path.read_text(encoding="utf-8", errors="replace"), version)
            if section is not None:
                return clean(section), name
    return None


def _headings(lines: list[str]) -> dict[int, str]:
    """Line index -> heading text, for underlined (reST) and '#' (Markdown) headings."""
    found = {}
    for i, line in enumerate(lines):
        text = line.strip()
        if not text or _UNDERLINE.match(line):
            continue
        if text.startswith("#") and not _ISSUE_NUMBER.match(text):
            found[i] = text.lstrip("#").strip()
        elif i + 1 < len(lines) and _UNDERLINE.match(lines[i + 1]) and len(lines[i + 1].strip()) >= len(text) - 2:
            found[i] = text
        elif text.startswith("**") and text.endswith("**"):  # requests' bold subsection titles
            found[i] = text.strip("*")
    return found


def version_section(text: str, version: str) -> list[str] | None:
    """The lines under the heading naming `version`, up to the next heading naming any version."""
    lines = text.splitlines()
    headings = _headings(lines)
    exact = re.compile(rf"(?<![\w.])v?{re.escape(version)}(?![\w]|\.\d)")
    start = next((i for i, h in headings.items() if exact.search(h)), None)
    if start is None:
        return None
    body, skipping = [], False
    for i in range(start + 1, len(lines)):
        if i in headings:
            if _VERSIONISH.search(headings[i]):
                break
            skipping = bool(_NOISE_SECTION.search(headings[i]))
            continue
        if not skipping:
            body.append(lines[i])
    return body


def clean(lines: list[str]) -> str:
    """Plain text of release-note lines: references, dates, headings and markup removed; bullets kept."""
    headings = _headings(lines)
    out: list[str] = []
    skipping = False
    for i, line in enumerate(lines):
        if i in headings:
            skipping = bool(_NOISE_SECTION.search(headings[i]))
            if not skipping and not _GENERIC_HEADING.match(headings[i]) and not _VERSIONISH.search(headings[i]):
                out.append(_plain(headings[i]))  # a titled note (Django's CVE titles) says what changed
            continue
        stripped = line.strip()
        if skipping or _UNDERLINE.match(line) or _DATE_LINE.match(stripped) or stripped.startswith(".. "):
            continue
        out.append(_plain(line))
    text = "\n".join(out)
    text = re.sub(r"\n\s*([.,;])(?=\n|$)", r"\1", text)  # punctuation left alone after a reference on its own line
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _plain(line: str) -> str:
    line = _REFERENCE_ROLES.sub(_REF, line)
    line = _RST_LINK.sub(lambda m: _REF if _ISSUE_NUMBER.fullmatch(m.group(1).strip()) else m.group(1), line)
    line = _ROLE.sub(lambda m: _role_text(m.group(1)), line)
    line = _MD_LINK.sub(lambda m: _REF if _ISSUE_NUMBER.fullmatch(m.group(1).strip()) else m.group(1), line)
    line = line.replace("``", "").replace("`", "").replace("\\[", "[").replace("\\]", "]")
    line = _ISSUE_NUMBER.sub(_REF, line)
    line = _EMPTY_PARENS.sub(_REF, line)
    line = re.sub(r"^(\s*[-*]?\s*)\x00\s*:\s*", r"\1", line)  # pytest: "- `#123 <url>`_: Fixed ..."
    line = re.sub(r"--\s*by\s*\x00?\s*\.?\s*$", "", line)
    line = re.sub(r"\s*\bThanks\b[^.]*\.", "", line)  # credits name people, not code
    line = re.sub(r"\s*\x00\s*(?=[.,;:]|$)", "", line).replace(_REF, " ")
    line = re.sub(r"\.(\s+\.)+", ".", line)
    return re.sub(r"[ \t]+", " ", line).rstrip()


def _role_text(content: str) -> str:
    """How Sphinx renders a role's content: `text <target>` -> text, `~a.b.C` -> C, `!x` -> x."""
    m = re.match(r"(.*?)\s*<[^>]*>$", content)
    if m and m.group(1):
        return m.group(1)
    content = content.lstrip("!")
    content = content.removeprefix(".")  # Sphinx's ".name" means "search for name": shown as name
    if content.startswith("~"):
        return content[1:].rsplit(".", 1)[-1]
    return content
