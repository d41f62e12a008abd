"""The tokenizer metadata of a GGUF: gpt2-style BPE vocabulary, merges, special tokens and chat template.

Reads tokenizer.json / tokenizer_config.json / config.json the way llama.cpp's converter interprets them
(token types, special ids, add_bos/add_eos flags) without transformers. The pre-tokenizer name is found
the way llama.cpp finds it: hashing the ids of a fixed probe text, here encoded with HF `tokenizers`.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from gguf import GGUFValueType, TokenType

from quant.errors import BadCheckpoint, UnsupportedModel
from quant.gguf_out import KV

TEMPLATES = Path(__file__).parent / "templates"

# llama.cpp's probe text for identifying a BPE pre-tokenizer (convert_hf_to_gguf_update.py)
PROBE_TEXT = (
    "\n \n\n \n\n\n \t \t\t \t\n  \n   \n    \n     \n🚀 (normal) 😶\u200d🌫️ (multiple emojis concatenated) ✅ 🦙🦙 "
    "3 33 333 3333 33333 333333 3333333 33333333 3.3 3..3 3...3 កាន់តែពិសេសអាច😁 ?我想在apple工作1314151天～ "
    "------======= нещо на Български ''''''```````\"\"\"\"......!!!!!!?????? I've been 'told he's there, "
    "'RE you sure? 'M not sure I'll make it, 'D you like some tea? We'Ve a'lL"
)
# sha256 of the probe ids -> llama.cpp's pre-tokenizer name (only the DeepSeek V4 family's so far)
KNOWN_PRE_TOKENIZERS = {
    "b4b8ca1f9769494fbd956ebc4c249de6131fb277a4a3345a7a92c7dd7a55808d": "joyai-llm",
}
SPECIAL_TYPES = ("bos", "eos", "unk", "sep", "pad", "cls", "mask")
GGUF_SPECIAL_KEYS = {"bos": "bos_token_id", "eos": "eos_token_id", "unk": "unknown_token_id",
                     "sep": "seperator_token_id", "pad": "padding_token_id", "cls": "cls_token_id",
                     "mask": "mask_token_id"}


def tokenizer_kv(directory: Path, config: dict, template_name: str) -> list[KV]:
    """Metadata entries for the tokenizer of the checkpoint in `directory`."""
    data = _load(directory / "tokenizer.json")
    tok_config = _load(directory / "tokenizer_config.json") if (directory / "tokenizer_config.json").is_file() else {}
    model = data.get("model") or {}
    if model.get("type") != "BPE" or not isinstance(model.get("vocab"), dict):
        raise UnsupportedModel("tokenizer.json does not hold a BPE model", hint="only gpt2-style BPE tokenizers are supported")
    tokens, types = _tokens(model["vocab"], data.get("added_tokens") or [], int(config.get("vocab_size") or 0))
    kv = [
        KV("tokenizer.ggml.model", GGUFValueType.STRING, "gpt2"),
        KV("tokenizer.ggml.pre", GGUFValueType.STRING, pre_tokenizer_name(directory / "tokenizer.json")),
        KV("tokenizer.ggml.tokens", GGUFValueType.ARRAY, tokens, GGUFValueType.STRING),
        KV("tokenizer.ggml.token_type", GGUFValueType.ARRAY, types, GGUFValueType.INT32),
        KV("tokenizer.ggml.merges", GGUFValueType.ARRAY, _merges(model.get("merges") or []), GGUFValueType.STRING),
    ]
    for kind, token_id in _special_ids(data, tok_config, config, len(tokens)).items():
        kv.append(KV(f"tokenizer.ggml.{GGUF_SPECIAL_KEYS[kind]}", GGUFValueType.UINT32, token_id))
    for kind, flag in _add_flags(data, tok_config).items():
        kv.append(KV(f"tokenizer.ggml.add_{kind}_token", GGUFValueType.BOOL, flag))
    template = tok_config.get("chat_template")
    if not isinstance(template, str):
        template = (TEMPLATES / template_name).read_text(encoding="utf-8")
    kv.append(KV("tokenizer.chat_template", GGUFValueType.STRING, template))
    return kv


def pre_tokenizer_name(tokenizer_json: Path) -> str:
    from tokenizers import Tokenizer

    ids = Tokenizer.from_file(str(tokenizer_json)).encode(PROBE_TEXT).ids
    digest = hashlib.sha256(str(ids).encode()).hexdigest()
    name = KNOWN_PRE_TOKENIZERS.get(digest)
    if name is None:
        raise UnsupportedModel(
            f"unknown BPE pre-tokenizer in {tokenizer_json} (probe hash {digest[:16]}...)",
            hint="llama.cpp would not know how to split text for this tokenizer",
        )
    return name


def _load(path: Path) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise BadCheckpoint(f"missing {path.name} in {path.parent}") from None
    except (OSError, ValueError) as err:
        raise BadCheckpoint(f"cannot read {path}: {err}") from None


def _looks_special(text: str) -> bool:
    return (text.startswith("<|") and text.endswith("|>")) or (text.startswith("<｜") and text.endswith("｜>"))


def _tokens(vocab: dict[str, int], added: list[dict], vocab_size: int) -> tuple[list[str], list[int]]:
    by_id: dict[int, str] = {i: t for t, i in vocab.items()}
    added_by_id = {int(a["id"]): a for a in added}
    for i, a in added_by_id.items():
        by_id[i] = a["content"]
    size = max(vocab_size, max(by_id) + 1)
    tokens, types = [], []
    for i in range(size):
        text = by_id.get(i)
        if text is None:
            tokens.append(f"[PAD{i}]")
            types.append(TokenType.UNUSED)
        elif i in added_by_id:
            if added_by_id[i].get("special") or _looks_special(text):
                types.append(TokenType.CONTROL)
            else:
                text = text.replace("\u2581", " ")
                types.append(TokenType.USER_DEFINED)
            tokens.append(text)
        else:
            tokens.append(text)
            types.append(TokenType.NORMAL)
    return tokens, [int(t) for t in types]


def _merges(merges: list) -> list[str]:
    if merges and isinstance(merges[0], list):
        # newer tokenizers store pairs; a space inside a part is written as U+0120 like gguf-py does
        return [" ".join("".join(chr(ord(c) + 256) if c == " " else c for c in part) for part in pair)
                for pair in merges]
    return [str(m) for m in merges]


def _special_ids(data: dict, tok_config: dict, config: dict, n_vocab: int) -> dict[str, int]:
    content_to_id = {a.get("content"): int(a["id"]) for a in reversed(data.get("added_tokens") or [])}
    ids: dict[str, int] = {}
    for kind in SPECIAL_TYPES:
        entry = tok_config.get(f"{kind}_token")
        content = entry.get("content") if isinstance(entry, dict) else entry
        if isinstance(content, str) and content in content_to_id:
            ids[kind] = content_to_id[content]
    for kind in SPECIAL_TYPES:
        token_id = config.get(f"{kind}_token_id")
        if kind not in ids and isinstance(token_id, int) and 0 <= token_id < n_vocab:
            ids[kind] = token_id
    return ids


def _add_flags(data: dict, tok_config: dict) -> dict[str, bool]:
    flags: dict[str, bool] = {}
    post = data.get("post_processor") or {}
    for processor in post.get("processors", [post]):
        kind = processor.get("type")
        if kind == "ByteLevel":
            flags.setdefault("bos", False)
            flags.setdefault("eos", False)
        elif kind == "TemplateProcessing":
            single = processor.get("single") or []
            flags["bos"] = bool(single) and "SpecialToken" in single[0]
            flags["eos"] = len(single) > 1 and "SpecialToken" in single[-1]
    for kind in SPECIAL_TYPES:
        value = tok_config.get(f"add_{kind}_token")
        if isinstance(value, bool) and kind not in flags:
            flags[kind] = value
    return flags
