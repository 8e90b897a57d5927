# Golden/tiny-llama-spm's GGUF through llama.cpp itself: its tokenizer's ids and its greedy continuation (skips without a llama.cpp build).
"""llama.cpp is the one from the llama-cpp-python 0.3.16 sdist that Tools/compare-llama-cpp.sh builds under
$NPULLAMA_CACHE/llama.cpp/build (targets llama-tokenize and llama-cli; not in CI). What it checks:
* the text prompt tokenizes to the golden's (HF's) ids, BOS first;
* the chat prompt's rendered text tokenizes to HF's ids with "▁" (29871) after each </s>, the ids
  Tests/TokenizersTests/TinyLlamaSPMTokenizerTests expects of our GGUF tokenizer;
* llama-cli's greedy continuation of the text prompt (CPU, BF16 weights) is the golden's 20 tokens, as text.
"""
import json
import os
import subprocess
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CACHE = os.environ.get("NPULLAMA_CACHE", os.path.expanduser("~/.cache/npu-llama"))
BIN = os.path.join(CACHE, "llama.cpp", "build", "bin")
GOLDEN = os.path.join(ROOT, "Golden", "tiny-llama-spm")
GGUF = os.path.join(GOLDEN, "tiny-llama-spm.bf16.gguf")


def tool(name):
    path = os.path.join(BIN, name)
    if not os.access(path, os.X_OK):
        raise unittest.SkipTest(f"{path} not built (Tools/compare-llama-cpp.sh builds llama.cpp; "
                                f"then cmake --build {os.path.dirname(BIN)} --target {name})")
    return path


def ids_of(output: str) -> list:
    return json.loads(output.strip().splitlines()[-1])


class TinySPMOnLlamaCpp(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        with open(os.path.join(GOLDEN, "manifest.json")) as f:
            cls.cases = {c["name"]: c for c in json.load(f)["cases"]}

    def tokenize(self, text, *flags):
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
            f.write(text)
        try:
            r = subprocess.run([tool("llama-tokenize"), "-m", GGUF, "-f", f.name, "--ids", "--log-disable", *flags],
                               capture_output=True, text=True, timeout=120)
        finally:
            os.unlink(f.name)
        self.assertEqual(r.returncode, 0, r.stderr)
        return ids_of(r.stdout)

    def test_text_prompt_ids_are_hfs(self):
        c = self.cases["text"]
        self.assertEqual(self.tokenize(c["prompt"]), c["prompt_ids"])

    def test_chat_prompt_ids_put_a_space_after_each_special_token(self):
        c = self.cases["chat"]
        expected = []
        for i in c["prompt_ids"]:
            expected += [i, 29871] if i == 2 else [i]
        self.assertEqual(self.tokenize(c["prompt"], "--no-bos"), expected)

    def test_greedy_continuation_is_the_goldens(self):
        c = self.cases["text"]
        r = subprocess.run([tool("llama-cli"), "-m", GGUF, "-p", c["prompt"], "-n", str(len(c["greedy_ids"])),
                            "--temp", "0", "--top-k", "1", "-no-cnv", "--no-warmup", "-t", "1", "-c", "128"],
                           capture_output=True, text=True, timeout=300)
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        out = r.stdout
        self.assertIn(c["prompt"], out)
        continuation = out.split(c["prompt"], 1)[1].rstrip("\n")
        self.assertEqual(continuation, c["greedy_text"])


if __name__ == "__main__":
    unittest.main()
