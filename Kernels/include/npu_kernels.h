// C entry points of the kernel tile drivers: each runs Kernels/*/*.cc on x86 the way its IRON design moves data.
//
// bf16 tensors are passed as uint16_t bit patterns, row-major, outermost dimension first. Tiling
// parameters come from Kernels/manifest.json through KernelPlan (Swift); a driver re-checks them and
// returns a status instead of running a shape its design cannot serve. Every driver is
// deterministic and keeps no state between calls.
#ifndef NPU_KERNELS_H
#define NPU_KERNELS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
    NPUK_OK = 0,
    NPUK_BAD_SHAPE = 1,    // a dimension is not a multiple of its tile, or out of range
    NPUK_CORE_MEMORY = 2,  // the design's buffers do not fit a core's 64 KB (or a memory tile's 512 KB)
    NPUK_BAD_LAYOUT = 3,   // the decode token's channel streams were not consumed exactly (layout and walk disagree)
};

// Weight formats of the decode token's gemv stages (npuk_decode_stage.format).
enum {
    NPUK_WEIGHTS_BF16 = 0,
    NPUK_WEIGHTS_Q4_1 = 1, // GGUF Q4_1: 20-byte blocks (f16 d, f16 m, 16 bytes of nibbles)
    NPUK_WEIGHTS_Q4_0 = 2, // GGUF Q4_0: 18-byte blocks (f16 d, 16 bytes of nibbles)
};

// Sets the emulated cores' rounding register before a driver runs (its power-on value is floor,
// 0 = floor, 1 = conv_even). Kernels set the mode they need themselves; tests use this to prove it.
void npuk_set_power_on_rounding(int32_t conv_even);

// Vector loads/stores whose address was not aligned to their access size since the last call (the
// hardware's load_v/store_v give wrong data there), and the first one's size and address remainder.
// Resets the count. The emulated device fails a run that made any.
int64_t npuk_take_misaligned(int32_t *access_bytes, int32_t *remainder);
// Test hook of that check: one 16-float load_v at `offset_bytes` (0-128, a multiple of 4) past a
// 64-byte aligned core buffer.
int32_t npuk_probe_vector_load(int32_t offset_bytes);

// y (m) = W (m x k) . x (k), bf16 weights, fp32 accumulation, bf16 out. Row tiles of tm rows (a
// multiple of 16) are dealt round-robin to `cores` cores; each streams k in slices of tk.
int32_t npuk_gemv_bf16(const uint16_t *w, const uint16_t *x, uint16_t *y, int32_t m, int32_t k,
                       int32_t tm, int32_t tk, int32_t cores);
// The same with GGUF Q4_1 weights: row r is k/32 blocks of 20 bytes.
int32_t npuk_gemv_q4_1(const uint8_t *w, const uint16_t *x, uint16_t *y, int32_t m, int32_t k,
                       int32_t tm, int32_t tk, int32_t cores);
// The same with GGUF Q4_0 weights: row r is k/32 blocks of 18 bytes (tk a multiple of 64).
int32_t npuk_gemv_q4_0(const uint8_t *w, const uint16_t *x, uint16_t *y, int32_t m, int32_t k,
                       int32_t tm, int32_t tk, int32_t cores);
// LM head + greedy argmax on the NPU: returns the token id (lowest on ties) in *token.
int32_t npuk_lm_head_argmax_bf16(const uint16_t *w, const uint16_t *x, int32_t *token, int32_t vocab, int32_t k,
                                 int32_t tm, int32_t tk, int32_t cores);
int32_t npuk_lm_head_argmax_q4_1(const uint8_t *w, const uint16_t *x, int32_t *token, int32_t vocab, int32_t k,
                                 int32_t tm, int32_t tk, int32_t cores);
int32_t npuk_lm_head_argmax_q4_0(const uint8_t *w, const uint16_t *x, int32_t *token, int32_t vocab, int32_t k,
                                 int32_t tm, int32_t tk, int32_t cores);

// RMSNorm of `rows` rows of n values with weight w (n), eps; one core, one row per transfer.
int32_t npuk_rmsnorm_bf16(const uint16_t *x, const uint16_t *w, uint16_t *y, int32_t rows, int32_t n, float eps);

// Issue 17's attention-half ops on one core, one row (a token's Q/K or q/k/v row) per transfer, the same buffers
// in and out as the hub runs them: head_rmsnorm_bf16 normalizes each head_dim slice of `rows` rows of heads x
// head_dim with w (head_dim; Qwen3 q_norm / k_norm); bias_add_bf16 adds b (n) to each of `rows` rows of n (Qwen2).
int32_t npuk_head_rmsnorm_bf16(const uint16_t *x, const uint16_t *w, uint16_t *y, int32_t rows, int32_t heads,
                               int32_t head_dim, float eps);
int32_t npuk_bias_add_bf16(const uint16_t *x, const uint16_t *b, uint16_t *y, int32_t rows, int32_t n);
// The decode hub's Qwen step as it runs since single rounding (Kernels/decode/README.md "Qwen fp32 rows"): one token's
// fp32 q ‖ k ‖ v row x (q_heads + 2·kv_heads heads of head_dim fp32 values, the QKV stage's accumulators) read one
// head at a time into the hub's 2·head_dim-slot buffer and written as bf16 once into y (same length). family 1
// (Qwen2): w = the q ‖ k ‖ v biases, bias_add_f32_bf16 per head; family 2 (Qwen3): w = q_norm ‖ k_norm (2·head_dim),
// qk_norm_f32_bf16 per q/k head, round_f32_bf16 per v head.
int32_t npuk_qwen_hub_f32(const float *x, const uint16_t *w, uint16_t *y, int32_t family, int32_t q_heads,
                          int32_t kv_heads, int32_t head_dim, float eps);

// RoPE of `rows` rows (heads x head_dim each, head_dim a multiple of 32 or 16) at positions start.., pairing 0 =
// half-split, 1 = adjacent. cos/sin: the host's fp32 tables (table_positions x head_dim/2), from
// ModelConfig.ropeInverseFrequencies(); the driver writes each row's cos/sin into the step params
// buffer as the host does. y may equal x.
int32_t npuk_rope_bf16(const uint16_t *x, uint16_t *y, int32_t rows, int32_t heads, int32_t head_dim,
                       int32_t start, int32_t adjacent, const float *cos_table, const float *sin_table,
                       int32_t table_positions);

// Decode attention for one token at position pos: appends k_new/v_new (kv_heads x head_dim) to the
// caches (kv_heads x capacity x head_dim) at pos, then attends q (heads x head_dim) over positions
// 0...pos. KV blocks of `block` positions; `splits` cores per KV head merge their partial states.
int32_t npuk_attn_decode_bf16(const uint16_t *q, const uint16_t *k_new, const uint16_t *v_new,
                              uint16_t *k_cache, uint16_t *v_cache, int32_t capacity, int32_t pos,
                              int32_t heads, int32_t kv_heads, int32_t head_dim, int32_t block,
                              int32_t splits, uint16_t *out);

// out = silu(gate) * up and out = a + b over n values, in tiles of `tile` dealt to `cores` cores.
int32_t npuk_swiglu_bf16(const uint16_t *gate, const uint16_t *up, uint16_t *out, int32_t n, int32_t tile,
                         int32_t cores);
int32_t npuk_add_bf16(const uint16_t *a, const uint16_t *b, uint16_t *out, int32_t n, int32_t tile,
                      int32_t cores);

// Prefill projection Y (rows x m) = X (rows x k) . W^T for rows <= chunk; the design always moves
// `chunk` rows (the host zero-pads a short step). Output tiles (tr x tn) are dealt to `cores`.
int32_t npuk_matmul_bf16(const uint16_t *x, const uint16_t *w, uint16_t *y, int32_t rows, int32_t chunk,
                         int32_t m, int32_t k, int32_t tr, int32_t tk, int32_t tn, int32_t cores);
int32_t npuk_matmul_q4_1(const uint16_t *x, const uint8_t *w, uint16_t *y, int32_t rows, int32_t chunk,
                         int32_t m, int32_t k, int32_t tr, int32_t tk, int32_t tn, int32_t cores);
int32_t npuk_matmul_q4_0(const uint16_t *x, const uint8_t *w, uint16_t *y, int32_t rows, int32_t chunk,
                         int32_t m, int32_t k, int32_t tr, int32_t tk, int32_t tn, int32_t cores);

// Causal prefill attention for `rows` tokens at positions start..start+rows-1: appends k_new/v_new
// (rows x kv_heads x head_dim) to the caches, then attends q (rows x heads x head_dim) over the
// cache; one core per (head, group of qrows query rows). out: rows x heads x head_dim.
int32_t npuk_attn_prefill_bf16(const uint16_t *q, const uint16_t *k_new, const uint16_t *v_new,
                               uint16_t *k_cache, uint16_t *v_cache, int32_t capacity, int32_t start,
                               int32_t rows, int32_t heads, int32_t kv_heads, int32_t head_dim,
                               int32_t block, int32_t qrows, uint16_t *out);

// The decode token (Kernels/decode/decode_token.py; the layouts are issue 12's contract, computed by Swift's
// DecodeLayout and passed here, never recomputed): ONE run moves a token through every layer — 16 gemv cores (4
// columns x 4 rows, each column's two weight channels split at its memory tile to core pairs), one hub core (norms,
// residual, RoPE, SwiGLU, the x broadcast) and one attention core per KV head — and leaves the final residual in the
// io region x_final. The LM head (the addendum's second design, lm_head_<h>) is the next run of the same runlist: the
// same 16 gemv cores on the same 8 channels and the hub, its own tiling and weight format (npuk_lm_head). Offsets in
// the weights BOs are bytes; in the KV and io BOs bf16 elements.
enum { NPUK_DECODE_CHANNELS = 8, NPUK_DECODE_STAGES = 4, NPUK_DECODE_GEMV_CORES = 16 };
enum { NPUK_STAGE_QKV = 0, NPUK_STAGE_O = 1, NPUK_STAGE_GU = 2, NPUK_STAGE_D = 3 };

// One gemv stage: tile t (rows [t*tm, +tm) of the padded rows) goes to core t mod 16 in round t div 16.
struct npuk_decode_stage {
    int64_t rows;         // natural rows (rows past them are zero weights); the LM stage's argmax folds only these
    int64_t padded_rows;  // R_s = pad(rows, 16 * tm)
    int64_t k;            // input values (K_s); tk-slices of it per tile
    int64_t rounds;       // R_s / (16 * tm)
    int64_t tile_bytes;   // one (tm x tk) tile in the stage's weight format
    int32_t format;       // NPUK_WEIGHTS_*
    int32_t unused;
};

// io regions of one layer (bf16 element offsets).
struct npuk_decode_io_layer {
    int64_t qkv, o, gu, d, packs, kqv, attn_norm, ffn_inp, ffn_norm, act, l_out;
    int64_t qkv_fused;         // issue 17 (family != 0): the hub's biased q ‖ k ‖ v (Qwen2) or normed q ‖ k (Qwen3)
};

struct npuk_decode_layout {
    int32_t hidden, q_dim, kv_dim, ffn, layers, heads, kv_heads, head_dim;
    int32_t q_per_kv;          // heads / kv_heads (the attention kernels' `group`)
    float eps;
    int32_t adjacent;          // RoPE pairing: 1 adjacent, 0 half-split
    int32_t tm, tk, hub_slice; // gemv tile height and k-slice; S = the hub's object (bf16 values)
    int32_t block, blocks;     // KV rows per block; blocks in the context (NB)
    int32_t bucket;            // KV blocks this kernel reads
    int32_t kv_groups, heads_per_group;  // G groups of gk KV heads (one KV channel each)
    int32_t pack;              // PN: bf16 values of one KV head's pack (q of its query heads, k, v, params header)
    int32_t params;            // bf16 values of the io params region (int32[8] header, cos, sin, padding)
    int32_t execute;           // 0: move and count every byte, call no kernel (counting at 1B shapes)
    struct npuk_decode_stage stage[NPUK_DECODE_STAGES];   // QKV, O, GU, D
    // weights BO (bytes): the layers' norms, then the channel streams interleaved pair by pair: pair p of channel ch
    // (= 2c + j, feeding cores 4c + 2j and 4c + 2j + 1) at streams_offset + (p * 8 + ch) * pair_bytes
    int64_t streams_offset, pair_bytes, pairs;   // pairs: per channel per token
    const int64_t *attn_norm, *ffn_norm;   // [layers]: byte offsets of the bf16 norm weights
    int64_t weights_bytes;
    // KV BO (bf16 elements), block-major: (block, layer, group, head in group, K|V, row, head_dim)
    const int64_t *kv_group;               // [layers * kv_groups]: off(l, group, 0, K), also its offset in kv_row
    int64_t kv_chunk, kv_slab;             // one group's block (gk heads' K ‖ V), one block of every layer and group
    int64_t kv_head_stride, kv_half_stride;   // 2*block*hd, block*hd
    int64_t kv_elements, kv_row_elements;
    // io BO (bf16 elements)
    int64_t io_params, io_x, io_x_final, io_elements;
    const struct npuk_decode_io_layer *io_layer;   // [layers]
    // issue 17: the model family's attention-half step in the hub, before RoPE, rounding once: for family != 0 the
    // QKV stage writes fp32 rows to io qkv (gemv_out_f32; row n in bf16 slots 2n, 2n + 1: io_layer.qkv spans 2·R_QKV
    // slots) and the hub reads them a head at a time. family 0 llama (none), 1 qwen2 (bias_add_f32_bf16 on q ‖ k ‖ v
    // with extra_values = q + 2 kv biases), 2 qwen3 (qk_norm_f32_bf16 on q ‖ k, round_f32_bf16 on v, with
    // extra_values = 2 head_dim: q_norm ‖ k_norm); extra: [layers] byte offsets of those bf16 weights in the weights
    // BO; fused_values: values the hub drains to io qkv_fused per layer.
    int32_t family, extra_values, fused_values, unused_family;
    const int64_t *extra;
};

// Bytes a run moved, per argument and per shim DMA channel (MM2S reads DDR, S2MM writes it). The LM head run uses
// `weights_read` for its lm_weights and leaves the KV, pack and attention fields zero.
struct npuk_decode_traffic {
    int64_t weights_read, kv_read, kv_row_written, io_read, io_written;
    int64_t weight_channel[NPUK_DECODE_CHANNELS];  // MM2S: the channel streams (channel 2c + j)
    int64_t hub_in;                                // MM2S: params, x, norm weights, the read-backs
    int64_t kv_channel[4];                         // MM2S: kvg{i}
    int64_t pack_channel[2];                       // MM2S: packs{i}
    int64_t gemv_drain[4];                         // S2MM: column c's joined outputs
    int64_t hub_out;                               // S2MM: the hub's intermediates, packs, K/V rows, x_final, token
    int64_t attn_drain[2];                         // S2MM: attention joins
    int64_t broadcast;                             // on chip: x_bcast objects the hub sent (counted once)
};

// Runs one token's layers at the position the io params header holds (int32[8] [pos, pos, 1, bucket, 0...]): kv is
// read, never written; kv_row (the host's sub-buffer of kv at base(pos)) receives exactly the token's K and V rows;
// the final residual is drained to io x_final. Returns NPUK_OK, NPUK_BAD_SHAPE (position or bucket),
// NPUK_CORE_MEMORY (a core's or memory tile's buffers do not fit) or NPUK_BAD_LAYOUT. `traffic` (nullable) is
// overwritten.
int32_t npuk_decode_token(const struct npuk_decode_layout *layout, const uint8_t *weights, const uint16_t *kv,
                          uint16_t *kv_row, uint16_t *io, struct npuk_decode_traffic *traffic);

// The LM head run (lm_head_<h>; Swift's LMHeadLayout and DecodeLayout's io regions).
struct npuk_lm_layout {
    int32_t hidden, vocab;
    int32_t tm, tk, hub_slice;  // the LM head's own gemv tiling; S = the hub's object (bf16 values)
    float eps;
    int32_t execute;            // 0: move and count every byte, call no kernel
    int32_t unused;
    struct npuk_decode_stage stage;   // the LM stage: vocab rows padded to 16 * tm, k = hidden
    // lm_weights BO (bytes): output_norm_w (bf16) at output_norm, then the 8 channel streams interleaved pair by pair
    int64_t output_norm, streams_offset, pair_bytes, pairs, weights_bytes;
    // io BO (bf16 elements): the decode token's x_final; this run's result_norm, logits (padded rows), bests (16 * tm:
    // column c's object at 4c * tm, core k's best in slots k*tm .. +3), token (S: int32 in slots 0-1)
    int64_t io_x_final, io_result_norm, io_logits, io_bests, io_token, io_elements;
};

// Runs the LM head on the io BO's x_final: result_norm, every logit (padded rows too), each gemv core's best over its
// valid rows, and the token (argmax_merge_f32 in core order; the lower row on ties). Returns NPUK_OK,
// NPUK_BAD_SHAPE, NPUK_CORE_MEMORY or NPUK_BAD_LAYOUT. `traffic` (nullable) is overwritten.
int32_t npuk_lm_head(const struct npuk_lm_layout *layout, const uint8_t *lm_weights, uint16_t *io,
                     struct npuk_decode_traffic *traffic);


// The prefill chunk (Kernels/decode/prefill.py, issue 13; the layouts are Swift's PrefillLayout, passed here, never
// recomputed): ONE run moves C = block prompt rows at positions start .. start + C - 1 through every layer — 16 GEMM
// cores on decode's weight channels (aie::mmul<8, 8, 8> on decode's tiles), one row core (norms, RoPE, residual adds,
// SwiGLU, the K||V rows), one attention core per KV head (causal over the bucket's blocks) — writing every
// intermediate to pio, the chunk's block of every layer and head to kv_blk, and the last prompt row's final residual
// to io x_final. Offsets in the weights BO are bytes; in kv, kv_blk, pio and io bf16 elements.
struct npuk_prefill_io_layer {
    int64_t attn_norm, qkv, qpack, kqv, o, ffn_inp, ffn_norm, gu, act, d, l_out;
    int64_t qkv_fused;   // issue 17: the family core's fused q ‖ k ‖ v rows (family != 0; else unused)
};

struct npuk_prefill_layout {
    int32_t hidden, q_dim, kv_dim, ffn, layers, heads, kv_heads, head_dim;
    int32_t q_per_kv;           // heads / kv_heads (grp)
    float eps;
    int32_t adjacent;           // RoPE pairing: 1 adjacent, 0 half-split
    int32_t tm, tk, block, blocks;
    int32_t chunk;              // C: rows per chunk (= block)
    int32_t unit;               // U: the row core's object (bf16 values)
    int32_t row_values;         // RM: the row core's row buffers (bf16 values: hidden, the rows arrive in U-value objects)
    int32_t bucket;             // KV blocks this kernel reads
    int32_t kv_fill_groups, kv_fill_heads;   // KG groups of kgk heads (one KV channel each)
    int32_t kv_lanes;                        // attention cores per group (query index r·lanes + n); reps = grp / lanes
    int32_t pack;               // PQ: one query head's C roped rows, then a header row
    int32_t execute;            // 0: move and count every byte, call no kernel (counting at 1B shapes)
    int32_t x_depth;            // the GEMM cores' activation slice objects (xb): 2, or 1 where 2 exceed a core (bf16, tm 128)
    struct npuk_decode_stage stage[NPUK_DECODE_STAGES];   // QKV, O, GU, D (decode's)
    // weights BO (bytes): decode's
    int64_t streams_offset, pair_bytes, pairs;
    const int64_t *attn_norm, *ffn_norm;   // [layers]
    int64_t weights_bytes;
    // kv BO / kv_blk (bf16 elements): a slab is one block of every layer, head, K|V; head h's K block of layer l at
    // (l * kv_heads + h) * kv_head_block inside a slab, its V block block * head_dim after it
    int64_t kv_slab, kv_head_block, kv_elements;
    // pio (bf16 elements): head regions, per-layer regions, row strides of the GEMM outputs (padded rows)
    int64_t pio_hdr, pio_cs, pio_x, pio_elements;
    int64_t row_qkv, row_o, row_gu, row_d;
    const struct npuk_prefill_io_layer *pio_layer;   // [layers]
    // io BO (bf16 elements): decode's x_final
    int64_t io_x_final, io_elements;
    // issue 17: the model family's step on the family core (group Q, before RoPE), rounding once: for family != 0
    // the QKV stage writes fp32 rows to pio qkv (prefill_mm_out_f32; value n in bf16 slots 2n, 2n + 1: row_qkv =
    // 2·R_QKV) and the family core works on each U-slot object of them: family 0 llama (none), 1 qwen2
    // (bias_add_f32_bf16, extra_values = q + 2 kv biases), 2 qwen3 (qk_norm_f32_heads_bf16 on q ‖ k, round_f32_bf16
    // on v, extra_values = 2 head_dim: q_norm ‖ k_norm, filled extra_repeats times over as one object); extra:
    // [layers] byte offsets of those bf16 weights in the weights BO (decode's); the fused rows (q + 2 kv values, row
    // stride the same) go to pio qkv_fused, which group C reads instead of qkv.
    int32_t family, extra_values, extra_repeats, unused_family;
    const int64_t *extra;
};

// Bytes a prefill run moved, per argument and per shim DMA channel (MM2S reads DDR, S2MM writes it).
struct npuk_prefill_traffic {
    int64_t weights_read, kv_read, kv_blk_written, pio_read, pio_written, io_written;
    int64_t weight_channel[NPUK_DECODE_CHANNELS];  // MM2S: decode's channel streams
    int64_t x_in;                                  // MM2S (4, 0): the GEMM stages' activation slices
    int64_t row_main, row_second;                  // MM2S (5, 0), (6, 0): the row core's inputs
    int64_t kv_channel[2];                         // MM2S: pkvg{g}
    int64_t pack_channel[2];                       // MM2S: ppacks{i}
    int64_t gemm_drain[4];                         // S2MM: column c's joined C x tm rows
    int64_t row_out, row_aux;                      // S2MM (4, 0), (7, 0): the row core's outputs (raux: kv_blk too)
    int64_t attn_drain[2];                         // S2MM: pattnj{i}
    int64_t broadcast;                             // on chip: xb objects memory tile (4, 1) sent (counted once)
    int64_t family_in, family_out;                 // issue 17: MM2S / S2MM (7, 0): the family core's pfin, pfout
};

// Runs one chunk at the start, rows and bucket its pio header holds (int32[8] [start, rows, 1, bucket, 0...]): kv
// is read (the chunk's own block through kv_blk, which aliases it: the kv_blk drain is awaited before the attention
// fill reads it), kv_blk is written whole (rows >= rows as zeros), pio's intermediates and io x_final written.
// Returns NPUK_OK, NPUK_BAD_SHAPE (header), NPUK_CORE_MEMORY or NPUK_BAD_LAYOUT. `traffic` (nullable) is overwritten.
int32_t npuk_prefill_chunk(const struct npuk_prefill_layout *layout, const uint8_t *weights, const uint16_t *kv,
                           uint16_t *kv_blk, uint16_t *pio, uint16_t *io, struct npuk_prefill_traffic *traffic);

// The prefill AIE kernels one at a time (tests against the CPU reference): one prefill_mm_<w> tile (format
// NPUK_WEIGHTS_*) over C rows in 8x8 blocks (x: C x tk row-major, blocked here as memory tile (4, 1) does) and
// prefill_mm_out_bf16 (y: C x tm row-major); attention of one query head's C rows over `blocks` K||V blocks
// (pack: C x hd roped rows then the header row; kv: blocks x (K block ‖ V block)), out C x hd.
int32_t npuk_prefill_mm_tile(int32_t format, const uint8_t *w, const uint16_t *x, uint16_t *y, int32_t tm, int32_t tk,
                             int32_t k, int32_t rows);
int32_t npuk_attn_chunk_head(const uint16_t *pack, const uint16_t *kv, uint16_t *out, int32_t blocks, int32_t block,
                             int32_t rows, int32_t hd);
// The row core's kernels on one core: swiglu_tiles_bf16 over two n-value objects of (gate, up) tile pairs (act: n
// values); qkv_rope_bf16 of one n-value object at value `at` of chunk row r's q ‖ k ‖ v with `valid` prompt rows
// (cs: the row's cos ‖ sin, hd values; rope_end = q_dim + kv_dim, kv_at = q_dim; out: n values); rmsnorm_sum_bf16
// then rmsnorm_scale_bf16 over a row of n values given in `slice`-value objects (y: n values).
int32_t npuk_swiglu_tiles(const uint16_t *gu0, const uint16_t *gu1, uint16_t *act, int32_t tm, int32_t n);
int32_t npuk_qkv_rope(const uint16_t *obj, const uint16_t *cs, uint16_t *out, int32_t r, int32_t valid, int32_t at,
                      int32_t n, int32_t rope_end, int32_t kv_at, int32_t hd, int32_t adjacent);
int32_t npuk_rmsnorm_slices(const uint16_t *x, const uint16_t *w, uint16_t *y, int32_t n, int32_t slice, float eps);
#ifdef __cplusplus
}
#endif

#endif
