# Tools/setup-npu.sh without a Ryzen AI machine: argument handling, version parsing (its shell helpers, sourced), and --dry-run against a fake system root (what it would run; nothing changed).
import os
import subprocess
import sys
import tempfile
import unittest

TOOLS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(TOOLS, "setup-npu.sh")
sys.path.insert(0, os.path.join(TOOLS, "fake_toolchain"))
import install  # noqa: E402


def helper(expr):
    """Runs a shell expression with setup-npu.sh's helpers sourced; (status, stdout)."""
    r = subprocess.run(["bash", "-c", f'NPU_SETUP_LIB=1 source "{SCRIPT}"; {expr}'], capture_output=True, text=True)
    return r.returncode, r.stdout.strip()


class HelperTests(unittest.TestCase):
    def test_version_ge(self):
        for a, b, want in [("2.19.0", "2.18", 0), ("2.18", "2.18.0", 0), ("2.17.3", "2.18", 1), ("2.100", "2.18", 0),
                           ("6.14.0-arch1-1", "6.14", 0), ("6.8.0-45-generic", "6.14", 1), ("7.0", "6.14", 0)]:
            self.assertEqual(helper(f'version_ge "{a}" "{b}"')[0], want, (a, b))

    def test_parsers(self):
        smi = "\nXRT\n  Version              : 2.19.0\n  Branch               : 2025.1\n  Hash                 : 12ab\n"
        self.assertEqual(helper(f"xrt_smi_version '{smi}'")[1], "2.19.0")
        self.assertEqual(helper("""xrt_json_version '{"BUILD_VERSION" : "2.18.179", "BUILD_BRANCH": "x"}'""")[1], "2.18.179")
        self.assertEqual(helper("xrt_smi_version 'no version here'")[1], "")
        self.assertEqual(helper("numeric_version 'Linux 6.8.0-45-generic'")[1], "6.8.0")

    def test_python_range(self):
        for v, want in [("3.12.1", 0), ("3.14.0", 0), ("3.11.9", 1), ("3.15.0", 1), ("3.13.0rc1", 0)]:
            self.assertEqual(helper(f'python_ok "{v}"')[0], want, v)


class ScriptTests(unittest.TestCase):
    def run_script(self, *args, root=None, env_extra=None):
        env = dict(os.environ)
        env.update(env_extra or {})
        if root:
            env.update(NPU_SETUP_ROOT=root, NPULLAMA_CACHE=os.path.join(root, "cache"), XILINX_XRT="")
        return subprocess.run([SCRIPT, *args], capture_output=True, text=True, env=env)

    def test_arguments(self):
        self.assertEqual(self.run_script("--help").returncode, 0)
        for bad, words in [(["--bogus"], "unknown argument"), (["--ctx"], "needs a value"), (["--ctx", "abc"], "positive integer"),
                           (["--venv", "--dry-run"], "needs a value"), (["-j", "0"], "positive integer")]:
            r = self.run_script(*bad)
            self.assertEqual(r.returncode, 2, bad)
            self.assertIn(words, r.stderr)

    @unittest.skipIf(install.python312() is None, "no Python 3.12+ here to stand for the venv's interpreter")
    def test_dry_run_on_a_ready_machine_prints_what_it_would_run(self):
        with tempfile.TemporaryDirectory() as root:
            for d in ["sys/module/amdxdna", "dev/accel", "lib/firmware/amdnpu/17f0_10", "opt/xilinx/xrt/lib", "opt/xilinx/xrt/bin"]:
                os.makedirs(os.path.join(root, d))
            for f in ["dev/accel/accel0", "opt/xilinx/xrt/lib/libxrt_driver_xdna.so.2", "opt/xilinx/xrt/bin/xclbinutil"]:
                open(os.path.join(root, f), "w").close()
            os.chmod(os.path.join(root, "opt/xilinx/xrt/bin/xclbinutil"), 0o755)
            with open(os.path.join(root, "opt/xilinx/xrt/version.json"), "w") as f:
                f.write('{"BUILD_VERSION": "2.19.0"}')
            r = self.run_script("--dry-run", "--fix", "--python", install.python312(), "--ctx", "2048", root=root)
            out = r.stdout
            self.assertIn("[ok] amdxdna driver", out)
            self.assertIn("[ok] XRT: 2.19.0 >= 2.18", out)
            self.assertIn("[ok] XDNA plugin", out)
            venv = os.path.join(root, "cache", "venv-aie")
            self.assertIn(f"+ {install.python312()} -m venv {venv}", out)
            self.assertIn('mlir_aie==1.4.2.dev16+g7e00b57" -f https://github.com/Xilinx/mlir-aie/releases/expanded_assets/latest-wheels-4'
                          .replace('"', ''), out.replace('"', ''))
            self.assertIn("llvm-aie==21.0.0.2026080601+f4a72c27 -f https://github.com/Xilinx/llvm-aie/releases/expanded_assets/nightly", out)
            self.assertIn(f"Tools/kernel_toolchain.py > {os.path.join(root, 'cache', 'toolchain.json')}", out)
            self.assertIn("total: 13 kernels", out)                # SmolLM2 at ctx 2048: 6 KV buckets of decode and of prefill + the LM head
            self.assertIn("tee /etc/security/limits.d/99-amdxdna.conf", out)   # --fix, printed only
            self.assertIn("npu-llama kernels build --model smollm2 --ctx 2048", out)
            self.assertFalse(os.path.exists(venv))                 # nothing was changed
            self.assertEqual(r.returncode, 0, r.stderr + out)


if __name__ == "__main__":
    unittest.main()
