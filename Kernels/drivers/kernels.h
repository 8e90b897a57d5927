// The extern "C" entry points of every Kernels/*/*.cc, as the tile drivers call them (the IRON designs' Kernel(...) declarations).
#pragma once
#include <aie_api/aie.hpp>
#include <stdint.h>

extern "C" {
void gemv_bf16(const bfloat16 *w, const bfloat16 *x, float *acc, int32_t rows, int32_t k, int32_t first);
void gemv_out_bf16(const float *acc, bfloat16 *y, int32_t rows);
void gemv_out_f32(const float *acc, bfloat16 *y, int32_t rows, int32_t half);
void gemv_q4_1_blocks(const uint8_t *blocks, const bfloat16 *x, float *acc, int32_t rows, int32_t k, int32_t first);
void gemv_q4_0(const uint8_t *w, const bfloat16 *x, float *acc, int32_t rows, int32_t k, int32_t first);
void rmsnorm_bf16(const bfloat16 *x, const bfloat16 *w, bfloat16 *y, int32_t n, float eps);
void rmsnorm_sum_bf16(const bfloat16 *obj, bfloat16 *row, float *acc, int32_t at, int32_t n);
void rmsnorm_scale_bf16(const bfloat16 *row, const bfloat16 *w, const float *acc, bfloat16 *obj, int32_t at, int32_t n,
                        int32_t total, float eps);
void head_rmsnorm_bf16(const bfloat16 *x, const bfloat16 *w, bfloat16 *y, int32_t heads, int32_t head_dim, float eps);
void qk_norm_bf16(const bfloat16 *x, const bfloat16 *w, bfloat16 *y, int32_t q_heads, int32_t k_heads, int32_t head_dim,
                  float eps);
void qk_norm_f32_bf16(const bfloat16 *row, const bfloat16 *w, bfloat16 *y, int32_t head, int32_t q_heads, int32_t head_dim,
                      float eps);
void rope_halfsplit_bf16(const bfloat16 *x, const bfloat16 *cs, bfloat16 *y, int32_t heads, int32_t head_dim);
void rope_adjacent_bf16(const bfloat16 *x, const bfloat16 *cs, bfloat16 *y, int32_t heads, int32_t head_dim);
void attn_decode_init_f32(float *state, int32_t group, int32_t head_dim);
void attn_decode_bf16(const bfloat16 *q, const bfloat16 *k, const bfloat16 *v, float *state, float *scores,
                      const int32_t *params, int32_t block_index, int32_t block, int32_t group, int32_t head_dim);
void attn_decode_packed_bf16(const bfloat16 *pack, bfloat16 *kv, float *state, float *scores, int32_t block_index,
                             int32_t block, int32_t group, int32_t head_dim);
void attn_decode_merge_f32(float *a, const float *b, int32_t group, int32_t head_dim);
void attn_decode_out_bf16(const float *state, bfloat16 *out, int32_t group, int32_t head_dim);
void swiglu_bf16(const bfloat16 *gate, const bfloat16 *up, bfloat16 *out, int32_t n);
void add_bf16(const bfloat16 *a, const bfloat16 *b, bfloat16 *out, int32_t n);
void bias_add_bf16(const bfloat16 *x, const bfloat16 *b, bfloat16 *y, int32_t n);
void bias_add_f32_bf16(const bfloat16 *row, const bfloat16 *b, bfloat16 *y, int32_t head, int32_t n);
void round_f32_bf16(const bfloat16 *row, bfloat16 *y, int32_t head, int32_t n);
void argmax_f32(const float *logits, int32_t rows, int32_t base, int32_t *best, int32_t first);
void argmax_merge_f32(const int32_t *bests, int32_t n, int32_t *token);
void matmul_bf16(const bfloat16 *a, const bfloat16 *b, float *acc, int32_t tr, int32_t tk, int32_t tn, int32_t first);
void matmul_q4_1_blocks(const bfloat16 *a, const uint8_t *blocks, bfloat16 *b, float *acc, int32_t tr, int32_t tk,
                        int32_t tn, int32_t first);
void matmul_q4_0(const bfloat16 *a, const uint8_t *w, bfloat16 *b, float *acc, int32_t tr, int32_t tk, int32_t tn,
                 int32_t first);
void matmul_out_bf16(const float *acc, bfloat16 *out, int32_t count);
void attn_prefill_bf16(const bfloat16 *q, const bfloat16 *k, const bfloat16 *v, float *state, float *scores,
                       const int32_t *params, int32_t row0, int32_t rows, int32_t block_index, int32_t block,
                       int32_t head_dim);
// prefill (issue 13)
void prefill_mm_bf16(const bfloat16 *w, const bfloat16 *x, float *acc, int32_t tm, int32_t tk, int32_t rows, int32_t first);
void prefill_mm_q4_1(const uint8_t *w, const bfloat16 *x, bfloat16 *scr, float *acc, int32_t tm, int32_t tk, int32_t rows,
                     int32_t first);
void prefill_mm_q4_0(const uint8_t *w, const bfloat16 *x, bfloat16 *scr, float *acc, int32_t tm, int32_t tk, int32_t rows,
                     int32_t first);
void prefill_mm_out_bf16(const float *acc, bfloat16 *y, int32_t tm, int32_t rows);
void copy_in_bf16(const bfloat16 *obj, bfloat16 *row, int32_t at, int32_t n);
void copy_out_bf16(const bfloat16 *row, bfloat16 *obj, int32_t at, int32_t n);
void qkv_rope_bf16(const bfloat16 *obj, const bfloat16 *cs, bfloat16 *out, const bfloat16 *hdr, int32_t r, int32_t at,
                   int32_t n, int32_t rope_end, int32_t kv_at, int32_t hd, int32_t adjacent);
void prefill_headers_bf16(const bfloat16 *hdr, bfloat16 *hdrs, int32_t heads, int32_t hd);
void keep_last_row_bf16(const bfloat16 *obj, bfloat16 *dst, const bfloat16 *hdr, int32_t r, int32_t at, int32_t n);
void swiglu_tiles_bf16(const bfloat16 *gu0, const bfloat16 *gu1, bfloat16 *act, int32_t tm, int32_t n);
void attn_chunk_init_f32(float *o, float *ml, int32_t rows, int32_t hd);
void attn_chunk_bf16(const bfloat16 *pack, const bfloat16 *kv, float *o, float *ml, float *s, bfloat16 *p, int32_t b,
                     int32_t block, int32_t rows, int32_t hd);
void attn_chunk_out_bf16(const float *o, const float *ml, bfloat16 *out, int32_t i, int32_t rows, int32_t hd);
}
