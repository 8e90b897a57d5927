# Tools/xclbin_format.py against an xclbin written by hand to XRT's documented layout (Tools/fake_toolchain/xclbin_writer.py), and fuzzed with hostile bytes: every malformed input ends in XclbinError, never another exception.
import os
import random
import struct
import sys
import unittest

TOOLS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, TOOLS)
sys.path.insert(0, os.path.join(TOOLS, "fake_toolchain"))
import xclbin_format  # noqa: E402
import xclbin_writer  # noqa: E402
from fake_tool import kernel_json, partition_json  # noqa: E402


def sample(buffers=5, uuids=("11", "22")):
    kernels = [kernel_json("decode_bf16_b1", "0x901", "A_INST", buffers)["ps-kernels"]["kernels"][0],
               kernel_json("lm_head_bf16", "0x902", "B_INST", buffers)["ps-kernels"]["kernels"][0]]
    part = partition_json("0x901", "a.pdi")
    second = partition_json("0x902", "b.pdi")["aie_partition"]["PDIs"][0]
    part["aie_partition"]["PDIs"].append(second)
    for p, u in zip(part["aie_partition"]["PDIs"], uuids):
        p["uuid"] = u * 16
    images = [b"PDI-A" * 3, b"PDI-B"]
    return xclbin_writer.xclbin([("MEM_TOPOLOGY", "", b"\0" * 8),
                                 ("EMBEDDED_METADATA", "", xclbin_writer.embedded_metadata(kernels)),
                                 ("AIE_PARTITION", "QoS", xclbin_writer.aie_partition(part, images))])


class ReaderTests(unittest.TestCase):
    def test_reads_kernels_arguments_and_pdis(self):
        x = xclbin_format.Xclbin(sample())
        self.assertEqual(sorted(x.kernels), ["decode_bf16_b1", "lm_head_bf16"])
        args = x.kernels["decode_bf16_b1"]["arguments"]
        self.assertEqual([a["name"] for a in args], ["opcode", "instr", "ninstr", "bo0", "bo1", "bo2", "bo3", "bo4"])
        self.assertEqual([a["buffer"] for a in args], [False, True, False, True, True, True, True, True])
        self.assertEqual([a["offset"] for a in args], [0x0, 0x8, 0x10, 0x14, 0x1C, 0x24, 0x2C, 0x34])
        self.assertEqual(x.kernels["lm_head_bf16"]["kernelId"], "0x902")
        self.assertEqual(x.kernels["lm_head_bf16"]["instances"], ["B_INST"])
        self.assertEqual([(p["uuid"][:8], p["bytes"], p["kernelIds"]) for p in x.pdis],
                         [("11111111", 15, [0x901]), ("22222222", 5, [0x902])])
        self.assertEqual(x.version, (2, 1))

    def test_clear_errors(self):
        data = bytearray(sample())
        for mutate, words in [(lambda d: d.__setitem__(slice(0, 8), b"xclbin1\0"), "magic"),
                              (lambda d: struct.pack_into("<Q", d, 304, len(d) + 1), "header says"),
                              (lambda d: struct.pack_into("<I", d, 304 + 144, 10 ** 6), "section headers"),
                              (lambda d: struct.pack_into("<Q", d, 456 + 40 + 24, 1 << 40), "past the file")]:
            d = bytearray(data)
            mutate(d)
            with self.assertRaises(xclbin_format.XclbinError) as e:
                xclbin_format.Xclbin(bytes(d))
            self.assertIn(words, str(e.exception))

    def test_refuses_entities(self):
        xml = b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "y">]><project/>'
        data = xclbin_writer.xclbin([("EMBEDDED_METADATA", "", xml)])
        with self.assertRaisesRegex(xclbin_format.XclbinError, "DOCTYPE"):
            xclbin_format.Xclbin(data)

    def test_fuzz_truncations_and_flips(self):
        """Every prefix and 3000 random corruptions: parsed, or XclbinError — nothing else."""
        data = sample()
        rng = random.Random(18)
        cases = [data[:n] for n in range(0, len(data), 7)]
        for _ in range(3000):
            d = bytearray(data)
            for _ in range(rng.randint(1, 8)):
                i = rng.randrange(len(d))
                d[i] = rng.randrange(256)
            cases.append(bytes(d))
        parsed = 0
        for c in cases:
            try:
                xclbin_format.Xclbin(c)
                parsed += 1
            except xclbin_format.XclbinError:
                pass
        self.assertGreater(parsed, 0)


if __name__ == "__main__":
    unittest.main()
