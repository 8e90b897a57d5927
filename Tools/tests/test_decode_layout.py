# The decode contract's numbers (Kernels/decode/layout.py): both tiling choices (decode_token's tm, lm_head's tm_lm/tk_lm), the weights and lm_weights streams (every byte once, each channel's pairs), KV block-major offsets and kv_row, io regions incl. x_final, every transfer start below 2^31 bytes.
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

    def test_lm_tiling_takes_the_least_padded_vocab_rows_then_the_larger(self):
        cands = [(64, 64), (32, 64), (16, 64)]
        # 1B: vocab 128256 pads 768 rows at 16·64, 256 at 16·32, none at 16·16
        self.assertEqual([layout.lm_padded_rows(L1B, t) for t, _ in cands], [768, 256, 0])
        self.assertEqual(layout.choose_lm_tiling(L1B, "bf16", cands), (16, 64))
        self.assertEqual(layout.choose_lm_tiling(SMOL, "q4_1", cands), (64, 64))     # 49152 = 48·1024: a tie, the larger
        self.assertEqual(layout.choose_lm_tiling(TINY, "bf16", cands), (64, 64))     # 1024 = 16·64
        self.assertEqual(layout.choose_lm_tiling(dict(TINY, vocab=512), "bf16", cands), (32, 64))   # vocab >= 16·tm
        with self.assertRaisesRegex(ValueError, "tk % 64"):
            layout.choose_lm_tiling(L1B, "q4_0", [(64, 32)])
        self.assertIn("headDim", layout.lm_tiling_broken(dict(TINY, headDim=512), "bf16", 16, 64))

    def test_1b_stages_and_padding(self):
        lay = layout.DecodeLayout(L1B, "q4_0", "bf16", 2048, 64, 64, 64, 16, 64)
        st = lay.stages
        self.assertEqual(list(st), ["QKV", "O", "GU", "D"])
        self.assertEqual([(st[s]["R"], st[s]["rho"], st[s]["ks"], st[s]["dtype"]) for s in st],
                         [(3072, 3, 32, "q4_0"), (2048, 2, 32, "q4_0"), (16384, 16, 32, "q4_0"), (2048, 2, 128, "q4_0")])
        self.assertEqual(lay.PN, 448)            # pad(4·64 + 128 + 16, 64)
        self.assertEqual((lay.G, lay.gk, lay.P), (4, 2, 2))
        self.assertEqual(lay.pairs, 16 * (3 * 32 + 2 * 32 + 16 * 32 + 2 * 128))
        self.assertEqual(lay.pair_bytes, 2 * 64 * 2 * 18)
        lm = lay.lm.stage                        # the LM head in bf16 at tm_lm 16: 501 rounds, no padded row
        self.assertEqual((lm["R"], lm["rho"], lm["ks"], lm["dtype"], lm["tileBytes"]), (128256, 501, 32, "bf16", 2048))
        self.assertEqual((lay.lm.pairs, lay.lm.pair_bytes, lay.lm.streams_offset), (501 * 32, 4096, 4096))
        self.assertEqual(lay.lm.weights_bytes, 4096 + 128256 * 2048 * 2)     # output_norm_w, then the whole head
        self.assertEqual(lay.norms_bytes, 2 * 16 * 2048 * 2)                   # output_norm_w is lm_weights'

    def test_every_weight_byte_is_read_once_by_the_right_channel(self):
        for model, w, tm in ((TINY, "q4_0", 16), (TINY, "q4_1", 16), (TINY, "bf16", 32)):
            lay = layout.DecodeLayout(model, w, "bf16" if w != "bf16" else "q4_0", 2048, tm, 64, 64, 32, 64)
            for bo, arg in ((lay, 0), (lay.lm, 0)):
                seen = bytearray(bo.weights_bytes)
                for ch in range(layout.CHANNELS):
                    for p in range(bo.pairs):
                        a = bo.pair_offset(ch, p)
                        self.assertEqual(bo.region_at(arg, a), (f"weights{ch}", None))
                        for i in range(a, a + bo.pair_bytes):
                            seen[i] += 1
                head = bo.norms_bytes if bo is lay else bo.norm_bytes
                seen[0:head] = b"\x01" * head
                self.assertEqual(set(seen), {1}, w)
            self.assertEqual(lay.lm.region_at(0, 2), ("output_norm_w", None))
            self.assertEqual(lay.region_at(0, 3 * 2 * 128 + 2), ("ffn_norm_w", 1))

    def test_pair_index_walks_the_stream_in_contract_order(self):
        lay = layout.DecodeLayout(TINY, "bf16", "bf16", 2048, 16, 64, 64, 64, 64)
        order = [lay.pair_index(l, s, r, k) for l in range(4) for s in layout.STAGES
                 for r in range(lay.stages[s]["rho"]) for k in range(lay.stages[s]["ks"])]
        self.assertEqual(order, list(range(lay.pairs)))
        lm = lay.lm
        self.assertEqual([lm.pair_index(r, k) for r in range(lm.stage["rho"]) for k in range(2)], list(range(lm.pairs)))
        self.assertEqual(lm.tile_rows(15), ("output", 960))
        self.assertEqual(lay.tile_rows("GU", 3), ("up", 16))
        self.assertEqual(lay.tile_rows("QKV", 9), ("k", 16))
        self.assertEqual(lay.tile_rows("QKV", 12), (None, 0))      # rows 192.. are padding: zero weights

    def test_kv_is_block_major_and_kv_row_reaches_exactly_the_new_rows(self):
        lay = layout.DecodeLayout(L1B, "q4_0", "q4_0", 2048, 64, 64, 64, 16, 64)
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
        # 1B bf16 at 131072: KV 4 GiB, weights 1.95 GB (without the LM head; 24 layers: 2.92 GB); only starts are
        # patched (AIEX.td NpuAddressPatchOp arg_plus)
        lay = layout.DecodeLayout(L1B, "bf16", "bf16", 131072, 64, 64, 64, 16, 64)
        self.assertGreater(layout.DecodeLayout(dict(L1B, layers=24), "bf16", "bf16", 2048, 64, 64, 64, 16, 64).weights_bytes, 2 ** 31)
        self.assertGreater(lay.kv_bytes, 2 ** 31)
        starts = [lay.stream_offset(ch) for ch in range(8)] + [lay.norm_offset("ffn", 15)]
        starts += [lay.lm.stream_offset(ch) for ch in range(8)]
        starts += [2 * lay.off(l, g, 0, 0) for l in range(16) for g in range(4)]
        self.assertLess(max(starts), layout.OFFSET_LIMIT)
        self.assertLess(lay.kv_row_bytes, 2 ** 31)

    def test_io_regions_are_aligned_and_disjoint(self):
        lay = layout.DecodeLayout(SMOL, "q4_1", "bf16", 2048, 64, 64, 64, 64, 64)
        tail = ("x_final", "result_norm", "logits", "bests", "token")
        spans = [(lay.io(r), lay.io(r) + lay.io_size[r]) for r in ("params", "x") + tail]
        spans += [(lay.io(r, l), lay.io(r, l) + lay.io_size[r]) for l in range(lay.L) for r in lay.LAYER_REGIONS]
        spans.sort()
        self.assertTrue(all(a % 32 == 0 for a, _ in spans))
        self.assertTrue(all(b <= c for (_, b), (c, _) in zip(spans, spans[1:])))
        self.assertLessEqual(spans[-1][1], lay.io_elements)
        self.assertEqual(lay.region_at(3, 2 * lay.io("gu", 29) + 10), ("gu", 29))
        # x_final right after the last layer, then the LM head's regions sized by tm_lm
        self.assertEqual(lay.io("x_final"), lay.layer_base + 30 * lay.layer_stride)
        self.assertEqual([lay.io_size[r] for r in tail], [576, 576, 49152, 16 * 64, 64])
        self.assertEqual(lay.lm.region_at(1, 2 * lay.io("x_final")), ("x_final", None))
        self.assertEqual(lay.lm.arguments(), [("lm_weights", lay.lm.weights_bytes, "weight"), ("io", lay.io_bytes, "io")])
        # the LM tiling sizes logits and bests: 1B at tm_lm 16
        l1 = layout.DecodeLayout(L1B, "q4_0", "bf16", 2048, 64, 64, 64, 16, 64)
        self.assertEqual((l1.io_size["logits"], l1.io_size["bests"]), (128256, 256))

    def test_mixed_formats_are_taken_and_a_bad_q4_0_tk_is_refused(self):
        lay = layout.DecodeLayout(L1B, "q4_0", "bf16", 2048, 64, 64, 64, 16, 64)
        self.assertEqual((lay.stages["QKV"]["dtype"], lay.lm.stage["dtype"]), ("q4_0", "bf16"))
        with self.assertRaisesRegex(ValueError, "tk % 64"):
            layout.DecodeLayout(TINY, "q4_0", "q4_0", 2048, 16, 32, 64, 64, 64)
        with self.assertRaisesRegex(ValueError, "lm_head: Q4_0 tiles need tk % 64"):
            layout.DecodeLayout(TINY, "bf16", "q4_0", 2048, 16, 64, 64, 64, 32)

    def test_buckets_and_kernel_names(self):
        lay = layout.DecodeLayout(L1B, "q4_0", "bf16", 131072, 64, 64, 64, 16, 64)
        self.assertEqual(lay.buckets, [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048])
        self.assertEqual(lay.kernel_name(64), "decode_q4_0_b64")
        self.assertEqual(lay.kernel_names()[-2:], ["decode_q4_0_b2048", "lm_head_bf16"])
        self.assertEqual(len(lay.kernel_names()), 13)            # <= 32 kernels per hw_context


if __name__ == "__main__":
    unittest.main()
