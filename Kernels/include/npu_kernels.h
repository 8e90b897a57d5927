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
    NPUK_CORE_MEMORY = 2,  // the design's buffers do not fit a core's 64 KB
};

// Weight formats of the fused layer-half drivers (their `q4` argument).
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

// Fused decode layer halves (the designs issue 6 runs, 2 per layer): per-op kernels in the
// designs' order on `cores` cores with every core's buffers in one 63 KB arena. q4 (the weight format) =
// NPUK_WEIGHTS_BF16, NPUK_WEIGHTS_Q4_1 or NPUK_WEIGHTS_Q4_0. Weights are (out, in) row-major. These two
// take one gemv tile height tm for every stage; the _step/_taps variants below take each stage's own.
// MLP half: out = x + W_down . (silu(W_gate . n) * (W_up . n)), n = rmsnorm(x) * norm_w.
int32_t npuk_layer_mlp_half(const uint16_t *x, const uint16_t *norm_w, float eps, int32_t q4, const void *w_gate,
                            const void *w_up, const void *w_down, int32_t hidden, int32_t ffn, int32_t tm, int32_t tk,
                            int32_t cores, uint16_t *out);
// Attention half at position pos: out = x + W_o . attention(rope(W_q . n), rope(W_k . n), W_v . n),
// appending K/V at pos. Core 0 also runs rmsnorm and rope; the last kv_heads * splits cores attend.
int32_t npuk_layer_attention_half(const uint16_t *x, const uint16_t *norm_w, float eps, int32_t q4, const void *wq,
                                  const void *wk, const void *wv, const void *wo, uint16_t *k_cache, uint16_t *v_cache,
                                  int32_t capacity, int32_t pos, int32_t hidden, int32_t heads, int32_t kv_heads,
                                  int32_t head_dim, int32_t adjacent, const float *cos_table, const float *sin_table,
                                  int32_t table_positions, int32_t tm, int32_t tk, int32_t cores, int32_t block,
                                  int32_t splits, uint16_t *out);

// The same designs as NPUBackend runs them, each gemv stage with its plan instance's tile height: `tms` is
// {Qcur, Kcur and Vcur, attn_out} for the attention half and {ffn_gate and ffn_up, ffn_out} for the MLP half (the
// gemv fifos are sized for the largest). The step params buffer `params` is int32[8] [pos, chunk_start, rows,
// bucket, 0...] followed by the RoPE row cos[d/2] || sin[d/2] in bf16; the attention reads `bucket` KV blocks (the
// design instance's length bucket: bucket * block >= pos + 1) and masks positions past pos. `taps` (nullable) is
// the debug BO the verify-mode variants write the named intermediates to, in graph order:
// attention half: attn_norm (hidden) | Qcur (heads*head_dim) | Kcur | Vcur (kv_heads*head_dim each) | Qrope | Krope
// | kqv_out (heads*head_dim) | attn_out (hidden) | ffn_inp (hidden, = out); MLP half: ffn_norm (hidden) | ffn_gate |
// ffn_up | ffn_act (ffn each) | ffn_out (hidden) | l_out (hidden, = out). The attention half reads k_cache / v_cache
// (kv_heads, capacity, head_dim) and writes ONLY the new rows, through k_row / v_row: views of the caches at row pos
// of KV head 0, ((kv_heads - 1) * capacity + 1) * head_dim values, head h's row at offset h * capacity * head_dim.
int32_t npuk_layer_attention_half_step(const uint16_t *x, const uint16_t *norm_w, float eps, int32_t q4, const void *wq,
                                       const void *wk, const void *wv, const void *wo, const uint16_t *k_cache,
                                       const uint16_t *v_cache, uint16_t *k_row, uint16_t *v_row, int32_t capacity,
                                       const int32_t *params, int32_t hidden,
                                       int32_t heads, int32_t kv_heads, int32_t head_dim, int32_t adjacent,
                                       const int32_t *tms, int32_t tk, int32_t cores, int32_t block, int32_t splits,
                                       int32_t bucket, uint16_t *taps, uint16_t *out);
int32_t npuk_layer_mlp_half_taps(const uint16_t *x, const uint16_t *norm_w, float eps, int32_t q4, const void *w_gate,
                                 const void *w_up, const void *w_down, int32_t hidden, int32_t ffn, const int32_t *tms,
                                 int32_t tk, int32_t cores, uint16_t *taps, uint16_t *out);

#ifdef __cplusplus
}
#endif

#endif
