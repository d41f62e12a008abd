"""Which changed paths count as "source" for a gold set: code, not tests, docs, changelogs or packaging.

The issue asks for the source files a change touched. A question about behaviour is answered by code;
tests, prose and packaging metadata change alongside it but are not what a selector should be scored on.
Templates and stylesheets count as source (a Django admin bug can live in a .html or .css file).
"""

from __future__ import annotations

from pathlib import PurePosixPath

from v4cli.context.languages import language_for

_PROSE_OR_DATA = {
    "text", "markdown", "rst", "asciidoc", "org", "latex", "bibtex", "json", "yaml", "toml", "ini",
    "properties", "dotenv", "csv", "tsv", "diff", "log", "gitignore", "gitattributes", "xml",
}
_TEST_DIRS = {"test", "tests", "testing", "__tests__", "spec", "specs", "testsuite"}
_DOC_DIRS = {"doc", "docs", "documentation", "changelog", "changes", "examples", "example", ".github", ".ci",
             "artwork", "extras"}
_PACKAGING = {"setup.py", "setup.cfg", "pyproject.toml", "pkg-info", "manifest.in", "tox.ini", "noxfile.py",
              "conftest.py", "package.json", "makefile", "__version__.py", "_version.py"}
_LOCKFILE_SUFFIXES = (".lock", "-lock.json", "-lock.yaml", ".lockb")


def is_source(path: str) -> bool:
    """True for a code file outside test, doc and example trees; False for tests, prose, data and packaging."""
    p = PurePosixPath(path)
    name = p.name.lower()
    dirs = {part.lower() for part in p.parts[:-1]}
    if dirs & (_TEST_DIRS | _DOC_DIRS) or any(d.endswith(".egg-info") for d in dirs):
        return False
    if name.startswith("test_") or name.endswith(("_test.py", "_tests.py", ".test.js", ".spec.js", ".test.ts",
                                                 ".spec.ts")):
        return False
    if name in _PACKAGING or name.endswith(_LOCKFILE_SUFFIXES):
        return False
    language = language_for(p.name, "")
    return language not in _PROSE_OR_DATA
