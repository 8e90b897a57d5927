// argmax: greedy token choice on the NPU over fp32 LM-head accumulators, lowest index on ties.
#include <aie_api/aie.hpp>
#include <stdint.h>

// A core's running best is two int32 words: the fp32 value's bits and the vocabulary index.
static inline float value_of(const int32_t *best) { float f; __builtin_memcpy(&f, best, 4); return f; }

extern "C" {

// Folds rows fp32 logits (global indices base..base+rows-1) into the running best. first != 0
// starts a new search. Strict '>' in increasing index order keeps the lowest index on ties.
void argmax_f32(const float *__restrict logits, int32_t rows, int32_t base, int32_t *__restrict best, int32_t first) {
    event0();
    float bv = first ? logits[0] : value_of(best);
    int32_t bi = first ? base : best[1];
    for (int r = first ? 1 : 0; r < rows; ++r) {
        if (logits[r] > bv) { bv = logits[r]; bi = base + r; }
    }
    __builtin_memcpy(best, &bv, 4);
    best[1] = bi;
    event1();
}

// Merges n per-core bests (n pairs of words) into one token id: highest value, then lowest index.
void argmax_merge_f32(const int32_t *__restrict bests, int32_t n, int32_t *__restrict token) {
    float bv = value_of(bests);
    int32_t bi = bests[1];
    for (int i = 1; i < n; ++i) {
        const float v = value_of(bests + 2 * i);
        if (v > bv || (v == bv && bests[2 * i + 1] < bi)) { bv = v; bi = bests[2 * i + 1]; }
    }
    *token = bi;
}

} // extern "C"
