#!/usr/bin/env python3
"""Writes the tokenizer test corpus: one base64-encoded entry per line.

Deterministic (fixed seed, no clock, no environment). Entries cover several
scripts and languages, code, emoji, numbers, runs of whitespace and newlines,
the special tokens of the Qwen, Llama-3 and DeepSeek vocabularies (whole and
cut), and ill-formed UTF-8. Valid text is NFC-normalised because the Qwen
reference tokenizer normalises to NFC and r1 (like llama.cpp) does not.

usage: make_corpus.py OUT_FILE [N_RANDOM]
"""
import base64
import random
import sys
import unicodedata

PROSE = [
    "Hello world", " Hello world", "Hello World", " Hello World", " Hello World!", "Hello, world!",
    " this is 🦙.cpp", "The quick brown fox jumps over the lazy dog.",
    "I'm sure you'll see they've said it's what we'd do.", "SHE'S HERE, WE'LL GO, THEY'RE OUT, I'VE GOT IT, I'D SAY",
    "don't can't won't isn't aren't", "rock 'n' roll", "'s 't 're 've 'm 'll 'd", "''''''```````\"\"\"\"......!!!!!!?????",
    "Mr. O'Neil's dog—a beagle—barked; then (quietly) slept...",
    "e-mail: someone@example.com, url: https://example.org/a/b?c=d&e=f#g",
    "DeepSeek-R1 is a reasoning model. Distilled variants exist for Qwen and Llama.",
    "Sphinx of black quartz, judge my vow.", "UPPER lower MiXeD cAsE", "snake_case camelCase PascalCase kebab-case",
]
SCRIPTS = [
    "Привет, мир! Как дела?", "Съешь же ещё этих мягких французских булок, да выпей чаю.",
    "Γειά σου Κόσμε", "Ξεσκεπάζω την ψυχοφθόρα βδελυγμία.",
    "你好，世界！今天天气很好。", "我们在北京的大学学习人工智能和机器学习。",
    "こんにちは世界。カタカナとひらがなと漢字。", "東京都渋谷区でラーメンを食べました。",
    "안녕하세요 세계", "다람쥐 헌 쳇바퀴에 타고파",
    "مرحبا بالعالم", "العربية لغة جميلة جداً", "שלום עולם", "नमस्ते दुनिया", "हिन्दी में लिखा गया वाक्य।",
    "สวัสดีชาวโลก", "ภาษาไทยไม่มีช่องว่างระหว่างคำ",
    "ញុំអាចញ៉ាំកញ្ចក់បាន", "Cửa Việt", "Tiếng Việt có dấu: ắ ằ ẳ ẵ ặ",
    "Ελληνικά και English μαζί", "Zürich, Köln, Málaga, Øresund, Łódź, İstanbul, ß",
    "ﬁ ligature, ½ fraction, ² superscript, Ⅻ roman, ① circled", "ＡＢＣ１２３ full width",
    "Ǆ ǅ ǆ titlecase", "ᚠᛇᚻ᛫ᛒᛦᚦ runes", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 math letters", "∀x∈ℝ: x²≥0 ∑∫∂√∞≠≈",
]
EMOJI = [
    "🦙", "😀😃😄😁", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇫🇷🇯🇵", "❤️", "🔥🔥🔥", "🤖 robots", "emoji🙂inside🙃words",
    "⌚⌛⏰", "✅ done ❌ failed", "🧑🏻‍💻 coding",
]
CODE = [
    "int main(int argc, char** argv) {\n    return 0;\n}\n",
    "def f(x):\n\treturn x ** 2  # square\n",
    "for (auto& [k, v] : map) { std::cout << k << \"=\" << v << '\\n'; }",
    "{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\", \"days\": 3}}",
    "SELECT id, name FROM users WHERE age >= 18 ORDER BY name;",
    "#include <vector>\n#include <string>\n\nnamespace r1 {\n}  // namespace r1\n",
    "    if x:\n        y = [i for i in range(10) if i % 2 == 0]\n",
    "const re = /^[a-z]+$/gi; let s = `template ${x}`;",
    "<div class=\"a\">&lt;tag&gt; &amp; text</div>", "$ ls -la | grep '^d' > out.txt 2>&1",
    "x+=1;y-=2;z*=3;w/=4;a%=5;b^=6;c|=7;d&=8;", "```python\nprint('hi')\n```",
]
NUMBERS = [
    "3", "33", "333", "3333", "33333", "333333", "3333333", "33333333", "333333333",
    "1,234,567.89", "3.14159265358979", "-42", "+1 (555) 123-4567", "2025-01-20T12:34:56Z", "0x7FFFFFFF",
    "1e-9", "100%", "١٢٣٤٥ Arabic-Indic digits", "४२ Devanagari digits", "٣.١٤", "12³ ⅔", "v1.2.3-rc.4",
]
SPACES = [
    " ", "  ", "   ", "    ", "\t", "\t\t", "\n", "\n\n", "\n\n\n", "\r\n", "\r\n\r\n", " \n", "  \n  ", "\t\n\t",
    "\u00a0", "\u3000", "\u2009", "\u2003", "\u200b", " \u00a0 ", "\n \n \n", "   a", "a   ", "a   b", "a\n\nb",
    "a \n b", "\n\n\n\n\n\n\n\n\n\n", " " * 17, "\t \t \t",
]
SPECIALS = [
    "<|im_start|>", "<|im_end|>", "<|endoftext|>", "<think>", "</think>", "<tool_call>", "</tool_call>",
    "<|begin_of_text|>", "<|eot_id|>", "<|start_header_id|>", "<|end_header_id|>", "<|reserved_special_token_5|>",
    "<｜User｜>", "<｜Assistant｜>", "<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜tool▁calls▁begin｜>",
    "<｜tool▁sep｜>", "<|EOT|>", "<|fim_prefix|>", "<|file_sep|>",
    "<|im_start", "im_end|>", "<think", "</thin", "<｜User", "｜>", "<|", "|>", "< think >", "<<think>>",
]
BAD_BYTES = [
    b"\x80", b"\xbf", b"\xc0\xaf", b"\xc3", b"\xe2\x82", b"\xf0\x9f\x98", b"\xed\xa0\x80", b"\xf5\x80\x80\x80",
    b"\xff", b"\xfe\xff", b"\xe0\x80\x80", b"\xf4\x90\x80\x80", b"\xc3\x28", b"\xa0\xa1", b"\xe2\x28\xa1",
    b"\xf0\x28\x8c\xbc", b"\xf8\xa1\xa1\xa1\xa1",
]

FIXED = [
    "", " ", "  ", "   ", "\t", "\n", "\n\n", "\n\n\n", "\t\n", "Hello world", " Hello world", "Hello World",
    " Hello World", " Hello World!", "Hello, world!", " Hello, world!", " this is 🦙.cpp", "w048 7tuijk dsdfhu",
    "нещо на Български", "កាន់តែពិសេសអាចខលចេញ", "🚀 (normal) 😶‍🌫️ (multiple emojis concatenated) ✅ (only emoji that has its own token)",
    "Hello", " Hello", "  Hello", "   Hello", "    Hello", "    Hello\n    Hello", " (", "\n =", "' era",
    "Hello, y'all! How are you 😁 ?我想在apple工作1314151天～",
    "!!!!!!", "3", "33", "333", "3333", "33333", "333333", "3333333", "33333333", "333333333", "Cửa Việt", " discards",
]


def nfc(s):
    return unicodedata.normalize("NFC", s)


def random_entry(rng):
    pools = [PROSE, SCRIPTS, EMOJI, CODE, NUMBERS, SPACES, SPECIALS]
    parts = []
    for _ in range(rng.randint(1, 6)):
        pool = rng.choice(pools)
        piece = rng.choice(pool)
        if rng.random() < 0.2 and len(piece) > 3:  # cut a piece at a random character
            a = rng.randrange(len(piece))
            piece = piece[a:a + rng.randint(1, 12)]
        parts.append(piece)
        if rng.random() < 0.5:
            parts.append(rng.choice(["", " ", "\n", "  ", "\t", ", ", ". "]))
    data = nfc("".join(parts)).encode("utf-8")
    if rng.random() < 0.08:  # splice ill-formed bytes in at a random byte offset
        pos = rng.randint(0, len(data))
        data = data[:pos] + rng.choice(BAD_BYTES) + data[pos:]
    return data


def main():
    out = sys.argv[1]
    n_random = int(sys.argv[2]) if len(sys.argv) > 2 else 3000
    rng = random.Random(20250120)
    entries = []
    for group in (FIXED, PROSE, SCRIPTS, EMOJI, CODE, NUMBERS, SPACES, SPECIALS):
        entries.extend(nfc(s).encode("utf-8") for s in group)
    for bad in BAD_BYTES:
        entries.append(bad)
        entries.append(b"abc" + bad + b"def")
        entries.append("é".encode() + bad + " 世界".encode())
    for _ in range(n_random):
        entries.append(random_entry(rng))
    with open(out, "w", encoding="ascii") as f:
        for e in entries:
            f.write(base64.b64encode(e).decode("ascii") + "\n")


if __name__ == "__main__":
    main()
