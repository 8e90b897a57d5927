# layout.py: the numbers of the decode_token contract (issue 12 spec, Kernels/decode/README.md) — tiling choice, stages, padded rows, the weights / kv / kv_row / io layouts, kernel names — computed in ONE place for Python.
#
# Plain Python (no aie import): Kernels/decode/decode_token.py builds its runtime sequence from it and
# Tools/decode_designs.py prints it (--layout-json) for PythonMirrorTests, which compares it with Swift's
# DecodeLayout. Sizes are in bf16 elements unless a name says bytes.
NG = 16                                  # gemv cores: g = 4c + k on Tile(c, 2 + k), columns 0-3
CHANNELS = 8                             # weight channels (c, j): shim (c, 0) MM2S j -> memory tile (c, 1)
BLOCK_BYTES = {"q4_1": 20, "q4_0": 18}   # GGUF bytes per 32 weights (Q4_1: f16 d, f16 m, 16 B; Q4_0: f16 d, 16 B)
GEMV_ENTRIES = {"bf16": "gemv_bf16", "q4_1": "gemv_q4_1_blocks", "q4_0": "gemv_q4_0"}
PARAM_HEADER = 16                        # int32[8] [pos, pos, 1, bucket, 0...] in bf16 slots
STATE_HEADER = 16                        # attention state per head: m, l, 14 unused floats, acc[hd] (attn_decode.cc)
ALIGN = 32                               # io regions start at multiples of 32 bf16 (64 B)
STAGES = ("QKV", "O", "GU", "D")         # per layer, in order; then "LM" once
# Largest byte offset a runtime-sequence transfer may start at inside its argument: the shim BD's address is
# patched as argument address + arg_plus, an I32Attr (mlir-aie include/aie/Dialect/AIEX/IR/AIEX.td
# NpuAddressPatchOp) written as ONE 32-bit instruction word (lib/Targets/AIETargetNPU.cpp appendAddressPatch).
# Kernels/npu2_target.json shimBd.argumentOffsetMaxBytes is the checker's copy; the layouts below keep every
# transfer's start under it (weights: channels interleaved pair by pair; KV: block-major).
OFFSET_LIMIT = 2 ** 31 - 1


def pad(x, m):
    return -(-x // m) * m


def tile_bytes(dtype, tm, tk):
    """Bytes of one weight tile (tm rows x tk columns) in its format: bf16, or GGUF blocks as stored."""
    if dtype == "bf16":
        return tm * tk * 2
    return tm * (tk // 32) * BLOCK_BYTES[dtype]


def buckets(nb):
    """KV length buckets (blocks read): 1, 2, 4, ... below nb, then nb."""
    out, b = [], 1
    while b < nb:
        out.append(b)
        b *= 2
    return out + [nb]


def stage_rows(model):
    """Natural rows and K of each stage: QKV [Wq; Wk; Wv], O, GU (gate/up tiles alternate), D, LM."""
    H, F, V = model["hidden"], model["ffn"], model["vocab"]
    Q, KV = model["heads"] * model["headDim"], model["kvHeads"] * model["headDim"]
    return {"QKV": (Q + 2 * KV, H), "O": (H, Q), "GU": (2 * F, H), "D": (H, F), "LM": (V, H)}


def padded_rows(model, tm):
    """Rows past the natural ones (zero weights) per token for a tile height tm: layers x stages, plus the LM stage."""
    rows = stage_rows(model)
    per_layer = sum(pad(rows[s][0], NG * tm) - rows[s][0] for s in STAGES)
    return model["layers"] * per_layer + pad(rows["LM"][0], NG * tm) - rows["LM"][0]


def tm_fits(model, tm):
    """The contract's conditions on tm: S | tm, tm | F, tm | H (S = headDim, the hub's object)."""
    return tm % model["headDim"] == 0 and model["ffn"] % tm == 0 and model["hidden"] % tm == 0


def choose_tm(model, candidates):
    """Among the candidates that fit, the tm with the least padded rows per token; ties -> the larger tm."""
    fit = [t for t in candidates if tm_fits(model, t)]
    if not fit:
        raise ValueError(f"no gemv tile height among {list(candidates)} fits: decode_token needs headDim "
                         f"{model['headDim']} | tm, tm | ffn {model['ffn']}, tm | hidden {model['hidden']}")
    return min(fit, key=lambda t: (padded_rows(model, t), -t))


class DecodeLayout:
    """The decode_token contract for one model, weight formats, context and tiling (tm, tk, block)."""

    def __init__(self, model, weights, lm_head, ctx, tm, tk, block):
        m = model
        self.model, self.weights, self.lm_head, self.ctx = dict(m), weights, lm_head, ctx
        self.H, self.F, self.V, self.L = m["hidden"], m["ffn"], m["vocab"], m["layers"]
        self.nh, self.nkv, self.hd = m["heads"], m["kvHeads"], m["headDim"]
        self.Q, self.KV = self.nh * self.hd, self.nkv * self.hd
        self.tm, self.tk, self.block, self.S = tm, tk, block, self.hd
        self._validate()
        self.grp = self.nh // self.nkv
        self.NB = ctx // block
        self.buckets = buckets(self.NB)
        # KV groups (one kvg fifo each) and pack / attention-output fifos (<= 4 heads each)
        self.G = min(self.nkv, 4)
        self.gk = self.nkv // self.G
        self.P = -(-self.nkv // 4)
        self.pack_heads = [list(range(4 * i, min(4 * i + 4, self.nkv))) for i in range(self.P)]
        self.PN = pad(self.grp * self.hd + 2 * self.hd + PARAM_HEADER, self.S)
        self.params = pad(PARAM_HEADER + self.hd, self.S)
        # stages
        rows = stage_rows(m)
        self.stages = {}
        for s in STAGES + ("LM",):
            n, k = rows[s]
            R = pad(n, NG * tm)
            dtype = lm_head if s == "LM" else weights
            self.stages[s] = {"rows": n, "K": k, "R": R, "T": R // tm, "rho": R // (NG * tm), "dtype": dtype,
                              "ks": k // tk, "tileBytes": tile_bytes(dtype, tm, tk)}
        self._weights()
        self._kv()
        self._io()

    # --- checks -------------------------------------------------------------------------------------
    def _validate(self):
        H, F, Q, tm, tk = self.H, self.F, self.Q, self.tm, self.tk
        why = []
        if self.weights != self.lm_head:
            why.append(f"the LM head ({self.lm_head}) must have the projections' format ({self.weights}): the 8 weight "
                       "channels carry both through one ObjectFifo each, whose object (a pair of tiles) has one size "
                       "(python/iron/dataflow/objectfifo.py ObjectFifo obj_type); convert the LM head at load")
        for d in {self.weights, self.lm_head}:
            if d not in GEMV_ENTRIES:
                why.append(f"weight format {d} is not bf16, q4_1 or q4_0")
            if d == "q4_0" and tk % 64:
                why.append(f"Q4_0 tiles need tk % 64 == 0 (whole 4-byte words per k-slice), tk={tk}")
        if tk % 32:
            why.append(f"tk={tk} is not a multiple of 32")
        for name, n in (("hidden", H), ("qDim", Q), ("ffn", F)):
            if n % tk:
                why.append(f"tk={tk} does not divide {name}={n}")
        if not tm_fits(self.model, tm):
            why.append(f"tm={tm}: needs headDim {self.hd} | tm, tm | ffn {F}, tm | hidden {H}")
        if self.nh % self.nkv:
            why.append(f"heads={self.nh} is not a multiple of kvHeads={self.nkv}")
        if not 1 <= self.nkv <= 8:
            why.append(f"kvHeads={self.nkv}: one attention core per KV head, at most 8")
        elif self.nkv % min(self.nkv, 4):
            why.append(f"kvHeads={self.nkv} does not split into {min(self.nkv, 4)} equal KV groups")
        if self.hd % 32 and self.hd != 16:
            why.append(f"headDim={self.hd} is neither a multiple of 32 nor 16 (rope_*_bf16)")
        if H % self.hd:
            why.append(f"headDim={self.hd} does not divide hidden={H} (the hub moves headDim-value objects)")
        if self.ctx % self.block:
            why.append(f"ctx={self.ctx} is not a multiple of the attention block {self.block}")
        if self.V < NG * tm:
            why.append(f"vocab={self.V} < {NG}·tm: every gemv core needs LM rows in its first round (argmax first=1)")
        if why:
            raise ValueError("decode_token: " + "; ".join(why))

    # --- weights BO (argument 0) ---------------------------------------------------------------------
    def _weights(self):
        """Norms first, then the 8 channel streams interleaved pair by pair (pair p of channel ch at
        streams + (p·8 + ch)·pairBytes): every channel is ONE 3-D transfer starting below 2^31 bytes."""
        st = self.stages
        self.pair_bytes = 2 * st["QKV"]["tileBytes"]
        assert all(2 * st[s]["tileBytes"] == self.pair_bytes for s in st), "one pair size (weights == lm_head)"
        self.pairs_layer = sum(st[s]["rho"] * st[s]["ks"] for s in STAGES)   # pairs per channel per layer
        self.pairs_lm = st["LM"]["rho"] * st["LM"]["ks"]
        self.pairs = self.L * self.pairs_layer + self.pairs_lm               # pairs per channel per token
        self.norms_offset = 0
        self.norms_bytes = (2 * self.L + 1) * self.H * 2
        self.streams_offset = pad(self.norms_bytes, 64)
        self.stream_bytes = self.pairs * self.pair_bytes                     # per channel
        self.weights_bytes = self.streams_offset + CHANNELS * self.stream_bytes
        # the channel fill as a 3-D BD: [pairs (stride 8 pairs), d1, d0] with d0 <= 1023 words
        self.pair_d1 = next(d for d in range(1, self.pair_bytes + 1)
                            if self.pair_bytes % d == 0 and (self.pair_bytes // d) % 4 == 0
                            and self.pair_bytes // d <= 4092)

    def norm_offset(self, which, l=None):
        """Byte offset of attn_norm_w[l], ffn_norm_w[l] or output_norm_w in the weights BO."""
        H2 = self.H * 2
        if which == "attn":
            return self.norms_offset + 2 * l * H2
        if which == "ffn":
            return self.norms_offset + (2 * l + 1) * H2
        return self.norms_offset + 2 * self.L * H2

    def stream_offset(self, ch):
        """Byte offset of channel ch's first pair (ch = 2c + j)."""
        return self.streams_offset + ch * self.pair_bytes

    def pair_offset(self, ch, p):
        return self.streams_offset + (p * CHANNELS + ch) * self.pair_bytes

    def pair_index(self, l, s, r, ks):
        """Index in a channel's stream of the pair for layer l (None for LM), stage s, round r, k-slice ks."""
        st = self.stages
        if s == "LM":
            base = self.L * self.pairs_layer
        else:
            base = l * self.pairs_layer + sum(st[x]["rho"] * st[x]["ks"] for x in STAGES[:STAGES.index(s)])
        return base + r * st[s]["ks"] + ks

    def tile_rows(self, s, t):
        """The weight rows of stage s's tile t: (matrix, first row) — QKV: Wq|Wk|Wv stacked; GU: t even gate,
        t odd up; rows past the natural ones are zero (matrix None)."""
        st, tm = self.stages[s], self.tm
        if s == "GU":
            if t >= 2 * self.F // tm:
                return None, 0
            return ("gate" if t % 2 == 0 else "up"), (t // 2) * tm
        row = t * tm
        if row >= st["rows"]:
            return None, 0
        if s == "QKV":
            if row < self.Q:
                return "q", row
            if row < self.Q + self.KV:
                return "k", row - self.Q
            return "v", row - self.Q - self.KV
        return {"O": "o", "D": "down", "LM": "output"}[s], row

    # --- KV BO (argument 1) and kv_row (argument 2) ----------------------------------------------------
    def _kv(self):
        """Block-major: (block NB, layer L, group G, head-in-group gk, K|V, blockRow, hd). A group's blocks of a
        layer are `slab` apart: its fill is ONE 3-D transfer from off(l, grp, 0, K) inside the first slab."""
        b, hd = self.block, self.hd
        self.chunk = self.gk * 2 * b * hd                       # one block of one group: gk heads' K and V
        self.slab = self.L * self.G * self.chunk                # one block of every layer and group
        self.kv_elements = self.NB * self.slab
        self.kv_bytes = 2 * self.kv_elements
        self.kv_row_elements = self.off(self.L - 1, self.G - 1, self.gk - 1, 1) + hd
        self.kv_row_bytes = 2 * self.kv_row_elements
        self.kv_d1 = next(d for d in range(1, self.chunk + 1)
                          if self.chunk % d == 0 and (self.chunk // d) % 2 == 0 and self.chunk // d <= 2046)

    def off(self, l, grp, i, kv):
        """Element offset of layer l, group grp, head-in-group i, K (0) or V (1) of block 0, row 0 (static)."""
        b, hd = self.block, self.hd
        return ((l * self.G + grp) * self.gk + i) * 2 * b * hd + kv * b * hd

    def base(self, pos):
        """Element offset in the KV BO where kv_row starts for position pos (the host re-binds it per token)."""
        return (pos // self.block) * self.slab + (pos % self.block) * self.hd

    def kv_fill(self, l, grp, bucket):
        """(start element, [chunks, chunk size], stride) of the fill of layer l, group grp, bucket blocks."""
        return self.off(l, grp, 0, 0), bucket, self.chunk, self.slab

    # --- io BO (argument 3) ----------------------------------------------------------------------------
    LAYER_REGIONS = ("qkv", "o", "gu", "d", "packs", "kqv", "attn_norm", "ffn_inp", "ffn_norm", "act", "l_out")

    def _io(self):
        st = self.stages
        size = {"params": self.params, "x": self.H, "qkv": st["QKV"]["R"], "o": st["O"]["R"], "gu": st["GU"]["R"],
                "d": st["D"]["R"], "packs": self.nkv * self.PN, "kqv": self.Q, "attn_norm": self.H,
                "ffn_inp": self.H, "ffn_norm": self.H, "act": self.F, "l_out": self.H, "result_norm": self.H,
                "logits": st["LM"]["R"], "bests": NG * self.tm, "token": self.S}
        self.io_size = size
        at = 0
        self.io_offsets = {}
        for r in ("params", "x"):
            self.io_offsets[r] = at
            at = pad(at + size[r], ALIGN)
        self.layer_base = at
        for r in self.LAYER_REGIONS:
            self.io_offsets[r] = at - self.layer_base       # within a layer's block
            at = pad(at + size[r], ALIGN)
        self.layer_stride = at - self.layer_base
        at = self.layer_base + self.L * self.layer_stride
        for r in ("result_norm", "logits", "bests", "token"):
            self.io_offsets[r] = at
            at = pad(at + size[r], ALIGN)
        self.io_elements = at
        self.io_bytes = 2 * at

    def io(self, region, l=None):
        """Element offset of an io region (per-layer regions need l)."""
        if region in self.LAYER_REGIONS:
            return self.layer_base + l * self.layer_stride + self.io_offsets[region]
        return self.io_offsets[region]

    def region_at(self, arg, offset):
        """(region, layer or None) of a byte offset in argument arg (0 weights, 1 kv, 2 kv_row, 3 io): the names
        the design's region markers use (roles.expect)."""
        if arg == 0:
            if offset >= self.streams_offset:     # the channel whose pair starts here
                return f"weights{(offset - self.streams_offset) // self.pair_bytes % CHANNELS}", None
            i = (offset - self.norms_offset) // (2 * self.H)
            if i >= 2 * self.L:
                return "output_norm_w", None
            return ("attn_norm_w" if i % 2 == 0 else "ffn_norm_w"), i // 2
        if arg == 1:
            return "kv", (offset // 2 % self.slab) // (self.G * self.chunk)
        if arg == 2:
            return "kv_row", (offset // 2) // (self.G * self.chunk)
        e = offset // 2
        if self.layer_base <= e < self.layer_base + self.L * self.layer_stride:
            l, within = divmod(e - self.layer_base, self.layer_stride)
            for r in self.LAYER_REGIONS:
                if self.io_offsets[r] <= within < self.io_offsets[r] + self.io_size[r]:
                    return r, l
            return None
        for r in ("params", "x", "result_norm", "logits", "bests", "token"):
            if self.io_offsets[r] <= e < self.io_offsets[r] + self.io_size[r]:
                return r, None
        return None

    # --- kernels ---------------------------------------------------------------------------------------
    def kernel_name(self, bucket):
        return f"decode_{self.weights}_{self.lm_head}_b{bucket}"

    def arguments(self):
        """[(name, bytes, role)] of every decode_token kernel (aiecc: opcode, instr, ninstr, then these)."""
        return [("weights", self.weights_bytes, "weight"), ("kv", self.kv_bytes, "kvCache"),
                ("kv_row", self.kv_row_bytes, "kvRow"), ("io", self.io_bytes, "io")]

    def to_json(self, positions=(0, 1, 63, 64, 1000)):
        """Every number the Swift DecodeLayout computes, for PythonMirrorTests."""
        positions = [p for p in positions if p < self.ctx] + [self.ctx - 1]
        return {
            "model": {k: self.model[k] for k in ("hidden", "ffn", "heads", "kvHeads", "headDim", "vocab", "layers")},
            "weights": self.weights, "lmHead": self.lm_head, "ctx": self.ctx,
            "tm": self.tm, "tk": self.tk, "block": self.block, "S": self.S, "NG": NG, "PN": self.PN,
            "G": self.G, "gk": self.gk, "packFifos": self.P, "paramsElements": self.params,
            "stages": {s: dict(v) for s, v in self.stages.items()},
            "paddedRowsPerToken": padded_rows(self.model, self.tm),
            "buckets": self.buckets, "kernels": [self.kernel_name(b) for b in self.buckets],
            "arguments": [[n, b, r] for n, b, r in self.arguments()],
            "weightsBO": {"bytes": self.weights_bytes, "normsOffset": self.norms_offset, "normsBytes": self.norms_bytes,
                          "attnNorm": [self.norm_offset("attn", l) for l in range(self.L)],
                          "ffnNorm": [self.norm_offset("ffn", l) for l in range(self.L)],
                          "outputNorm": self.norm_offset("output"),
                          "streamsOffset": self.streams_offset, "pairBytes": self.pair_bytes,
                          "pairsPerLayer": self.pairs_layer, "pairsLM": self.pairs_lm, "pairsPerChannel": self.pairs,
                          "streamBytesPerChannel": self.stream_bytes,
                          "channelOffsets": [self.stream_offset(ch) for ch in range(CHANNELS)]},
            "kvBO": {"elements": self.kv_elements, "bytes": self.kv_bytes, "NB": self.NB, "chunk": self.chunk,
                     "slab": self.slab, "off": {f"{l},{g},{i},{kv}": self.off(l, g, i, kv)
                                                for l in sorted({0, self.L - 1}) for g in range(self.G)
                                                for i in range(self.gk) for kv in (0, 1)},
                     "base": {str(p): self.base(p) for p in positions},
                     "kvRowElements": self.kv_row_elements, "kvRowBytes": self.kv_row_bytes},
            "ioBO": {"elements": self.io_elements, "bytes": self.io_bytes, "layerBase": self.layer_base,
                     "layerStride": self.layer_stride, "sizes": self.io_size,
                     "offsets": {r: o for r, o in self.io_offsets.items() if r not in self.LAYER_REGIONS},
                     "layerOffsets": {r: self.io_offsets[r] for r in self.LAYER_REGIONS},   # + layerBase + l·layerStride
                     "lastLayer": {r: self.io(r, self.L - 1) for r in self.LAYER_REGIONS}},
        }
