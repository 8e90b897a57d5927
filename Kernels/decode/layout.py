# layout.py: the numbers of the decode contract (issue 12 spec + its LM-head addendum, Kernels/decode/README.md) — tiling choices, stages, padded rows, the weights / kv / kv_row / io / lm_weights layouts, kernel names — computed in ONE place for Python.
#
# Plain Python (no aie import): Kernels/decode/decode_token.py and lm_head.py build their runtime sequences from
# it and Tools/decode_designs.py prints it (--layout-json) for PythonMirrorTests, which compares it with Swift's
# DecodeLayout. Sizes are in bf16 elements unless a name says bytes.
# Two runs per token, one runlist: decode_<w>_b<bucket> (every layer; ends by draining the final residual into
# io.x_final) and lm_head_<h> (result_norm, the LM stage, the argmax) in the LM head's own format h and tiling
# (tm_lm, tk_lm). They share the io BO (IOLayout), whose last regions are sized by the LM tiling.
NG = 16                                  # gemv cores: g = 4c + k on Tile(c, 2 + k), columns 0-3
CHANNELS = 8                             # weight channels (c, j): shim (c, 0) MM2S j -> memory tile (c, 1)
BLOCK_BYTES = {"q4_1": 20, "q4_0": 18}   # GGUF bytes per 32 weights (Q4_1: f16 d, f16 m, 16 B; Q4_0: f16 d, 16 B)
GEMV_ENTRIES = {"bf16": "gemv_bf16", "q4_1": "gemv_q4_1_blocks", "q4_0": "gemv_q4_0"}
PARAM_HEADER = 16                        # int32[8] [pos, pos, 1, bucket, 0...] in bf16 slots
STATE_HEADER = 16                        # attention state per head: m, l, 14 unused floats, acc[hd] (attn_decode.cc)
ALIGN = 32                               # io regions start at multiples of 32 bf16 (64 B)
OUT_VECTOR = 16                          # gemv_out_bf16 converts rows in vectors of 16 (gemv_bf16.cc kVec)
STAGES = ("QKV", "O", "GU", "D")         # decode_token's stages per layer, in order; lm_head runs "LM" once
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


def pair_d1(pair_bytes):
    """The middle dimension of a channel fill [pairs (stride 8 pairs), d1, pairBytes/d1]: the smallest d1 whose
    inner size is whole 4-byte words and at most 1023 words (the shim BD's inner wrap, 10 bits)."""
    return next(d for d in range(1, pair_bytes + 1)
                if pair_bytes % d == 0 and (pair_bytes // d) % 4 == 0 and pair_bytes // d <= 4092)


def buckets(nb):
    """KV length buckets (blocks read): 1, 2, 4, ... below nb, then nb."""
    out, b = [], 1
    while b < nb:
        out.append(b)
        b *= 2
    return out + [nb]


def family_extra(model):
    """Issue 17: what a model family adds to the attention half, as the hub applies it before RoPE —
    (weights per layer in the norms region (bf16 values), io region of the fused rows (bf16 values), their names):
    Qwen2 the q/k/v biases (Q + 2KV) and the biased q ‖ k ‖ v rows; Qwen3 q_norm ‖ k_norm (2·headDim) and the normed
    q ‖ k rows; Llama nothing (its layouts are unchanged)."""
    fam = model.get("family", "llama")
    Q, KV = model["heads"] * model["headDim"], model["kvHeads"] * model["headDim"]
    if fam == "qwen2":
        return Q + 2 * KV, Q + 2 * KV, "qkv_bias_w"
    if fam == "qwen3":
        return 2 * model["headDim"], Q + KV, "qk_norm_w"
    if fam != "llama":
        raise ValueError(f"model family {fam} is not llama, qwen2 or qwen3")
    return 0, 0, None


def stage_rows(model):
    """Natural rows and K of each stage: QKV [Wq; Wk; Wv], O, GU (gate/up tiles alternate), D, and LM (lm_head)."""
    H, F, V = model["hidden"], model["ffn"], model["vocab"]
    Q, KV = model["heads"] * model["headDim"], model["kvHeads"] * model["headDim"]
    return {"QKV": (Q + 2 * KV, H), "O": (H, Q), "GU": (2 * F, H), "D": (H, F), "LM": (V, H)}


def padded_rows(model, tm):
    """Rows past the natural ones (zero weights) per token of decode_token for a tile height tm: layers x stages."""
    rows = stage_rows(model)
    return model["layers"] * sum(pad(rows[s][0], NG * tm) - rows[s][0] for s in STAGES)


def tm_fits(model, tm):
    """The contract's conditions on decode_token's tm: S | tm, tm | F, tm | H (S = headDim, the hub's object)."""
    return tm % model["headDim"] == 0 and model["ffn"] % tm == 0 and model["hidden"] % tm == 0


def choose_tm(model, candidates):
    """Among the candidates that fit, the tm with the least padded rows per token; ties -> the larger tm."""
    fit = [t for t in candidates if tm_fits(model, t)]
    if not fit:
        raise ValueError(f"no gemv tile height among {list(candidates)} fits: decode_token needs headDim "
                         f"{model['headDim']} | tm, tm | ffn {model['ffn']}, tm | hidden {model['hidden']}")
    return min(fit, key=lambda t: (padded_rows(model, t), -t))


def lm_padded_rows(model, tm):
    """Vocab rows past the natural ones (zero weights) of the LM stage for a tile height tm."""
    return pad(model["vocab"], NG * tm) - model["vocab"]


def lm_tiling_broken(model, dtype, tm, tk):
    """Why lm_head cannot take the tiling (tm, tk) in weight format dtype, or None: tm % 16 (gemv_out_bf16's
    vectors), vocab >= 16·tm (every core has valid rows in round 0: argmax first = 1), headDim | 16·tm (the hub
    reads the bests region in headDim objects), tk % 32, tk | hidden, Q4_0 tk % 64 (whole 4-byte words)."""
    H, V, hd = model["hidden"], model["vocab"], model["headDim"]
    if tm % OUT_VECTOR:
        return f"tm={tm} is not a multiple of {OUT_VECTOR} (gemv_out_bf16's vectors)"
    if V < NG * tm:
        return f"vocab={V} < {NG}·tm={NG * tm}: every gemv core needs LM rows in its first round (argmax first=1)"
    if (NG * tm) % hd:
        return f"headDim={hd} does not divide {NG}·tm={NG * tm} (the hub reads the bests in headDim-value objects)"
    if tk % 32:
        return f"tk={tk} is not a multiple of 32"
    if H % tk:
        return f"tk={tk} does not divide hidden={H}"
    if dtype == "q4_0" and tk % 64:
        return f"Q4_0 tiles need tk % 64 == 0 (whole 4-byte words per k-slice), tk={tk}"
    return None


def choose_lm_tiling(model, dtype, candidates):
    """lm_head's own (tm_lm, tk_lm): among the candidate (tm, tk) pairs that fit (lm_tiling_broken), the least
    padded vocab rows; ties -> the larger tm."""
    fit = [(tm, tk) for tm, tk in candidates if lm_tiling_broken(model, dtype, tm, tk) is None]
    if not fit:
        why = "; ".join(f"tm={tm} tk={tk}: {lm_tiling_broken(model, dtype, tm, tk)}" for tm, tk in candidates)
        raise ValueError(f"lm_head: no tiling fits ({why or 'none offered'})")
    return min(fit, key=lambda c: (lm_padded_rows(model, c[0]), -c[0]))


def _stage(dtype, rows, k, tm, tk):
    R = pad(rows, NG * tm)
    return {"rows": rows, "K": k, "R": R, "T": R // tm, "rho": R // (NG * tm), "dtype": dtype, "ks": k // tk,
            "tileBytes": tile_bytes(dtype, tm, tk)}


class IOLayout:
    """The io BO both runs share (bf16 elements, each region at a multiple of 32): params, x; per layer qkv, o, gu,
    d, packs, kqv, attn_norm, ffn_inp, ffn_norm, act, l_out; then x_final (decode_token's last drain, lm_head's
    input), result_norm, logits (pad(vocab, 16·tm_lm)), bests (16·tm_lm), token (S)."""
    LAYER_REGIONS = ("qkv", "o", "gu", "d", "packs", "kqv", "attn_norm", "ffn_inp", "ffn_norm", "act", "l_out")
    HEAD_REGIONS = ("params", "x")
    TAIL_REGIONS = ("x_final", "result_norm", "logits", "bests", "token")

    def __init__(self, model, tm, tm_lm):
        m = model
        fused = family_extra(m)[1]
        if fused:   # issue 17: the hub's biased / normed rows (the verify taps Qcur.. / Qcur_normed..), last in a layer
            self.LAYER_REGIONS = IOLayout.LAYER_REGIONS + ("qkv_fused",)
        H, F, hd = m["hidden"], m["ffn"], m["headDim"]
        Q, KV = m["heads"] * hd, m["kvHeads"] * hd
        grp = m["heads"] // m["kvHeads"]
        self.L, self.S = m["layers"], hd
        self.PN = pad(grp * hd + 2 * hd + PARAM_HEADER, self.S)
        self.params = pad(PARAM_HEADER + hd, self.S)
        rows = stage_rows(m)

        def R(s, t):
            return pad(rows[s][0], NG * t)
        # issue 17 (README "Qwen fp32 rows"): a Qwen family's QKV stage writes fp32 rows, 2 bf16 slots a value
        self.qkv_f32 = bool(fused)
        size = {"params": self.params, "x": H, "qkv": R("QKV", tm) * (2 if fused else 1), "o": R("O", tm), "gu": R("GU", tm),
                "d": R("D", tm), "packs": m["kvHeads"] * self.PN, "kqv": Q, "attn_norm": H, "ffn_inp": H,
                "ffn_norm": H, "act": F, "l_out": H, "x_final": H, "result_norm": H, "logits": R("LM", tm_lm),
                "bests": NG * tm_lm, "token": self.S}
        if fused:
            size["qkv_fused"] = fused
        self.size = size
        at = 0
        self.offsets = {}
        for r in self.HEAD_REGIONS:
            self.offsets[r] = at
            at = pad(at + size[r], ALIGN)
        self.layer_base = at
        for r in self.LAYER_REGIONS:
            self.offsets[r] = at - self.layer_base       # within a layer's block
            at = pad(at + size[r], ALIGN)
        self.layer_stride = at - self.layer_base
        at = self.layer_base + self.L * self.layer_stride
        for r in self.TAIL_REGIONS:
            self.offsets[r] = at
            at = pad(at + size[r], ALIGN)
        self.elements = at
        self.bytes = 2 * at

    def io(self, region, l=None):
        """Element offset of an io region (per-layer regions need l)."""
        if region in self.LAYER_REGIONS:
            return self.layer_base + l * self.layer_stride + self.offsets[region]
        return self.offsets[region]

    def region_at(self, offset):
        """(region, layer or None) of a byte offset of the io BO, or None between regions."""
        e = offset // 2
        if self.layer_base <= e < self.layer_base + self.L * self.layer_stride:
            l, within = divmod(e - self.layer_base, self.layer_stride)
            for r in self.LAYER_REGIONS:
                if self.offsets[r] <= within < self.offsets[r] + self.size[r]:
                    return r, l
            return None
        for r in self.HEAD_REGIONS + self.TAIL_REGIONS:
            if self.offsets[r] <= e < self.offsets[r] + self.size[r]:
                return r, None
        return None

    def to_json(self):
        return {"elements": self.elements, "bytes": self.bytes, "layerBase": self.layer_base,
                "layerStride": self.layer_stride, "sizes": dict(self.size),
                "offsets": {r: o for r, o in self.offsets.items() if r not in self.LAYER_REGIONS},
                "layerOffsets": {r: self.offsets[r] for r in self.LAYER_REGIONS},   # + layerBase + l·layerStride
                "lastLayer": {r: self.io(r, self.L - 1) for r in self.LAYER_REGIONS}}


class LMHeadLayout:
    """lm_head_<h>: the LM stage in its own format and tiling (tm_lm, tk_lm) and its two arguments, lm_weights and
    the shared io. lm_weights (uint8): output_norm_w (hidden bf16) at 0, then from the next 64-byte boundary the 8
    channel streams interleaved pair by pair (pair p of channel ch at streams + (8p + ch)·pairBytes); a channel's
    pairs in the order `for r in 0..<rho: for ks in 0..<hidden/tk_lm`, a pair = core 4c+2j's tile ‖ core
    4c+2j+1's tile of tile index r·16 + core."""

    def __init__(self, model, dtype, tm, tk, io):
        why = lm_tiling_broken(model, dtype, tm, tk) if dtype in GEMV_ENTRIES else f"weight format {dtype} is not bf16, q4_1 or q4_0"
        if why:
            raise ValueError(f"lm_head: {why}")
        self.model, self.dtype, self.tm, self.tk, self.io_layout = dict(model), dtype, tm, tk, io
        self.H, self.V, self.S = model["hidden"], model["vocab"], model["headDim"]
        n, k = stage_rows(model)["LM"]
        self.stage = _stage(dtype, n, k, tm, tk)
        self.padded_rows = self.stage["R"] - n
        self.pair_bytes = 2 * self.stage["tileBytes"]
        self.pairs = self.stage["rho"] * self.stage["ks"]                    # pairs per channel
        self.norm_offset = 0
        self.norm_bytes = 2 * self.H
        self.streams_offset = pad(self.norm_bytes, 64)
        self.stream_bytes = self.pairs * self.pair_bytes
        self.weights_bytes = self.streams_offset + CHANNELS * self.stream_bytes
        self.pair_d1 = pair_d1(self.pair_bytes)

    def stream_offset(self, ch):
        """Byte offset of channel ch's first pair (ch = 2c + j)."""
        return self.streams_offset + ch * self.pair_bytes

    def pair_offset(self, ch, p):
        return self.streams_offset + (p * CHANNELS + ch) * self.pair_bytes

    def pair_index(self, r, ks):
        return r * self.stage["ks"] + ks

    def tile_rows(self, t):
        """(matrix, first row) of the LM stage's tile t: ("output", t·tm_lm), or (None, 0) past the vocab (zeros)."""
        row = t * self.tm
        return (None, 0) if row >= self.V else ("output", row)

    def region_at(self, arg, offset):
        """(region, None) of a byte offset in argument arg (0 lm_weights, 1 io)."""
        if arg == 0:
            if offset >= self.streams_offset:
                return f"weights{(offset - self.streams_offset) // self.pair_bytes % CHANNELS}", None
            return "output_norm_w", None
        return self.io_layout.region_at(offset)

    def kernel_name(self):
        return f"lm_head_{self.dtype}"

    def arguments(self):
        """[(name, bytes, role)] of the lm_head kernel (aiecc: opcode, instr, ninstr, then these)."""
        return [("lm_weights", self.weights_bytes, "weight"), ("io", self.io_layout.bytes, "io")]

    def to_json(self):
        return {"kernel": self.kernel_name(), "dtype": self.dtype, "tm": self.tm, "tk": self.tk,
                "stage": dict(self.stage), "paddedRows": self.padded_rows,
                "arguments": [[n, b, r] for n, b, r in self.arguments()],
                "lmWeightsBO": {"bytes": self.weights_bytes, "outputNorm": self.norm_offset, "normBytes": self.norm_bytes,
                                "streamsOffset": self.streams_offset, "pairBytes": self.pair_bytes,
                                "pairsPerChannel": self.pairs, "streamBytesPerChannel": self.stream_bytes,
                                "channelOffsets": [self.stream_offset(ch) for ch in range(CHANNELS)]}}


class DecodeLayout:
    """The decode contract for one model, weight formats (projections w, LM head h), context and tilings: the
    decode_token kernels (tm, tk, block) and the lm_head kernel (tm_lm, tk_lm, `.lm`), their shared io."""

    def __init__(self, model, weights, lm_head, ctx, tm, tk, block, tm_lm, tk_lm):
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
        rows = stage_rows(m)
        self.stages = {s: _stage(weights, rows[s][0], rows[s][1], tm, tk) for s in STAGES}
        self.io_layout = IOLayout(m, tm, tm_lm)
        self.lm = LMHeadLayout(m, lm_head, tm_lm, tk_lm, self.io_layout)
        self.PN, self.params = self.io_layout.PN, self.io_layout.params
        self._weights()
        self._kv()
        self._io()

    # --- checks -------------------------------------------------------------------------------------
    def _validate(self):
        H, F, Q, tm, tk = self.H, self.F, self.Q, self.tm, self.tk
        why = []
        for d in (self.weights, self.lm_head):
            if d not in GEMV_ENTRIES:
                why.append(f"weight format {d} is not bf16, q4_1 or q4_0")
        if self.weights == "q4_0" and tk % 64:
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
        if why:
            raise ValueError("decode_token: " + "; ".join(why))

    # --- weights BO (argument 0) ---------------------------------------------------------------------
    def _weights(self):
        """Norms first (attn_norm_w[l], ffn_norm_w[l] per layer), then the 8 channel streams interleaved pair by pair
        (pair p of channel ch at streams + (p·8 + ch)·pairBytes): every channel is ONE 3-D transfer starting below
        2^31 bytes. output_norm_w is lm_head's (lm_weights)."""
        st = self.stages
        self.pair_bytes = 2 * st["QKV"]["tileBytes"]
        self.pairs_layer = sum(st[s]["rho"] * st[s]["ks"] for s in STAGES)   # pairs per channel per layer
        self.pairs = self.L * self.pairs_layer                               # pairs per channel per token
        self.norms_offset = 0
        # issue 17: a family's attention-half weights (Qwen2 biases, Qwen3 q/k norms) per layer after the norms
        self.extra, _, self.extra_name = family_extra(self.model)
        self.norms_bytes = 2 * self.L * self.H * 2 + self.L * self.extra * 2
        self.streams_offset = pad(self.norms_bytes, 64)
        self.stream_bytes = self.pairs * self.pair_bytes                     # per channel
        self.weights_bytes = self.streams_offset + CHANNELS * self.stream_bytes
        self.pair_d1 = pair_d1(self.pair_bytes)

    def norm_offset(self, which, l):
        """Byte offset of attn_norm_w[l] or ffn_norm_w[l] in the weights BO, or ("extra") of the family's
        attention-half weights of layer l (issue 17)."""
        if which == "extra":
            return self.norms_offset + 2 * self.L * self.H * 2 + l * self.extra * 2
        return self.norms_offset + (2 * l + (which == "ffn")) * self.H * 2

    def stream_offset(self, ch):
        """Byte offset of channel ch's first pair (ch = 2c + j)."""
        return self.streams_offset + ch * self.pair_bytes

    def pair_offset(self, ch, p):
        return self.streams_offset + (p * CHANNELS + ch) * self.pair_bytes

    def pair_index(self, l, s, r, ks):
        """Index in a channel's stream of the pair for layer l, stage s, round r, k-slice ks."""
        st = self.stages
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
        return {"O": "o", "D": "down"}[s], row

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

    # --- io BO (argument 3; lm_head's argument 1) ---------------------------------------------------------
    LAYER_REGIONS = IOLayout.LAYER_REGIONS

    def _io(self):
        io = self.io_layout
        self.LAYER_REGIONS = io.LAYER_REGIONS
        self.io_size, self.io_offsets = io.size, io.offsets
        self.layer_base, self.layer_stride = io.layer_base, io.layer_stride
        self.io_elements, self.io_bytes = io.elements, io.bytes

    def io(self, region, l=None):
        """Element offset of an io region (per-layer regions need l)."""
        return self.io_layout.io(region, l)

    def region_at(self, arg, offset):
        """(region, layer or None) of a byte offset in argument arg (0 weights, 1 kv, 2 kv_row, 3 io): the names
        the design's region markers use (roles.expect)."""
        if arg == 0:
            if offset >= self.streams_offset:     # the channel whose pair starts here
                return f"weights{(offset - self.streams_offset) // self.pair_bytes % CHANNELS}", None
            if self.extra and offset >= self.norm_offset("extra", 0):
                return self.extra_name, (offset - self.norm_offset("extra", 0)) // (2 * self.extra)
            i = (offset - self.norms_offset) // (2 * self.H)
            return ("attn_norm_w" if i % 2 == 0 else "ffn_norm_w"), i // 2
        if arg == 1:
            return "kv", (offset // 2 % self.slab) // (self.G * self.chunk)
        if arg == 2:
            return "kv_row", (offset // 2) // (self.G * self.chunk)
        return self.io_layout.region_at(offset)

    # --- kernels ---------------------------------------------------------------------------------------
    def kernel_name(self, bucket):
        return f"decode_{self.weights}_b{bucket}"

    def kernel_names(self):
        """Every kernel of the decode xclbin: one decode_token per bucket, then the one lm_head."""
        return [self.kernel_name(b) for b in self.buckets] + [self.lm.kernel_name()]

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
            "buckets": self.buckets, "kernels": self.kernel_names(),
            "arguments": [[n, b, r] for n, b, r in self.arguments()],
            "weightsBO": {"bytes": self.weights_bytes, "normsOffset": self.norms_offset, "normsBytes": self.norms_bytes,
                          "attnNorm": [self.norm_offset("attn", l) for l in range(self.L)],
                          "ffnNorm": [self.norm_offset("ffn", l) for l in range(self.L)],
                          "streamsOffset": self.streams_offset, "pairBytes": self.pair_bytes,
                          "pairsPerLayer": self.pairs_layer, "pairsPerChannel": self.pairs,
                          "streamBytesPerChannel": self.stream_bytes,
                          "channelOffsets": [self.stream_offset(ch) for ch in range(CHANNELS)]},
            "kvBO": {"elements": self.kv_elements, "bytes": self.kv_bytes, "NB": self.NB, "chunk": self.chunk,
                     "slab": self.slab, "off": {f"{l},{g},{i},{kv}": self.off(l, g, i, kv)
                                                for l in sorted({0, self.L - 1}) for g in range(self.G)
                                                for i in range(self.gk) for kv in (0, 1)},
                     "base": {str(p): self.base(p) for p in positions},
                     "kvRowElements": self.kv_row_elements, "kvRowBytes": self.kv_row_bytes},
            "ioBO": self.io_layout.to_json(),
            "lm": self.lm.to_json(),
            **({"familyExtra": {"family": self.model["family"], "values": self.extra, "fusedValues": self.io_size["qkv_fused"],
                                "offsets": [self.norm_offset("extra", l) for l in range(self.L)]}} if self.extra else {}),
        }


# --- prefill (issue 13): one run per chunk of C = block rows, every layer, per KV bucket -----------------------------
PREFILL_HEADER = 16      # the chunk's header: int32[8] [start, rows, 1, bucket, 0...] in bf16 slots
PREFILL_UNIT_MAX = 1024  # the row core's object size U is at most this many values (2 KB)
MMUL = 8                 # aie::mmul<8, 8, 8> bf16 (aieApi.mmul.bf16Shapes): C, tm, tk multiples of 8
ATTN_ROWS = 8            # the attention core's output piece: 8 query rows of one head


def _gcd(*xs):
    g = 0
    for x in xs:
        while x:
            g, x = x, g % x
    return g


def prefill_unit(model, tm):
    """U, the row core's fifo object (values): the largest multiple of lcm(headDim, tm) that divides hidden, qDim,
    2·kvDim and ffn, at most PREFILL_UNIT_MAX: every row the row core moves (x, qkv, Q, K‖V, gu tile pairs, act) is
    a whole number of objects, and a gu object pair holds whole (gate, up) tile pairs."""
    H, F, hd = model["hidden"], model["ffn"], model["headDim"]
    Q, KV = model["heads"] * hd, model["kvHeads"] * hd
    g = _gcd(H, Q, 2 * KV, F)
    base = hd * tm // _gcd(hd, tm)
    fit = [u for u in range(base, min(g, PREFILL_UNIT_MAX) + 1, base) if g % u == 0]
    if not fit:
        raise ValueError(f"prefill: no row-core object size: lcm(headDim {hd}, tm {tm}) = {base} divides none of the "
                         f"common divisors of hidden {H}, qDim {Q}, 2·kvDim {2 * KV}, ffn {F} up to {PREFILL_UNIT_MAX}")
    return fit[-1]


class PrefillLayout:
    """The prefill contract (issue 13, Kernels/decode/README.md "Prefill"): prefill_<w>_b<bucket> runs every layer of
    ONE chunk of C = block rows (the rows at positions start .. start + C - 1, start a multiple of the block), reading
    the SAME weights BO and channel streams as decode_<w>_b<bucket> (DecodeLayout), the bucket's KV blocks of the
    block-major cache, writing the chunk's block of every (layer, KV head, K|V) through kv_blk (a sub-buffer of kv
    at block start/C, re-bound per chunk), every intermediate of the C rows into pio (its own BO), and the final
    residual of the chunk's last prompt row into io.x_final (decode's io), lm_head's input.
    Arguments (aiecc: opcode, instr, ninstr, then these 5): weights, kv, kv_blk, pio, io."""
    HEAD_REGIONS = ("hdr", "cs", "x")
    NORM_LANES = 32      # rmsnorm_sum_bf16's fp32 lanes (its kVec), the row core's pr_acc
    LAYER_REGIONS = ("attn_norm", "qkv", "qpack", "kqv", "o", "ffn_inp", "ffn_norm", "gu", "act", "d", "l_out")
    # the GEMM stages: the region their X slices come from (row stride) and the region their rows go to
    X_FROM = {"QKV": "attn_norm", "O": "kqv", "GU": "ffn_norm", "D": "act"}
    OUT = {"QKV": "qkv", "O": "o", "GU": "gu", "D": "d"}

    def __init__(self, dec, budget=None, x_depth=None):
        """budget: a core's data memory less its stack (Tools/decode_designs.py passes Kernels/npu2_target.json's), from
        which x_depth is chosen; a design is given the chosen x_depth instead (prefill.py's keyword, 2 when absent)."""
        self.dec = d = dec
        m = d.model
        self.model, self.weights, self.ctx = d.model, d.weights, d.ctx
        self.H, self.F, self.L, self.nh, self.nkv, self.hd = d.H, d.F, d.L, d.nh, d.nkv, d.hd
        self.Q, self.KV, self.grp, self.tm, self.tk, self.block = d.Q, d.KV, d.grp, d.tm, d.tk, d.block
        self.C = d.block                                    # chunk rows = the attention block
        self._validate()
        self.U = prefill_unit(m, d.tm)
        # KV group channels of the prefill (<= 4 heads each; heads are contiguous in a layer's block, whatever
        # decode's G): KG groups of kgk heads, split at memory tiles (4, 1) and (7, 1)
        self.KG = 2 if self.nkv % 2 == 0 else 1              # 2 groups when the heads split evenly (more lanes)
        self.kgk = self.nkv // self.KG
        self.kv_heads = [list(range(g * self.kgk, (g + 1) * self.kgk)) for g in range(self.KG)]
        self.P, self.pack_heads = self.KG, self.kv_heads    # pack fifo g: KV group g's heads
        # attention cores: per KV group, `lanes` cores (query index j = r·lanes + n of lane n in repeat r), each over
        # the group's heads in turn; the group's K||V blocks broadcast to its lanes, so read `reps` = grp / lanes
        # times per layer (once when grp <= 4)
        self.lanes = max(n for n in range(1, min(self.grp, 4) + 1) if self.grp % n == 0)
        self.reps = self.grp // self.lanes
        self.PQ = self.C * self.hd + self.hd                # a pack object: one query head's C rows, then a header row
        self.kvb = 2 * self.block * self.hd                 # one head's K block || V block
        self.stages = d.stages
        # issue 17: a Qwen family's step (the q/k/v biases or the per-head q/k norms) as a row-core pass between the
        # QKV stage and RoPE: the qkv rows in, the family's weights (decode's, after the norms) in, the fused q ‖ k ‖ v
        # rows out to pio qkv_fused, which RoPE and the K‖V rows then read instead of qkv
        self.family = m.get("family", "llama")
        self.extra, self.extra_name = d.extra, d.extra_name
        self.fused = self.Q + 2 * self.KV if self.family != "llama" else 0
        # single rounding (decode's "Qwen fp32 rows"): a Qwen QKV stage writes fp32 rows (two C/2-row objects per round,
        # prefill_mm_out_f32), pio qkv holds 2·R_QKV bf16-typed slots per row, the family core rounds once
        self.qkv_f32 = bool(self.fused)
        # the row core's row buffers (values): H, rows arrive as U-value objects (issue 17); the family core's two
        # buffers share their type (copy_in_bf16 / copy_out_bf16 have one signature) and hold a fused row
        self.RM = max(self.H, self.fused)
        self.LAYER_REGIONS = (PrefillLayout.LAYER_REGIONS[:2] + ("qkv_fused",) + PrefillLayout.LAYER_REGIONS[2:]
                              if self.fused else PrefillLayout.LAYER_REGIONS)
        # Qwen3's q_norm ‖ k_norm (2·headDim values) reach the row core as ONE U-value object: the fill reads them
        # U / (2·headDim) times over (stride 0); Qwen2's biases (qDim + 2·kvDim) are whole objects as every qkv row
        self.extra_repeats = self.U // self.extra if self.family == "qwen3" else 1
        if self.fused and self.U % 32:
            raise ValueError(f"prefill: the family core's fp32 objects hold U/2 = {self.U // 2} values, not a multiple "
                             f"of 16 (bias_add_f32_bf16 / round_f32_bf16 work 16 lanes at a time)")
        if self.family == "qwen3" and self.U % self.extra:
            raise ValueError(f"prefill: qwen3's q_norm ‖ k_norm ({self.extra} values) do not divide the row core's "
                             f"object U={self.U}: the row core cannot take them as one object")
        # issue 17 (task G): the GEMM cores' activation slice xb is double-buffered (depth 2) unless a core's buffers
        # then exceed its budget — a bf16 core at head_dim 128 (tm 128: two 16 KB weight tiles, C = 32): 65536 B of
        # 64512 —; then single-buffered (depth 1: 61440 B), the weight tiles staying double-buffered. Every other
        # shape keeps depth 2 (its design unchanged).
        self.x_depth = 2 if x_depth is None else x_depth
        if x_depth is None and budget is not None and self.core_bytes()["gemm"] > budget:
            self.x_depth = 1
        self._pio()
        # kv_blk: the chunk's block of the block-major cache (every layer, group, head, K|V: C = block rows)
        self.kv_blk_elements = d.slab
        self.kv_blk_bytes = 2 * d.slab

    def _validate(self):
        why = []
        if self.C % MMUL or self.tm % MMUL or self.tk % MMUL or self.hd % MMUL or self.block % MMUL:
            why.append(f"C={self.C}, tm={self.tm}, tk={self.tk}, headDim={self.hd}, block={self.block} must be "
                       f"multiples of {MMUL} (aie::mmul<8, 8, 8>)")
        if self.C > 64:
            why.append(f"C={self.C} rows > 64: the chunk's row iterations exceed the shim BD's 64 (shimBd.iterationSizeMax)")
        if self.nkv > 8 or (self.nkv > 4 and self.nkv % 2):
            why.append(f"kvHeads={self.nkv}: the KV heads must split into at most 2 equal groups of at most 4 (the "
                       f"attention columns 5 and 6)")
        if why:
            raise ValueError("prefill: " + "; ".join(why))

    def core_bytes(self):
        """Bytes of the data memory a GEMM core and the row core take in prefill.py (fifo objects at their depths,
        Buffers, each 64-byte aligned as IRON places them; the stack apart). The row core streams its rows (issue 17):
        three H-value row buffers, one U-value header buffer and 32 fp32 lanes, so 3B / 8B widths fit; a bf16 GEMM
        core at head_dim 128 (tm 128: 2 × 16 KB tiles) fits with its activation slice single-buffered (x_depth 1)."""
        def total(sizes):
            at = 0
            for n in sizes:
                at = pad(at, 64) + n
            return at
        C, tm, tk, U, RM = self.C, self.tm, self.tk, self.U, self.RM
        q4 = self.weights != "bf16"
        tile = self.stages["QKV"]["tileBytes"]
        # w{g} (tile, depth 2), xb (C x tk, depth x_depth), py{g} (C x tm, depth 1), pacc (C x tm f32), pscr (Q4: tm x tk)
        gemm = total([tile, tile] + [2 * C * tk] * self.x_depth + [2 * C * tm, 4 * C * tm]
                     + ([2 * tm * tk] if q4 else []))
        # rmain, rsecond, rout, raux (U values, depth 2 each); pr_w, pr_x, pr_xfin (RM = H values), pr_hdrs (U),
        # pr_acc (32 fp32)
        row = total([2 * U] * 8 + [2 * RM] * 3 + [2 * U, 4 * self.NORM_LANES])
        return {"gemm": gemm, "row": row}

    def check_cores(self, budget):
        """Raises ValueError naming the cores whose buffers exceed budget (a core's data memory less its stack)."""
        over = {k: v for k, v in self.core_bytes().items() if v > budget}
        if over:
            raise ValueError("prefill: " + "; ".join(
                f"a {k} core needs {v} bytes of buffers, more than the {budget} a core has after its stack"
                f" (C={self.C}, tm={self.tm}, tk={self.tk}, U={self.U}, row values={self.RM})" for k, v in over.items()))

    # --- pio BO (argument 3) --------------------------------------------------------------------------
    def _pio(self):
        C, H, F, Q, U, d = self.C, self.H, self.F, self.Q, self.U, self.dec
        st = self.stages
        self.qkv_slots = st["QKV"]["R"] * (2 if self.qkv_f32 else 1)   # a qkv row's bf16 slots (fp32 rows: twice R)
        size = {"hdr": U, "cs": C * U, "x": C * H,
                "attn_norm": C * H, "qkv": C * self.qkv_slots, "qpack": self.grp * self.nkv * self.PQ, "kqv": C * Q,
                "o": C * st["O"]["R"], "ffn_inp": C * H, "ffn_norm": C * H, "gu": C * st["GU"]["R"], "act": C * F,
                "d": C * st["D"]["R"], "l_out": C * H}
        if self.fused:
            size["qkv_fused"] = C * self.fused
        self.size, self.offsets = size, {}
        at = 0
        for r in self.HEAD_REGIONS:
            self.offsets[r] = at
            at = pad(at + size[r], ALIGN)
        self.layer_base = at
        for r in self.LAYER_REGIONS:
            self.offsets[r] = at - self.layer_base
            at = pad(at + size[r], ALIGN)
        self.layer_stride = at - self.layer_base
        self.pio_elements = self.layer_base + self.L * self.layer_stride
        self.pio_bytes = 2 * self.pio_elements
        # row strides (values) of the C-row regions
        self.row_stride = {"x": H, "attn_norm": H, "kqv": Q, "ffn_inp": H, "ffn_norm": H, "act": F, "l_out": H,
                           "qkv": self.qkv_slots, "o": st["O"]["R"], "gu": st["GU"]["R"], "d": st["D"]["R"], "cs": U}
        if self.fused:
            self.row_stride["qkv_fused"] = self.fused

    def pio(self, region, l=None):
        """Element offset of a pio region (per-layer regions need l)."""
        if region in self.LAYER_REGIONS:
            return self.layer_base + l * self.layer_stride + self.offsets[region]
        return self.offsets[region]

    def qpack(self, l, j, h):
        """Element offset of the pack object of query index j (query head h·grp + j) of KV head h in layer l."""
        return self.pio("qpack", l) + (j * self.nkv + h) * self.PQ

    def pio_region_at(self, offset):
        e = offset // 2
        if self.layer_base <= e < self.pio_elements:
            l, within = divmod(e - self.layer_base, self.layer_stride)
            for r in self.LAYER_REGIONS:
                if self.offsets[r] <= within < self.offsets[r] + self.size[r]:
                    return r, l
            return None
        for r in self.HEAD_REGIONS:
            if self.offsets[r] <= e < self.offsets[r] + self.size[r]:
                return r, None
        return None

    # --- kv (argument 1) and kv_blk (argument 2) --------------------------------------------------------
    def kv_off(self, l, h, kv=0):
        """Element offset of head h's K (0) or V (1) block of layer l inside a block slab (decode's off(), heads
        contiguous within a layer: ((l·G + g)·gk + i) = l·kvHeads + h)."""
        return (l * self.nkv + h) * self.kvb + kv * self.block * self.hd

    def kv_blk_base(self, start):
        """Element offset in the KV BO where kv_blk starts for a chunk at position start (a multiple of C)."""
        assert start % self.C == 0, start
        return (start // self.C) * self.dec.slab

    def kv_group_fill(self, l, g, bucket):
        """(start element, blocks, elements per block, block stride, repeats) of KV group g's fill in layer l: per
        repeat (reps: once per lanes query indices) and head of the group in turn, that head's K||V blocks
        0 .. bucket-1 (blocks elements apart, block stride apart), broadcast to the group's lanes."""
        return self.kv_off(l, self.kv_heads[g][0]), bucket, self.kvb, self.dec.slab, self.reps

    def bucket_for(self, start):
        """The bucket a chunk at position start runs: the smallest covering start + C rows."""
        need = start // self.C + 1
        return next(b for b in self.dec.buckets if b >= need)

    def region_at(self, arg, offset):
        """(region, layer or None) of a byte offset in argument arg (0 weights, 1 kv, 2 kv_blk, 3 pio, 4 io)."""
        d = self.dec
        if arg == 0:
            return d.region_at(0, offset)
        if arg == 1:
            return "kv", (offset // 2 % d.slab) // (self.nkv * self.kvb)
        if arg == 2:
            return "kv_blk", (offset // 2) // (self.nkv * self.kvb)
        if arg == 3:
            return self.pio_region_at(offset)
        return d.io_layout.region_at(offset)

    # --- kernels -------------------------------------------------------------------------------------
    def kernel_name(self, bucket):
        return f"prefill_{self.weights}_b{bucket}"

    def kernel_names(self):
        return [self.kernel_name(b) for b in self.dec.buckets]

    def arguments(self):
        """[(name, bytes, role)] of every prefill kernel (aiecc: opcode, instr, ninstr, then these 5)."""
        d = self.dec
        return [("weights", d.weights_bytes, "weight"), ("kv", d.kv_bytes, "kvCache"),
                ("kv_blk", self.kv_blk_bytes, "kvBlock"), ("pio", self.pio_bytes, "prefillIO"),
                ("io", d.io_bytes, "io")]

    def to_json(self, starts=(0, 64, 1984)):
        """Every number of the prefill contract phase 2 implements (Swift PrefillLayout, the emulated driver)."""
        d = self.dec
        starts = [s for s in starts if s < self.ctx]
        ends = sorted({0, self.L - 1})
        return {
            "model": {k: self.model[k] for k in ("hidden", "ffn", "heads", "kvHeads", "headDim", "vocab", "layers")},
            "weights": self.weights, "ctx": self.ctx, "tm": self.tm, "tk": self.tk, "block": self.block,
            "C": self.C, "U": self.U, "RM": self.RM, "xDepth": self.x_depth, "coreBytes": self.core_bytes(), "grp": self.grp, "KG": self.KG, "kgk": self.kgk,
            "kvGroupHeads": self.kv_heads, "lanes": self.lanes, "reps": self.reps, "packFifos": self.P, "packHeads": self.pack_heads, "PQ": self.PQ,
            "kvb": self.kvb, "attnRows": ATTN_ROWS, "header": PREFILL_HEADER,
            "kernels": self.kernel_names(), "buckets": d.buckets,
            "arguments": [[n, b, r] for n, b, r in self.arguments()],
            "kvBlk": {"elements": self.kv_blk_elements, "bytes": self.kv_blk_bytes, "slab": d.slab,
                      "base": {str(s): self.kv_blk_base(s) for s in starts},
                      "bucket": {str(s): self.bucket_for(s) for s in starts},
                      "off": {f"{l},{h},{kv}": self.kv_off(l, h, kv) for l in ends
                              for h in range(self.nkv) for kv in (0, 1)}},
            # the KV group fills of the last bucket: [start element, blocks, elements per block, block stride, repeats]
            "kvFill": {f"{l},{g}": list(self.kv_group_fill(l, g, d.buckets[-1])) for l in ends for g in range(self.KG)},
            "pioBO": {"elements": self.pio_elements, "bytes": self.pio_bytes, "layerBase": self.layer_base,
                      "layerStride": self.layer_stride, "sizes": dict(self.size), "rowStrides": dict(self.row_stride),
                      "offsets": {r: self.offsets[r] for r in self.HEAD_REGIONS},
                      "layerOffsets": {r: self.offsets[r] for r in self.LAYER_REGIONS},
                      "lastLayer": {r: self.pio(r, self.L - 1) for r in self.LAYER_REGIONS},
                      "qpack": {f"{l},{j},{h}": self.qpack(l, j, h) for l in ends for j in range(self.grp)
                                for h in range(self.nkv)}},
            "ioXFinal": d.io("x_final"),
            **({"family": {"family": self.family, "extraValues": self.extra, "extraRepeats": self.extra_repeats,
                           "fusedValues": self.fused}} if self.fused else {}),
            "stages": {s: {"x": self.X_FROM[s], "out": self.OUT[s], "rho": self.stages[s]["rho"],
                           "ks": self.stages[s]["ks"], "R": self.stages[s]["R"], "K": self.stages[s]["K"],
                           "tileBytes": self.stages[s]["tileBytes"]} for s in STAGES},
        }
