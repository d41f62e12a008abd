"""Hand-written texts for the tokenizer tests: the character classes where a one-regex translation can go wrong."""

from __future__ import annotations

# Short pieces; the tests use each alone and every pair glued together (boundaries are where bugs live).
ATOMS = [
    # digits, including non-ASCII ones that are \p{N} too
    "7", "1234567", "3.14159", "0x1F", "v2", "a1b22c333d4444", "٣٤٥٦", "４５６７", "①②③", "Ⅻ", "²³", "１２a", "१२३",
    # CJK runs, kana and the punctuation inside the katakana block
    "日本語", "中文文本，标点。", "テスト・ケース", "カタカナー", "ひらがな", "゠゛゜ゝゞ", "ヽヾヿ", "\u3099\u309a",
    "\u3097\u3098", "\u3040", "漢字abc", "abc漢字", "〇一二", "한국어 텍스트", "ㄱㄴㄷ", "𠀀𠀁",
    # combining marks, emoji and their joiners/selectors
    "e\u0301", "\u0301\u0301x", "Z\u0351\u0352\u0353", "😀", "👨‍👩‍👧‍👦", "🏳️‍🌈", "👍🏽", "❤️", "1️⃣", "🇫🇷🇩🇪",
    # control, format, private-use and unassigned characters (HF keeps them as pieces; tiktoken would drop them)
    "\x00", "\x01\x02abc", "\x7f", "\x1b[31m", "\u200b", "\u200d", "\ufeff", "\u2060word", "\ue000", "\U000f0000",
    "\u0378", "\U000e0001", "\u00ad",
    # whitespace of every kind and length
    " ", "   ", "\t\t", "\n", "\r\n", "\n\n\n", "  \n  ", " \u00a0 ", "\u3000", "\u2028", "\u2029", "\x0b\x0c",
    " " * 40, "\t \n \t",
    # punctuation, contractions, apostrophes, code-ish sequences
    "don't", "I'LL", "we've", "it’s", "--flag", "...", "!!!", "'s", ".Net", "#include", "@decorator", "->", "::",
    "«quoted»", "—dash—", "¿qué?", "§1", "$$", "``", "\\n",
    # mixed scripts
    "Привет", "مرحبا", "שלום", "नमस्ते", "สวัสดี", "Ελληνικά", "ǅungla", "ﬁ", "Ａｂｃ",
    # added-token look-alikes: whole, partial, nested, ASCII-bar variants
    "<｜User｜>", "<｜Assistant｜>", "<｜begin▁of▁sentence｜>", "<think>", "</think>", "<｜User", "｜User｜>",
    "<|User|>", "<｜<｜User｜>｜>", "｜DSML｜", "<dsml:", "<|EOT|>", "<｜place▁holder▁no▁7｜>", "<|place_holder_mm_span_0100|>",
    "<｜/table>｜",
]

TEXTS = [
    # code in several languages
    'def f(x: int) -> str:\n    """Doc."""\n    return f"{x:>10}"  # 42\n',
    "fn main() {\n    let v: Vec<u32> = (0..10).map(|x| x * 2).collect();\n    println!(\"{:?}\", v);\n}\n",
    'package main\n\nimport "fmt"\n\nfunc main() {\n\tfmt.Println("héllo, 世界")\n}\n',
    "template <typename T>\nstd::vector<T> f(const T& x) { return {x, x}; }  // C++17\n",
    "const x = async () => { await fetch(`/api/${id}?q=1`); };\n",
    "SELECT id, name FROM users WHERE age >= 18 AND name LIKE '%ö%';\n",
    '<div class="a"><a href="/x?y=1&amp;z=2">link</a></div>\n<!-- comment -->\n',
    'for f in *.txt; do echo "$f" | sed -e \'s/a/b/g\' >> out.log; done\n',
    "public static void main(String[] args) { System.out.println(args.length); }\n",
    "    \n\n\t\t\n   x = 1\n\n\n\n        y = 2\r\n\r\n",
    # prose
    "The quick brown fox jumps over the lazy dog. It's 12:45 on 2026-11-29; 3,000,000 people ($1.5M).",
    "日本語の文章です。東京は2026年に人口1400万人を超えました！「テスト」・ケース（括弧）",
    "中华人民共和国成立于1949年10月1日。他说：“你好，世界！”",
    "대한민국의 수도는 서울입니다. 인구는 약 970만 명입니다.",
    "Ça coûte 10 € — n'est-ce pas ? Ünïcödé naïve façade.",
    "Emoji mix: 👩🏽‍💻 wrote 3 tests 🎉🎉 and 🇯🇵 flag; keycap 7️⃣.",
    "Zalgo: Z̵̡̧̛̖̗a̶̢̛̜l̷̨̛g̸̢̛o̴̧̢",
    "Arabic digits ٠١٢٣٤٥٦٧٨٩ and Devanagari १२३४ and fullwidth ０１２３４５ and 12345678901234567890.",
    "<｜begin▁of▁sentence｜>You are helpful.<｜User｜>Hi<｜Assistant｜></think>Hello<｜end▁of▁sentence｜>",
    "mixed<think>reasoning</think>answer <｜tool▁calls▁begin｜><｜tool▁call▁begin｜>f<｜tool▁sep｜>{}<｜tool▁call▁end｜>",
    "",
]
