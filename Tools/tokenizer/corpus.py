# The tokenizer golden corpus: named test texts and a deterministic ~100 KB mixed document.
"""Shared by make_goldens.py and bench_tiktoken.py so both tokenize exactly the same text."""

import random

CASES = [
    ("empty", ""),
    ("reference_sentence", "Hello, world! The quick brown fox jumps over 12345 lazy dogs. 日本語 🦙"),
    ("prose", "It was the best of times, it was the worst of times, it was the age of wisdom, "
              "it was the age of foolishness. She said: \"Don't stop now.\" Then she left."),
    ("contractions_mixed_case", "I'M sure they'll come. You'RE right, it'S HIS. We've, we'VE, WE'D, "
                                "she'd, I'll, O'Neil's, rock'n'roll, 'tis, 'S 'T 'Re 'vE 'LL 'ſ"),
    ("numbers", "1 12 123 1234 12345 123456 1234567 and 3.14159, 1,000,000, -42, +7e10, 0x1F, "
                "v1.2.3, 2024-01-31, ١٢٣ ४५६ ⅣⅫ ½ ²"),
    ("code_indent_tabs", "def fib(n):\n    if n < 2:\n        return n\n\treturn fib(n-1) + fib(n-2)\n\n"
                         "struct A {\n\tlet x: Int = 0 // comment\n\t\tvar y = [1, 2, 3]\n}\n"
                         "if (a&&b||!c) { x += y; }  \t \n"),
    ("spaces_newlines", "a  b   c    d\n\n\ne\r\nf\r\n\r\ng \n h\t\ti   \n  \n   x  \t\n\n  end   "),
    ("only_whitespace", "   \n\n \t  \r\n  "),
    ("cjk", "我喜欢自然语言处理。東京は日本の首都です。한국어 문장도 있습니다. 中文，标点！"),
    ("arabic", "مرحبا بالعالم! هذه جملة عربية، مع أرقام ١٢٣ وكلمات."),
    ("emoji_zwj", "Family: 👨‍👩‍👧‍👦 flag: 🏳️‍🌈 skin: 👍🏽 heart: ❤️ 🇯🇵🇫🇷 llama🦙!"),
    ("combining_accents", "café vs cafe\u0301, naïve vs nai\u0308ve, Å vs A\u030a, e\u0301\u0301\u0301, "
                          "Zalgo: Z\u0351\u0334a\u0336\u0300l\u0362g\u0330o\u0327"),
    ("special_token_text", "User typed <|eot_id|> and <|begin_of_text|> and <|im_start|>user\nhi<|im_end|> "
                           "and <|endoftext|> and <|reserved_special_token_5|>< |eot_id|>"),
    ("unicode_spaces", "a\u00a0b\u2003c\u3000d\u200be\u2028f\u0085g\u000bh\u000ci"),
    ("punctuation_runs", "Wait...!?!  -- (hello) [world] {x} <tag/> \"quoted\" 'single' `tick` ~~~***"),
    ("apostrophe_edges", "'''s 's' ''ll ' s don't!'s \"'re\" x'D"),
    ("mixed_scripts", "Ελληνικά, русский текст, עברית, हिन्दी, ภาษาไทย, Tiếng Việt."),
    ("newline_punct", "end.\n\nNext!\r\n\r\n?\n  (\n"),
    ("long_word_no_space", "Pneumonoultramicroscopicsilicovolcanoconiosis" * 3),
]

WORDS = ("the of and to in is was for on that with as by at from it an be this are or which "
         "llama token model language attention matrix vector neural network compute memory").split()
SNIPPETS = [
    "日本語のテキスト", "中文句子。", "한국어", "مرحبا", "Привет, мир", "ελληνικά", "👩‍💻", "🦙🦙", "e\u0301",
    "I'M", "they'll", "x = 1\n\tif x:\n\t\ty()\n", "\r\n", "\n\n\n", "   ", "<|eot_id|>", "12345", "3.14",
]


def document(size: int = 100_000, seed: int = 20250131) -> str:
    """A deterministic mixed-language document of at least `size` characters."""
    rng = random.Random(seed)
    parts, length = [], 0
    while length < size:
        r = rng.random()
        if r < 0.6:
            s = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 15)))
            s = s[0].upper() + s[1:] + rng.choice([".", ",", "!", "?", ";", ":"]) + " "
        elif r < 0.75:
            s = rng.choice(SNIPPETS)
        elif r < 0.85:
            s = str(rng.randint(0, 10 ** rng.randint(1, 9)))
        elif r < 0.95:
            s = rng.choice(["\n", "\n\n", " ", "\t", "  "])
        else:
            s = "".join(chr(rng.choice([rng.randint(0x20, 0x7e), rng.randint(0xa0, 0x2fff),
                                        rng.randint(0x3000, 0x9fff), rng.randint(0x1f300, 0x1faff)]))
                        for _ in range(rng.randint(1, 8)))
        parts.append(s)
        length += len(s)
    return "".join(parts)


def long_no_whitespace(size: int = 8_000, seed: int = 7) -> str:
    """A long run without whitespace, so a single pre-token reaches the long-piece BPE path."""
    rng = random.Random(seed)
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyzé") for _ in range(size))
