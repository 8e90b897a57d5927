# Tools/compare-llama-cpp.sh's arguments, and Tools/llama_cpp_f32_gguf.py's GGUF read back value for value (skips without gguf-py).
import json
import os
import struct
import subprocess
import sys
import tempfile
import unittest

TOOLS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(TOOLS)
CACHE = os.environ.get("NPULLAMA_CACHE", os.path.expanduser("~/.cache/npu-llama"))
GGUF_PY = os.path.join(CACHE, "llama.cpp/llama_cpp_python-0.3.16/vendor/llama.cpp/gguf-py")
TOKENIZER = os.path.join(CACHE, "models/llama3/tokenizer.json")
TINY = os.path.join(ROOT, "Golden/tiny-llama32/model")


class CompareScriptTests(unittest.TestCase):
    def run_script(self, *args):
        return subprocess.run(["bash", os.path.join(TOOLS, "compare-llama-cpp.sh"), *args], capture_output=True, text=True)

    def test_help_says_what_is_compared(self):
        r = self.run_script("--help")
        self.assertEqual(r.returncode, 0, r.stderr)
        for words in ("llama-bench", "F32", "npu-llama bench --device reference", "NPULLAMA_THREADS", "best repetition"):
            self.assertIn(words, r.stdout)

    def test_unknown_argument_is_a_usage_error(self):
        r = self.run_script("--bogus")
        self.assertEqual(r.returncode, 64)
        self.assertIn("unknown argument --bogus", r.stderr)


try:
    import numpy  # noqa: F401  (gguf-py needs it; not every python3 that runs these tests has it)
    HAVE_NUMPY = True
except ImportError:
    HAVE_NUMPY = False


@unittest.skipUnless(HAVE_NUMPY, "needs numpy (gguf-py reads tensors with it)")
@unittest.skipUnless(os.path.isdir(GGUF_PY) and os.path.isfile(TOKENIZER),
                     f"needs gguf-py of the llama-cpp-python sdist ({GGUF_PY}) and {TOKENIZER}: run Tools/compare-llama-cpp.sh once")
class F32GGUFTests(unittest.TestCase):
    def test_tiny_model_reads_back_value_for_value(self):
        sys.path.insert(0, GGUF_PY)
        import numpy as np
        import gguf
        out = os.path.join(tempfile.mkdtemp(), "tiny-f32.gguf")
        env = dict(os.environ, PYTHONPATH=GGUF_PY)
        r = subprocess.run([sys.executable, os.path.join(TOOLS, "llama_cpp_f32_gguf.py"), TINY, TOKENIZER, out],
                           capture_output=True, text=True, env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        reader = gguf.GGUFReader(out)
        config = json.load(open(os.path.join(TINY, "config.json")))
        field = reader.fields["llama.attention.head_count_kv"]
        self.assertEqual(int(field.parts[field.data[0]][0]), config["num_key_value_heads"])
        tensors = {t.name: t for t in reader.tensors}
        self.assertNotIn("output.weight", tensors, "tied: llama.cpp reads token_embd")
        self.assertEqual(len(tensors), 2 + 9 * config["num_hidden_layers"])
        # The safetensors' bf16 values widened exactly to F32, in llama.cpp's names.
        path = os.path.join(TINY, "model.safetensors")
        with open(path, "rb") as f:
            (n,) = struct.unpack("<Q", f.read(8))
            header = json.loads(f.read(n))
            data = f.read()
        for hf, gg in [("model.embed_tokens.weight", "token_embd.weight"), ("model.layers.3.mlp.down_proj.weight", "blk.3.ffn_down.weight"),
                       ("model.layers.0.self_attn.k_proj.weight", "blk.0.attn_k.weight"), ("model.norm.weight", "output_norm.weight")]:
            info = header[hf]
            begin, end = info["data_offsets"]
            self.assertEqual(info["dtype"], "BF16")
            expected = (np.frombuffer(data[begin:end], dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)
            t = tensors[gg]
            self.assertEqual(t.tensor_type, gguf.GGMLQuantizationType.F32, gg)
            self.assertEqual(list(reversed([int(d) for d in t.shape])), info["shape"], gg)   # GGUF lists dimensions innermost first
            np.testing.assert_array_equal(np.asarray(t.data).reshape(-1), expected, err_msg=gg)


if __name__ == "__main__":
    unittest.main()
