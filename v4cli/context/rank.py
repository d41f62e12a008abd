"""Scores per file for selection under a budget: lexical match to the question, structure, and cues.

Method "v4" (the default) combines three signals, each scaled to [0, 1] within the repository so that the mix
behaves the same on 50 files and on 50,000:
  - lexical: BM25 (k1=1.2, b=0.75) of the question's terms over each file's path, text and defined names.
    Words are split on snake_case, camelCase and digits, lower-cased, and the whole word is kept as a term too
    (`parseHTTPResponse2` -> parse, http, response, 2, parsehttpresponse2). Path words count PATH_WEIGHT times
    and defined names DEFINITION_WEIGHT times extra (a file that defines a concept beats one that mentions it).
    Only the first TEXT_CAP characters of a file are counted: BM25 saturates term frequency anyway, and a
    megabyte of generated data must not dominate the cost. Common English words of the question are ignored.
    Scaled by the best file's score. What does not depend on the question (each file's term frequencies and
    length, `Terms`) is computed once per file content and cached with the index, so a question costs a few
    string searches per file.
  - structure: PageRank over the definition-reference graph (file A uses a name that file B defines: edge A->B).
    Like aider's repo map, a name's edges are weighted down when many files define it (split among them, and
    x0.1 past 5 definers), when it is private (`_name`) or short, and up when it is a long compound identifier.
    A name that spells a directory of the repository (`django`, `utils`) is what import statements reference:
    its edges to a definition outside a module or package of that name weigh PACKAGE_NAME_FACTOR (without this,
    a `django` property somewhere in Django collects an edge from every importing file and tops the ranking).
    Question-independent importance uses the plain walk; with a question, the walk restarts at the files that
    match it (BM25 hits, squared to favour strong ones, changelogs excepted; files whose path or name the
    question mentions; files that define an identifier the question names, whose edges are also boosted), and
    edges are also followed backwards at REVERSE_WEIGHT, because the callers of a matched definition are related
    to the question too.
    Scaled as sqrt(pr / max pr): PageRank is heavy-tailed and the square root keeps the middle distinguishable.
  - cues: a README at the root, entry points and manifests raise a file; the "generated" flag, tests and
    examples lower it. At question time tests, examples, prose docs and changelogs are lowered further unless
    the question is about them: a question about behaviour is answered by the code, which they describe or
    exercise with the same words (a changelog matches every question's words and says only what changed).
An identifier counts as named by the question only when it is written as code: in backticks, called
(`open()`), dotted (`Request.host`), or shaped like an identifier (snake_case, camelCase, an acronym, letters
with digits). A plain word like "list" or "values" is English first; as a mention it would boost every file
that happens to define it.
stable = structure (plain walk) + cues: what the question-independent prefix is ordered by.
total = lexical + structure (personalised) + a little of stable + mention bonuses, with a question; = stable without.
Method "bm25" is the baseline of the evaluation: the same BM25, nothing else (total = lexical, stable = 0).

Everything is deterministic: files are processed in path order whatever the input order, and equal scores are
left to the caller to break by path.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from v4cli.context.syntax import FileSymbols

METHODS = ("v4", "bm25")

TERMS_VERSION = "1"  # bump when term_stats changes what it counts: the index caches its result per file
TEXT_CAP = 256 * 1024  # characters of each file counted for BM25
PATH_WEIGHT = 3  # a path word counts as this many occurrences
DEFINITION_WEIGHT = 2  # a defined name counts this many extra occurrences
BM25_K1, BM25_B = 1.2, 0.75

DAMPING = 0.85
TOLERANCE = 1e-6
MAX_ITERATIONS = 100
REVERSE_WEIGHT = 0.5  # personalised walk only: references followed backwards, at this weight
MENTION_BOOST = 10.0  # edges through a name the question mentions
MAX_DEFINERS = 25  # names defined in more files carry no edges (see _Graph)
PACKAGE_NAME_FACTOR = 0.1  # a name that spells a directory of the repository, defined outside it (see _Graph)
TELEPORT_FLOOR = 0.1  # share of the personalised restart spread uniformly, so every file stays reachable

# the question-time mix; every component is in [0, 1]
LEXICAL_WEIGHT = 1.0
STRUCTURE_WEIGHT = 0.6
STABLE_WEIGHT = 0.2
PATH_MATCH_BONUS = 1.0
DEFINES_BONUS = 0.3
TEST_PENALTY = 0.15  # at question time, on top of the stable one, unless the question is about tests
EXAMPLE_PENALTY = 0.15  # likewise for examples, unless the question is about examples
PROSE_PENALTY = 0.15  # likewise for prose (docs), unless the question is about documentation
CHANGELOG_PENALTY = 0.5  # a changelog matches every question's words: it says what changed, not how

# the question-independent mix
STABLE_STRUCTURE_WEIGHT = 1.0
CUE_VALUES = {"readme": 1.0, "entry-point": 0.4, "manifest": 0.3, "test": -0.3, "generated": -1.0,
              "example": -0.3, "changelog": -0.3}

_WORD = re.compile(r"\w+")
_PART = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
_PATH_MENTION = re.compile(r"[\w.\-/]*[\w\-]\.\w+|[\w.\-]+/[\w.\-/]+")
_TEST_PATH = re.compile(
    r"(^|/)(tests?|specs?|__tests__|testing)/|(^|/)test_[^/]*$|_test\.\w+$|\.(test|spec)\.\w+$|Tests?\.\w+$"
)
_TEST_WORDS = frozenset({"test", "tests", "testing", "spec", "specs", "pytest", "unittest", "fixture", "fixtures"})
_EXAMPLE_PATH = re.compile(r"(^|/)(examples?|demos?|samples?)/")
_EXAMPLE_WORDS = frozenset({"example", "examples", "demo", "demos", "sample", "samples"})
_PROSE_LANGUAGES = frozenset({"markdown", "rst", "asciidoc", "org", "text", "latex"})
_DOC_WORDS = frozenset({"doc", "docs", "documentation", "documented", "readme", "changelog", "docstring", "manual",
                        "guide", "tutorial"})
_CHANGELOG_STEMS = frozenset({"changes", "changelog", "history", "news", "releases", "release-notes", "whatsnew"})
_RELEASE_NOTES_DIR = re.compile(r"(^|/)(releases|release-notes|changelog|changes|whatsnew|news)/")
_IDENTIFIER_LIKE = re.compile(r"_|[a-z][A-Z]|[A-Z]{2}|[A-Za-z]\d|\d[A-Za-z]")
_CODE_SPAN = re.compile(r"`([^`\n]+)`|(\w+)(?=\()|(\w+(?:\.\w+)+)")
_ENTRY_STEMS = frozenset({"main", "cli", "__main__"})
_ENTRY_INDEX = frozenset({"index.js", "index.ts", "index.tsx", "index.jsx", "index.mjs", "index.cjs"})
_MANIFESTS = frozenset({
    "setup.py", "setup.cfg", "pyproject.toml", "package.json", "cargo.toml", "go.mod", "pom.xml", "build.gradle",
    "build.gradle.kts", "gemfile", "composer.json", "cmakelists.txt", "makefile",
})
_DOCS_INDEX = frozenset({"docs/readme.md", "docs/index.md", "docs/index.rst", "doc/readme.md", "doc/index.md"})
_STOPWORD_TEXT = """
a about above after again against all also am an and any are as at be because been before being below between both
but by can could did do does doing done down during each either else etc even ever every few for from further get
got had has have having he her here hers how i if in into is it its itself just let like may me might more most
must my need needs no nor not now of off on once only or other our out over own please same shall she should so
some such than that the their them then there these they this those through to too under until up upon us use
used uses using very via was we were what when where which while who whom why will with within without would yet
you your
"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())


@dataclass(frozen=True, slots=True)
class Candidate:
    path: str  # repo-relative, '/'-separated
    text: str  # the text as packed (secrets already redacted)
    tokens: int
    symbols: FileSymbols | None  # None, or parsed=False, for text without a grammar
    flags: tuple[str, ...]  # e.g. "generated"
    terms: Terms | None = None  # term_stats(text, symbols), when the caller has it cached; computed otherwise


@dataclass(frozen=True, slots=True)
class Terms:
    """The question-independent part of a file's BM25 statistics: its text's (capped) words and its defined names.

    `table` lists every term the file holds with its frequency, grouped by frequency as lines
    "{count}: term term ... " (each term between spaces), so one question term costs one C-level `str.find`
    and nothing is parsed when the entry is read back from the cache. The path is not included: the same content
    may live at several paths, and the cache key is the content.
    """

    length: int  # words counted (definitions at their weight): the document length of BM25
    table: str

    def count(self, term: str) -> int:
        at = self.table.find(f" {term} ")
        if at < 0:
            return 0
        start = self.table.rfind("\n", 0, at) + 1
        return int(self.table[start:self.table.index(":", start)])


@dataclass(frozen=True, slots=True)
class Score:
    total: float  # what the fill orders by (question-aware when there is a question)
    stable: float  # question-independent importance (structure + cues); what the stable prefix orders by
    lexical: float  # BM25 of the question scaled to [0, 1] by the best file; 0.0 without a question
    structure: float  # PageRank as sqrt(pr / max pr), personalised toward the question's files when there is one
    cues: tuple[str, ...]  # human-readable reasons: "readme", "entry-point", "defines:retry_policy", "path-match"


def rank(candidates: Sequence[Candidate], question: str | None, *, method: str = "v4") -> list[Score]:
    """One score per candidate, in the candidates' order."""
    import numpy as np

    if method not in METHODS:
        raise ValueError(f"unknown ranking method {method!r}; choose one of {', '.join(METHODS)}")
    if not candidates:
        return []
    order = sorted(range(len(candidates)), key=lambda i: candidates[i].path)
    files = [candidates[i] for i in order]
    question = (question or "").strip() or None
    terms = query_terms(question) if question else ()
    lexical = _scaled(bm25(files, terms)) if terms else np.zeros(len(files))
    if method == "bm25":
        scores = [Score(float(x), 0.0, float(x), 0.0, ()) for x in lexical]
    else:
        scores = _combine(files, question, lexical)
    by_index = dict(zip(order, scores))
    return [by_index[i] for i in range(len(candidates))]


def split_identifier(word: str) -> tuple[str, ...]:
    """Lower-cased parts of an identifier plus the whole (`retryPolicy_v2` -> retry, policy, v, 2, retrypolicy_v2)."""
    whole = word.lower()
    if not word.isascii():
        return (whole,)
    parts = [part.lower() for piece in word.split("_") for part in _PART.findall(piece)]
    return tuple(dict.fromkeys([*parts, whole]))


def query_terms(question: str) -> tuple[str, ...]:
    """The question's distinct BM25 terms, in first-seen order, without common English words."""
    terms: dict[str, None] = {}
    for word in _WORD.findall(question):
        for term in split_identifier(word):
            if term not in _STOPWORDS and (len(term) > 1 or term.isdigit()):
                terms[term] = None
    return tuple(terms)


def bm25(files: Sequence[Candidate], terms: Sequence[str]):
    """Raw BM25 of each file for `terms` (numpy array).

    A term's frequency in a file is the number of words of its text, path and defined names that the term is a
    part of (as split_identifier splits them). The text and names come from each file's `Terms`, cached with the
    index, so a question costs a few string searches per file; only the path words are split here.
    """
    import numpy as np

    n = len(files)
    if not terms:
        return np.zeros(n)
    column = {term: j for j, term in enumerate(terms)}
    frequencies = []
    lengths = []
    for candidate in files:
        stats = candidate.terms or term_stats(candidate.text, candidate.symbols)
        found = [stats.count(term) for term in terms]
        path_words = _WORD.findall(candidate.path)
        for word in path_words:
            for part in _parts(word):
                j = column.get(part)
                if j is not None:
                    found[j] += PATH_WEIGHT
        frequencies.append(found)
        lengths.append(stats.length + PATH_WEIGHT * len(path_words))
    frequencies, lengths = np.array(frequencies, dtype=np.float64), np.array(lengths, dtype=np.float64)
    present = (frequencies > 0).sum(axis=0)
    idf = np.log1p((n - present + 0.5) / (present + 0.5))
    norm = BM25_K1 * (1 - BM25_B + BM25_B * lengths / max(lengths.mean(), 1.0))
    saturated = frequencies * (BM25_K1 + 1) / (frequencies + norm[:, None])
    return saturated @ idf


def term_stats(text: str, symbols: FileSymbols | None) -> Terms:
    """The BM25 statistics of a file's (capped) text and defined names; question-independent, so cacheable."""
    counts = Counter(_WORD.findall(text, 0, TEXT_CAP))
    if symbols is not None:
        for definition in symbols.definitions:
            counts[definition.name] += DEFINITION_WEIGHT
    table: dict[str, int] = {}
    for word, count in counts.items():
        if word.isalpha() and word.islower():  # most words: their only part is themselves
            table[word] = table.get(word, 0) + count
            continue
        for part in _parts(word):
            table[part] = table.get(part, 0) + count
    by_count: dict[int, list[str]] = {}
    for term, count in table.items():
        by_count.setdefault(count, []).append(term)
    lines = (f"{count}: {' '.join(by_count[count])} " for count in sorted(by_count))
    return Terms(sum(counts.values()), "\n".join(lines))


@lru_cache(maxsize=1 << 16)
def _parts(word: str) -> tuple[str, ...]:
    """split_identifier, remembered: the same identifiers recur across the files of a repository."""
    return split_identifier(word)


def _scaled(values):
    top = float(values.max()) if len(values) else 0.0
    return values / top if top > 0 else values * 0.0


def _combine(files: Sequence[Candidate], question: str | None, lexical) -> list[Score]:
    import numpy as np

    n = len(files)
    cues = [_cues(f) for f in files]
    graph = _Graph.build(files)
    plain = _scaled(np.sqrt(pagerank(n, graph.edges(), np.full(n, 1.0 / n))))
    stable = np.array([STABLE_STRUCTURE_WEIGHT * plain[i] + sum(CUE_VALUES.get(c, 0.0) for c in cues[i])
                       for i in range(n)])
    if question is None:
        return [Score(float(stable[i]), float(stable[i]), 0.0, float(plain[i]), cues[i]) for i in range(n)]

    mentioned_paths = _mentioned_paths(files, question)
    names = mentioned_identifiers(question)
    defines = [sorted({d.name for d in f.symbols.definitions if d.name in names}) if f.symbols and names else []
               for f in files]
    matches = lexical ** 2 + np.array([(i in mentioned_paths) + 0.5 * bool(defines[i]) for i in range(n)])
    matches[[i for i in range(n) if "changelog" in cues[i]]] = 0.0  # it names every change: no sign of where code is
    restart = np.full(n, 1.0 / n)
    if matches.sum() > 0:
        restart = TELEPORT_FLOOR * restart + (1 - TELEPORT_FLOOR) * matches / matches.sum()
    structure = _scaled(np.sqrt(pagerank(n, graph.edges(boost=names, reverse=REVERSE_WEIGHT), restart)))

    words = {w.lower() for w in _WORD.findall(question)}
    about_tests, about_examples, about_docs = (bool(words & topic)
                                               for topic in (_TEST_WORDS, _EXAMPLE_WORDS, _DOC_WORDS))
    scores = []
    for i in range(n):
        reasons = list(cues[i])
        bonus = 0.0
        if i in mentioned_paths:
            reasons.append("path-match")
            bonus += PATH_MATCH_BONUS
        if defines[i]:
            reasons.extend(f"defines:{name}" for name in defines[i])
            bonus += DEFINES_BONUS
        if "test" in cues[i]:
            bonus += -CUE_VALUES["test"] * STABLE_WEIGHT if about_tests else -TEST_PENALTY
        if "example" in cues[i]:
            bonus += -CUE_VALUES["example"] * STABLE_WEIGHT if about_examples else -EXAMPLE_PENALTY
        if "changelog" in cues[i] and not about_docs:
            bonus -= CHANGELOG_PENALTY
        elif "docs" in cues[i] and not about_docs:
            bonus -= PROSE_PENALTY
        total = (LEXICAL_WEIGHT * lexical[i] + STRUCTURE_WEIGHT * structure[i] + STABLE_WEIGHT * stable[i] + bonus)
        scores.append(Score(float(total), float(stable[i]), float(lexical[i]), float(structure[i]), tuple(reasons)))
    return scores


def _cues(candidate: Candidate) -> tuple[str, ...]:
    path = candidate.path
    name = path.rsplit("/", 1)[-1]
    lowered = name.lower()
    found = []
    if ("/" not in path and lowered.startswith("readme")) or path.lower() in _DOCS_INDEX:
        found.append("readme")
    stem = lowered.rsplit(".", 1)[0]
    if stem in _ENTRY_STEMS or lowered in _ENTRY_INDEX:
        found.append("entry-point")
    if lowered in _MANIFESTS:
        found.append("manifest")
    if _TEST_PATH.search(path):
        found.append("test")
    elif _EXAMPLE_PATH.search(path):
        found.append("example")
    language = candidate.symbols.language if candidate.symbols is not None else None
    prose = language in _PROSE_LANGUAGES if language else lowered.endswith((".md", ".rst", ".txt", ".adoc"))
    if prose and (stem in _CHANGELOG_STEMS or _RELEASE_NOTES_DIR.search(path)):  # not a history.py module
        found.append("changelog")
    elif prose and "readme" not in found:
        found.append("docs")
    if "generated" in candidate.flags:
        found.append("generated")
    return tuple(found)


def mentioned_identifiers(question: str) -> set[str]:
    """The names the question spells as code: in backticks, called, dotted, or shaped like an identifier
    (snake_case, camelCase, an acronym, letters with digits). A plain word like `list` or `values` is English
    first: as a mention it would boost every file that happens to define it."""
    spans = {m.group(0).strip("`") for m in _CODE_SPAN.finditer(question)}
    found = {w for span in spans for w in _WORD.findall(span)}
    found |= {w for w in _WORD.findall(question) if _IDENTIFIER_LIKE.search(w)}
    return {w for w in found if len(w) > 2 and w.lower() not in _STOPWORDS}


def _mentioned_paths(files: Sequence[Candidate], question: str) -> set[int]:
    """Files whose path, or path suffix starting at a '/', or file name the question spells out."""
    mentions = {m.strip("./").lower() for m in _PATH_MENTION.findall(question)} - {""}
    if not mentions:
        return set()
    found = set()
    for i, f in enumerate(files):
        path = f.path.lower()
        if any(path == m or path.endswith("/" + m) for m in mentions):
            found.add(i)
    return found


@dataclass
class _Graph:
    """The definition-reference graph as an edge list: one edge per (user, definer, name) with the name's weight.

    Names defined in more than MAX_DEFINERS files are left out: their weight would be negligible anyway, and a
    name like `get` or `name` defined in hundreds of classes would otherwise add users x definers edges.
    """

    sources: object  # numpy int64 arrays, and the weights as float64
    targets: object
    weights: object
    names: list[str]
    name_of_edge: object

    @classmethod
    def build(cls, files: Sequence[Candidate]) -> _Graph:
        import numpy as np

        parsed = [i for i, f in enumerate(files) if f.symbols is not None and f.symbols.parsed]
        definers: dict[str, list[int]] = {}
        for i in parsed:
            for name in dict.fromkeys(d.name for d in files[i].symbols.definitions):
                definers.setdefault(name, []).append(i)
        users: dict[str, list[int]] = {}
        for i in parsed:
            for name in definers.keys() & set(files[i].symbols.references):
                users.setdefault(name, []).append(i)
        names = sorted(name for name in users if len(definers[name]) <= MAX_DEFINERS)
        directories = {part for f in files for part in f.path.split("/")[:-1]}
        sources: list[int] = []
        targets: list[int] = []
        weights: list[float] = []
        name_of_edge: list[int] = []
        for index, name in enumerate(names):
            defined_in, used_in = definers[name], users[name]
            weight = name_weight(name, len(defined_in))
            for definer in defined_in:
                sources.extend(used_in)
                targets.extend([definer] * len(used_in))
                spells_other_package = name in directories and name not in _module_names(files[definer].path)
                weights.extend([weight * PACKAGE_NAME_FACTOR if spells_other_package else weight] * len(used_in))
            name_of_edge.extend([index] * (len(defined_in) * len(used_in)))
        src, dst = np.array(sources, dtype=np.int64), np.array(targets, dtype=np.int64)
        keep = src != dst
        return cls(src[keep], dst[keep], np.array(weights, dtype=np.float64)[keep], names,
                   np.array(name_of_edge, dtype=np.int64)[keep])

    def edges(self, boost: set[str] = frozenset(), reverse: float = 0.0):
        """(sources, targets, weights); edges through a name in `boost` weigh MENTION_BOOST times more, and
        with `reverse` every edge is also followed backwards at that fraction of its weight."""
        import numpy as np

        src, dst, w = self.sources, self.targets, self.weights
        boosted = [i for i, name in enumerate(self.names) if name in boost]
        if boosted:
            w = np.where(np.isin(self.name_of_edge, boosted), w * MENTION_BOOST, w)
        if reverse > 0:
            src, dst, w = np.concatenate([src, dst]), np.concatenate([dst, src]), np.concatenate([w, w * reverse])
        return src, dst, w


def _module_names(path: str) -> tuple[str, str]:
    """The names an import of this file may spell: its stem and its directory (`a/retry/policy.py` -> policy, retry)."""
    parts = path.split("/")
    return parts[-1].split(".", 1)[0], parts[-2] if len(parts) > 1 else ""


def name_weight(name: str, definers: int) -> float:
    """How much one use of `name` says about its definers: shared among them, less for generic names."""
    weight = 1.0 / definers
    if definers > 5:
        weight *= 0.1
    if name.startswith("_"):
        weight *= 0.1
    if len(name) <= 2:
        weight *= 0.1
    elif len(name) >= 8 and len(_parts(name)) > 2:  # a compound like retry_policy or parseHeader
        weight *= 3.0
    return weight


def pagerank(n: int, edges, restart):
    """Personalised PageRank by power iteration: dangling mass returns through `restart` (which sums to 1)."""
    import numpy as np

    src, dst, w = edges
    out = np.bincount(src, weights=w, minlength=n)
    share = w / out[src] if len(w) else w
    dangling = out == 0
    rank = restart.copy()
    for _ in range(MAX_ITERATIONS):
        flowed = np.bincount(dst, weights=share * rank[src], minlength=n)
        following = DAMPING * flowed + (DAMPING * rank[dangling].sum() + 1 - DAMPING) * restart
        delta = np.abs(following - rank).sum()
        rank = following
        if delta < TOLERANCE:
            break
    return rank
