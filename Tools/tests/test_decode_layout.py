# The decode_token contract's numbers (Kernels/decode/layout.py): the tiling choice, the weights stream (every byte once, each channel's pairs), KV block-major offsets and kv_row, io regions, every transfer start below 2^31 bytes.
import importlib.util
import os
import unittest

TOOLS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(TOOLS)
_spec = importlib.util.spec_from_file_location("decode_layout", os.path.join(ROOT, "Kernels", "decode", "layout.py"))
layout = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(layout)

L1B = dict(hidden=2048, ffn=8192, heads=32, kvHeads=8, headDim=64, vocab=128256, layers=16)
SMOL = dict(hidden=576, ffn=1536, heads=9, kvHeads=3, headDim=64, vocab=49152, layers=30)
TINY = dict(hidden=128, ffn=384, heads=8, kvHeads=2, headDim=16, vocab=1024, layers=4)


class DecodeLayoutTests(unittest.TestCase):
    def test_tm_takes_the_least_padded_rows_then_the_larger(self):
        self.assertEqual(layout.choose_tm(L1B, [64, 32, 16]), 64)          # headDim 64 | tm: only 64
        self.assertEqual(layout.choose_tm(SMOL, [64, 32, 16]), 64)
        # tiny: per token tm 64 pads 4·(832 + 896 + 256 + 896) rows, tm 32 4·(320 + 384 + 0 + 384), tm 16 4·(64+128+0+128)
        self.assertEqual(layout.padded_rows(TINY, 16), 4 * (64 + 128 + 0 + 128) + 0)
        self.assertEqual(layout.choose_tm(TINY, [64, 32, 16]), 16)
        self.assertEqual(layout.choose_tm(TINY, [16, 32]), 16)
        with self.assertRaises(ValueError):
            layout.choose_tm(L1B, [32, 16])

    def test_1b_stages_and_padding(self):
        lay = layout.DecodeLayout(L1B, "bf16", "bf16", 2048, 64, 64, 64)
        st = lay.stages
        self.assertEqual([(st[s]["R"], st[s]["rho"], st[s]["ks"]) for s in ("QKV", "O", "GU", "D", "LM")],
                         [(3072, 3, 32), (2048, 2, 32), (16384, 16, 32), (2048, 2, 128), (129024, 126, 32)])
        self.assertEqual(lay.PN, 448)            # pad(4·64 + 128 + 16, 64)
        self.assertEqual((lay.G, lay.gk, lay.P), (4, 2, 2))
        self.assertEqual(lay.pairs, 16 * (3 * 32 + 2 * 32 + 16 * 32 + 2 * 128) + 126 * 32)

    def test_every_weight_byte_is_read_once_by_the_right_channel(self):
        for model, w, tm in ((TINY, "q4_0", 16), (TINY, "q4_1", 16), (TINY, "bf16", 32)):
            lay = layout.DecodeLayout(model, w, w, 2048, tm, 64, 64)
            seen = bytearray(lay.weights_bytes)
            for ch in range(layout.CHANNELS):
                for p in range(lay.pairs):
                    a = lay.pair_offset(ch, p)
                    self.assertEqual(lay.region_at(0, a), (f"weights{ch}", None))
                    for i in range(a, a + lay.pair_bytes):
                        seen[i] += 1
            seen[lay.norms_offset:lay.norms_offset + lay.norms_bytes] = b"\x01" * lay.norms_bytes
            self.assertEqual(set(seen), {1}, w)

    def test_pair_index_walks_the_stream_in_contract_order(self):
        lay = layout.DecodeLayout(TINY, "bf16", "bf16", 2048, 16, 64, 64)
        order = [lay.pair_index(l, s, r, k) for l in range(4) for s in layout.STAGES
                 for r in range(lay.stages[s]["rho"]) for k in range(lay.stages[s]["ks"])]
        order += [lay.pair_index(None, "LM", r, k) for r in range(lay.stages["LM"]["rho"]) for k in range(2)]
        self.assertEqual(order, list(range(lay.pairs)))
        self.assertEqual(lay.tile_rows("GU", 3), ("up", 16))
        self.assertEqual(lay.tile_rows("QKV", 9), ("k", 16))
        self.assertEqual(lay.tile_rows("QKV", 12), (None, 0))      # rows 192.. are padding: zero weights

    def test_kv_is_block_major_and_kv_row_reaches_exactly_the_new_rows(self):
        lay = layout.DecodeLayout(L1B, "q4_0", "q4_0", 2048, 64, 64, 64)
        self.assertEqual(lay.chunk, 2 * 2 * 64 * 64)
        self.assertEqual(lay.slab, 16 * 4 * lay.chunk)
        pos = 1000                              # block 15, row 40
        for l, g, i, kv in ((0, 0, 0, 0), (15, 3, 1, 1), (7, 2, 0, 1)):
            head = g * lay.gk + i
            element = lay.base(pos) + lay.off(l, g, i, kv)
            # (block, layer, group, head-in-group, K|V, row, hd)
            want = ((((15 * 16 + l) * 4 + g) * 2 + i) * 2 + kv) * 64 * 64 + 40 * 64
            self.assertEqual(element, want, (l, head, kv))
        self.assertEqual(lay.kv_row_elements, lay.off(15, 3, 1, 1) + 64)

    def test_every_transfer_starts_below_two_to_the_31_bytes(self):
        # 1B bf16 at 131072: weights 2.47 GB, KV 4 GiB; only starts are patched (AIEX.td NpuAddressPatchOp arg_plus)
        lay = layout.DecodeLayout(L1B, "bf16", "bf16", 131072, 64, 64, 64)
        self.assertGreater(lay.weights_bytes, 2 ** 31)
        self.assertGreater(lay.kv_bytes, 2 ** 31)
        starts = [lay.stream_offset(ch) for ch in range(8)] + [lay.norm_offset("output")]
        starts += [2 * lay.off(l, g, 0, 0) for l in range(16) for g in range(4)]
        self.assertLess(max(starts), layout.OFFSET_LIMIT)
        self.assertLess(lay.kv_row_bytes, 2 ** 31)

    def test_io_regions_are_aligned_and_disjoint(self):
        lay = layout.DecodeLayout(SMOL, "q4_1", "q4_1", 2048, 64, 64, 64)
        spans = [(lay.io(r), lay.io(r) + lay.io_size[r]) for r in ("params", "x", "result_norm", "logits", "bests", "token")]
        spans += [(lay.io(r, l), lay.io(r, l) + lay.io_size[r]) for l in range(lay.L) for r in lay.LAYER_REGIONS]
        spans.sort()
        self.assertTrue(all(a % 32 == 0 for a, _ in spans))
        self.assertTrue(all(b <= c for (_, b), (c, _) in zip(spans, spans[1:])))
        self.assertLessEqual(spans[-1][1], lay.io_elements)
        self.assertEqual(lay.region_at(3, 2 * lay.io("gu", 29) + 10), ("gu", 29))

    def test_a_mixed_lm_head_format_and_a_bad_q4_0_tk_are_refused(self):
        with self.assertRaisesRegex(ValueError, "must have the projections' format"):
            layout.DecodeLayout(L1B, "q4_0", "bf16", 2048, 64, 64, 64)
        with self.assertRaisesRegex(ValueError, "tk % 64"):
            layout.DecodeLayout(TINY, "q4_0", "q4_0", 2048, 16, 32, 64)

    def test_buckets_and_kernel_names(self):
        lay = layout.DecodeLayout(L1B, "q4_0", "q4_0", 131072, 64, 64, 64)
        self.assertEqual(lay.buckets, [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048])
        self.assertEqual(lay.kernel_name(64), "decode_q4_0_q4_0_b64")


if __name__ == "__main__":
    unittest.main()
