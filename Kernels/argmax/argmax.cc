// argmax: greedy token choice on the NPU over fp32 LM-head accumulators, lowest index on ties.
#include <aie_api/aie.hpp>
#include <stdint.h>

extern "C" {

// Folds rows fp32 logits (global indices base..base+rows) into the running best (value, index).
// first != 0 starts a new search. Strict '>' in increasing index order keeps the lowest index.
void argmax_f32(const float *__restrict logits, int32_t rows, int32_t base, float *__restrict best_value,
                int32_t *__restrict best_index, int32_t first) {
    event0();
    float bv = first ? logits[0] : *best_value;
    int32_t bi = first ? base : *best_index;
    for (int r = first ? 1 : 0; r < rows; ++r) {
        if (logits[r] > bv) { bv = logits[r]; bi = base + r; }
    }
    *best_value = bv;
    *best_index = bi;
    event1();
}

// Merges n per-core results into one token id: highest value, then lowest index.
void argmax_merge_f32(const float *__restrict values, const int32_t *__restrict indices, int32_t n,
                      int32_t *__restrict token) {
    float bv = values[0];
    int32_t bi = indices[0];
    for (int i = 1; i < n; ++i) {
        if (values[i] > bv || (values[i] == bv && indices[i] < bi)) { bv = values[i]; bi = indices[i]; }
    }
    *token = bi;
}

} // extern "C"
