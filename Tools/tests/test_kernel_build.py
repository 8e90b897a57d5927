# Tools/build-kernels.py against the fake toolchain (Tools/fake_toolchain): the commands it runs obey the real tools' recorded rules, the product read back matches the designs, the cache key follows the toolchain versions, and it refuses a missing xclbinutil and a kernel signature too narrow for the designs.
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

TOOLS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, TOOLS)
sys.path.insert(0, os.path.join(TOOLS, "fake_toolchain"))
import install  # noqa: E402
import rules  # noqa: E402
import xclbin_format  # noqa: E402

ARGS = ["--preset", "smollm2-135m", "--weights", "q4_1", "--lm-head", "bf16", "--ctx", "512", "-j", "2"]


@unittest.skipIf(install.python312() is None, "no Python 3.12+ here for the fake toolchain (the wheels' floor)")
class FakeToolchainBuildTests(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="npullama-fake-")
        self.addCleanup(shutil.rmtree, self.dir)

    def build(self, out="out", extra_env=None, **kw):
        env = {k: v for k, v in os.environ.items() if k not in ("PEANO_INSTALL_DIR", "PYTHONPATH")}
        env.update(install.install(os.path.join(self.dir, "tc"), **kw))
        env.update(extra_env or {})
        r = subprocess.run([sys.executable, os.path.join(TOOLS, "build-kernels.py"), *ARGS,
                            "--out-dir", os.path.join(self.dir, out)], env=env, capture_output=True, text=True)
        self.log = env["FAKE_TOOLCHAIN_LOG"]
        return r

    def calls(self, tool=None):
        if not os.path.exists(self.log):
            return []
        with open(self.log) as f:
            rows = [json.loads(line) for line in f]
        rows = [r for r in rows if "--version" not in r["argv"]]          # the version queries of discovery
        return [r for r in rows if tool is None or r["tool"] == tool]

    def test_build_obeys_the_rules_and_the_product_matches(self):
        r = self.build()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual([c for c in self.calls() if c["status"] != 0], [])
        out = os.path.join(self.dir, "out")
        with open(os.path.join(out, "kernels.json")) as f:
            index = json.load(f)
        names = [k["name"] for k in index["kernels"]]
        # decode per bucket, the LM head, prefill per bucket (issue 13): one xclbin, kernel ids in that order
        buckets = ["b1", "b2", "b4", "b8"]
        self.assertEqual(names, [f"decode_q4_1_{b}" for b in buckets] + ["lm_head_bf16"] + [f"prefill_q4_1_{b}" for b in buckets])
        n = len(names)
        self.assertEqual([k["kernelId"] for k in index["kernels"]], list(range(0x901, 0x901 + n)))
        self.assertEqual(index["toolchainVersions"]["mlir_aie"], "1.2.0")
        x = xclbin_format.Xclbin.load(os.path.join(out, "npu-llama.xclbin"))
        self.assertEqual(sorted(x.kernels), sorted(names))
        self.assertEqual(len({p["uuid"] for p in x.pdis}), n)                 # a PDI of its own per kernel
        self.assertEqual(sorted(i for p in x.pdis for i in p["kernelIds"]), list(range(0x901, 0x901 + n)))
        aiecc = [c for c in self.calls("aiecc") if "-n" not in c["argv"]]
        self.assertEqual(len(aiecc), n)
        instances = [a for c in aiecc for a in c["argv"] if a.startswith("--xclbin-instance-name=")]
        self.assertEqual(len(set(instances)), n)                               # distinct instance names
        for c in aiecc:
            self.assertIn("-j2", c["argv"])                                    # cores compiled in parallel
            self.assertFalse(any(a.startswith("--xclbin-input") for a in c["argv"]))
            self.assertTrue(any(a.startswith("--peano=") for a in c["argv"]))
        assembled = [c for c in self.calls("xclbinutil") if c["argv"][-1].endswith("npu-llama.xclbin.new")]
        self.assertEqual(len(assembled), 1)
        self.assertEqual(assembled[0]["argv"].count("--add-kernel"), n)
        # 11 sources (the union of the objects' sources: decode's 8 + prefill_mm, attn_chunk, prefill_rows), compiled once each, with the wheel's include directory
        clang = self.calls("clang++")
        self.assertEqual(len(clang), 11)
        include = os.path.join(self.dir, "tc", "site", "mlir_aie", "include")
        self.assertTrue(all(include in c["argv"] for c in clang))
        # unchanged: not redone; a new llvm-aie version: rebuilt (the cache key holds the toolchain versions)
        before = len(self.calls())
        r = self.build()
        self.assertIn("up to date", r.stdout)
        self.assertEqual(len(self.calls()), before)
        r = self.build(llvm_aie="19.0.0.2026080101")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertGreater(len(self.calls("aiecc")), len(aiecc) + 1)

    def test_objects_are_shared_across_builds_of_other_shapes(self):
        self.assertEqual(self.build("a").returncode, 0)
        first = len(self.calls("clang++"))
        self.assertEqual(self.build("b").returncode, 0)
        self.assertEqual(len(self.calls("clang++")), first)                    # the object cache served them

    def test_missing_xclbinutil_is_refused_before_building(self):
        r = self.build(xclbinutil=False)
        self.assertEqual(r.returncode, 2)
        self.assertIn("xclbinutil is not on PATH", r.stderr)
        self.assertEqual(self.calls("aiecc"), [])

    def test_narrow_kernel_signature_is_refused_naming_the_version(self):
        r = self.build(extra_env={"FAKE_AIECC_BUFFERS": "3"})
        self.assertEqual(r.returncode, 1)
        self.assertIn("binds 4 buffer arguments but this aiecc gives every kernel 3", r.stderr)
        self.assertIn("PR #3252", r.stderr)
        self.assertEqual([c for c in self.calls("aiecc") if "-n" not in c["argv"]], [])   # refused before compiling


@unittest.skipIf(install.python312() is None, "no Python 3.12+ here for the fake toolchain")
class ChainedAppendTests(unittest.TestCase):
    """Why the build does not chain `aiecc --xclbin-input`: with the C++ aiecc's zero PDI uuids, the third append
    dumps two PDIs to the same '<uuid>.pdi' and the first kernel ends up with the second one's image."""

    def test_three_chained_appends_lose_the_first_image(self):
        with tempfile.TemporaryDirectory() as d:
            env = dict(os.environ)
            env.update(install.install(os.path.join(d, "tc")))
            work = os.path.join(d, "w")
            os.makedirs(work)
            open(os.path.join(work, "k.o"), "w").close()
            previous = None
            for n in range(3):
                mlir = os.path.join(work, f"k{n}.mlir")
                with open(mlir, "w") as f:
                    f.write(f"// IRON stub record: kernel {n}\n")
                cmd = ["aiecc", "--no-xchesscc", "--no-xbridge", "--aie-generate-xclbin", f"--tmpdir=prj{n}",
                       f"--xclbin-kernel-name=K{n}", f"--xclbin-kernel-id={hex(0x901 + n)}", f"--xclbin-name=x{n}.xclbin", mlir]
                if previous:
                    cmd.insert(1, f"--xclbin-input={previous}")
                r = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True)
                self.assertEqual(r.returncode, 0, r.stderr)
                previous = f"x{n}.xclbin"
            x = xclbin_format.Xclbin.load(os.path.join(work, "x2.xclbin"))
            by_id = {p["kernelIds"][0]: img for p, img in zip(x.pdis, x.pdi_images)}
            self.assertEqual(sorted(x.kernels), ["K0", "K1", "K2"])
            self.assertIn(b"K1", by_id[0x901])          # kernel 0x901 now runs K1's configuration image
            self.assertIn(b"K1", by_id[0x902])
            self.assertIn(b"K2", by_id[0x903])
            self.assertEqual({p["uuid"] for p in x.pdis}, {"00000000-0000-0000-0000-000000000000"})


class ProductCheckTests(unittest.TestCase):
    """kernel_build.check_product on xclbins written to XRT's layout: what it must catch."""

    def product(self, buffers=5, uuids=("11", "22"), ids=(0x901, 0x902), names=("decode_bf16_b1", "lm_head_bf16")):
        import xclbin_writer
        from fake_tool import kernel_json, partition_json
        kernels = [kernel_json(n, hex(i), n.upper(), buffers)["ps-kernels"]["kernels"][0] for n, i in zip(names, ids)]
        part = partition_json(hex(ids[0]), "a")
        part["aie_partition"]["PDIs"] += partition_json(hex(ids[1]), "b")["aie_partition"]["PDIs"]
        for p, u in zip(part["aie_partition"]["PDIs"], uuids):
            p["uuid"] = u * 16
        data = xclbin_writer.xclbin([("EMBEDDED_METADATA", "", xclbin_writer.embedded_metadata(kernels)),
                                     ("AIE_PARTITION", "", xclbin_writer.aie_partition(part, [b"a", b"b"]))])
        f = tempfile.NamedTemporaryFile(suffix=".xclbin", delete=False)
        f.write(data)
        f.close()
        self.addCleanup(os.remove, f.name)
        return f.name

    def specs(self, decode_buffers=4, lm_buffers=2):
        import kernel_build  # noqa: F401
        bk = __import__("importlib.util").util
        spec = bk.spec_from_file_location("build_kernels_t", os.path.join(TOOLS, "build-kernels.py"))
        mod = bk.module_from_spec(spec)
        spec.loader.exec_module(mod)
        return [mod.KernelSpec("decode_bf16_b1", "d.py", {}, {}, decode_buffers),
                mod.KernelSpec("lm_head_bf16", "l.py", {}, {}, lm_buffers)]

    def check(self, path, specs):
        import kernel_build
        return kernel_build.check_product(path, specs)

    def test_a_good_product_passes(self):
        self.assertEqual(self.check(self.product(), self.specs()), [])

    def test_what_it_catches(self):
        self.assertIn("PDI uuids repeat", " ".join(self.check(self.product(uuids=("00", "00")), self.specs())))
        self.assertIn("5 data arguments, NPUBackend binds 6 buffers",
                      " ".join(self.check(self.product(), self.specs(decode_buffers=6))))
        self.assertIn("kernel id 0x902 is in 0 PDIs", " ".join(self.check(self.product(ids=(0x901, 0x903)), self.specs())))
        self.assertIn("lm_head_bf16: not in the xclbin",
                      " ".join(self.check(self.product(names=("decode_bf16_b1", "lm_head_q4_0")), self.specs())))
        with open(self.product(), "r+b") as f:          # a truncated file: the reader's error, not a crash
            f.truncate(500)
            path = f.name
        self.assertIn("the header says", " ".join(self.check(path, self.specs())))


class RuleTests(unittest.TestCase):
    """The fake's rules fire where the real tools fail or silently misbehave."""

    def test_xclbinutil_refuses_output_that_is_an_input(self):
        with tempfile.NamedTemporaryFile() as f:
            with self.assertRaisesRegex(rules.RuleError, "also used for input"):
                rules.check_xclbinutil_files([f.name], [f.name], force=True)
            with self.assertRaisesRegex(rules.RuleError, "already exists"):
                rules.check_xclbinutil_files([], [f.name], force=False)

    def test_aiecc_refuses_unknown_and_self_appending_options(self):
        with self.assertRaisesRegex(rules.RuleError, "sink it silently"):
            rules.parse_aiecc(["--xclbin-instance=X", "a.mlir"])
        with self.assertRaisesRegex(rules.RuleError, "also an input"):
            rules.parse_aiecc(["--xclbin-input=a.xclbin", "--xclbin-name=a.xclbin", "a.mlir"])
        opts, pos = rules.parse_aiecc(["-j0", "--no-xchesscc", "--xclbin-kernel-id=0x902", "a.mlir"])
        self.assertEqual((opts["j"], opts["xclbin-kernel-id"], pos), ("0", "0x902", ["a.mlir"]))

    def test_clang_needs_makefile_flags_and_the_wheel_include(self):
        with tempfile.TemporaryDirectory() as d:
            os.makedirs(os.path.join(d, "aie_api"))
            open(os.path.join(d, "aie_api", "aie.hpp"), "w").close()
            good = ["-O2", "-std=c++20", "--target=aie2p-none-unknown-elf", *rules.WARNING_FLAGS, "-DNDEBUG",
                    "-I", d, "-c", "x.cc", "-o", "x.o"]
            rules.check_clang(good, d)
            with self.assertRaisesRegex(rules.RuleError, "Wno-parentheses"):
                rules.check_clang([a for a in good if a != "-Wno-parentheses"], d)
            with self.assertRaisesRegex(rules.RuleError, "does not name mlir-aie's headers"):
                rules.check_clang([a if a != d else "/venv/include" for a in good], d)


if __name__ == "__main__":
    unittest.main()
