// x86 emulation of the subset of AMD's AIE API that NPULlama's kernels use: numerics, not timing.
//
// Written from the public AIE API documentation; it resolves `#include <aie_api/aie.hpp>` when the
// kernels are compiled for the host. What it models:
//   - bfloat16 storage (top half of an fp32) and fp32 accumulators (accum<accfloat, N>);
//   - every fp32 -> bf16 conversion goes through the core's rounding register, as on the vector
//     unit: power-on default `floor` (mantissa truncation on the bit pattern), `conv_even`
//     (round to nearest, ties to even) once a kernel calls aie::set_rounding; `symmetric_zero`
//     is truncation too. Other modes are not modelled and abort.
//   - bf16 x bf16 products are exact in fp32 (8-bit mantissas); sums round in fp32.
//   - exp2 and invsqrt are evaluated exactly, then rounded to the requested type. The hardware
//     units are approximations; their error is not modelled (stated in Kernels/README.md).
//   - alignment: load_v/store_v of a 128-, 256- or 512-bit vector need a pointer aligned to the access
//     size on XDNA 2 (AIE API memory docs; misaligned is undefined behaviour there). Each misaligned
//     access is counted (aie_emu::misaligned_accesses) and the emulated device fails the run.
// Timing, VLIW scheduling and register pressure are not modelled.
#pragma once

#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <type_traits>
#include <utility>

namespace aie {
enum class rounding_mode {
    floor, ceil, positive_inf, negative_inf, symmetric_floor, symmetric_ceil,
    symmetric_inf, symmetric_zero, conv_even, conv_odd
};
} // namespace aie

namespace aie_emu {
// The core's rounding register. thread_local so parallel test threads are separate "cores".
inline aie::rounding_mode &rounding_register() {
    static thread_local aie::rounding_mode mode = aie::rounding_mode::floor;
    return mode;
}

// Misaligned vector accesses since the counter was last taken (all cores), and the first one's
// access size and address modulo it. Read and reset by npuk_take_misaligned().
inline std::atomic<long> misaligned_accesses{0};
inline std::atomic<long> first_misaligned{0};   // bytes << 8 | (address % bytes)
inline void check_vector_alignment(const void *ptr, size_t bytes) {
    // 128-, 256- and 512-bit accesses align to their size; narrower vectors to 128 bits is not
    // required (they are element-aligned sub-register moves), so only >= 16-byte accesses are checked.
    if (bytes < 16) return;
    size_t align = bytes > 64 ? 64 : bytes;
    size_t rem = reinterpret_cast<uintptr_t>(ptr) % align;
    if (rem != 0) {
        long expected = 0;
        first_misaligned.compare_exchange_strong(expected, long(align) << 8 | long(rem));
        misaligned_accesses.fetch_add(1);
    }
}

[[noreturn]] inline void fail(const char *what) {
    std::fprintf(stderr, "aie_emu: %s\n", what);
    std::abort();
}

// fp32 -> bf16 bits under the current rounding register.
inline uint16_t bf16_bits(float f) {
    uint32_t u;
    std::memcpy(&u, &f, 4);
    if (std::isnan(f)) return uint16_t((u >> 16) | 0x0040);
    switch (rounding_register()) {
    case aie::rounding_mode::floor:
    case aie::rounding_mode::symmetric_zero:
        return uint16_t(u >> 16);
    case aie::rounding_mode::conv_even: {
        uint32_t r = 0x7FFFu + ((u >> 16) & 1u);
        return uint16_t((u + r) >> 16);
    }
    default:
        fail("rounding mode not modelled (only floor, symmetric_zero, conv_even)");
    }
}

inline float bf16_to_float(uint16_t b) {
    uint32_t u = uint32_t(b) << 16;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}
} // namespace aie_emu

// The AIE compiler's built-in bf16 scalar type. Converting from fp32 honours the rounding register.
struct bfloat16 {
    uint16_t bits;
    bfloat16() = default;
    template <typename A, typename = std::enable_if_t<std::is_arithmetic_v<A>>>
    bfloat16(A value) : bits(aie_emu::bf16_bits(float(value))) {}
    operator float() const { return aie_emu::bf16_to_float(bits); }
    static bfloat16 from_bits(uint16_t b) { bfloat16 r; r.bits = b; return r; }
};
static_assert(sizeof(bfloat16) == 2, "bfloat16 must be 2 bytes");

// Accumulator element tags.
struct accfloat {};
struct accauto {};

// Trace markers and loop hints of the real toolchain: no-ops here.
inline void event0() {}
inline void event1() {}
#ifndef AIE_PREPARE_FOR_PIPELINING
#define AIE_PREPARE_FOR_PIPELINING
#endif
#ifndef AIE_LOOP_MIN_ITERATION_COUNT
#define AIE_LOOP_MIN_ITERATION_COUNT(x)
#endif

namespace aie {

inline void set_rounding(rounding_mode m) { aie_emu::rounding_register() = m; }
inline rounding_mode get_rounding() { return aie_emu::rounding_register(); }

template <typename T> inline float as_float(T v) { return float(v); }

// ---- vectors -------------------------------------------------------------------------------
template <typename T, unsigned N> struct vector {
    T data[N];
    static constexpr unsigned size() { return N; }
    T get(unsigned i) const { return data[i]; }
    void set(T v, unsigned i) { data[i] = v; }
    T operator[](unsigned i) const { return data[i]; }
    template <unsigned M> vector<T, M> extract(unsigned idx) const {
        static_assert(N % M == 0, "extract size must divide the vector");
        vector<T, M> r;
        for (unsigned i = 0; i < M; ++i) r.data[i] = data[idx * M + i];
        return r;
    }
    template <unsigned M> vector &insert(unsigned idx, const vector<T, M> &v) {
        static_assert(N % M == 0, "insert size must divide the vector");
        for (unsigned i = 0; i < M; ++i) data[idx * M + i] = v.data[i];
        return *this;
    }
};

// ---- accumulators --------------------------------------------------------------------------
template <typename Tag, unsigned N> struct accum;

template <unsigned N> struct accum<accfloat, N> {
    float data[N];
    accum() = default;
    template <typename T> explicit accum(const vector<T, N> &v) { from_vector(v); }
    static constexpr unsigned size() { return N; }
    template <typename T> accum &from_vector(const vector<T, N> &v, int = 0) {
        for (unsigned i = 0; i < N; ++i) data[i] = as_float(v.data[i]);
        return *this;
    }
    // Conversion to bf16 rounds per the rounding register; to float is exact.
    template <typename T> vector<T, N> to_vector(int = 0) const {
        vector<T, N> r;
        for (unsigned i = 0; i < N; ++i) r.data[i] = T(data[i]);
        return r;
    }
    template <unsigned M> accum<accfloat, M> extract(unsigned idx) const {
        accum<accfloat, M> r;
        for (unsigned i = 0; i < M; ++i) r.data[i] = data[idx * M + i];
        return r;
    }
};

// ---- construction, load, store -------------------------------------------------------------
template <typename T, unsigned N> auto zeros() {
    if constexpr (std::is_same_v<T, accfloat>) {
        accum<accfloat, N> r;
        for (unsigned i = 0; i < N; ++i) r.data[i] = 0.0f;
        return r;
    } else {
        vector<T, N> r;
        for (unsigned i = 0; i < N; ++i) r.data[i] = T(0);
        return r;
    }
}

template <typename T, unsigned N, typename S> vector<T, N> broadcast(S value) {
    vector<T, N> r;
    T v = T(value);
    for (unsigned i = 0; i < N; ++i) r.data[i] = v;
    return r;
}

template <unsigned N, typename T> vector<std::remove_const_t<T>, N> load_v(T *ptr) {
    aie_emu::check_vector_alignment(ptr, N * sizeof(T));
    vector<std::remove_const_t<T>, N> r;
    std::memcpy(r.data, ptr, sizeof(r.data));
    return r;
}

// A vector from an address aligned only to `aligned_elems` elements (the core realigns two aligned
// loads with a shift; here memory is byte-addressable, so it is the same copy as load_v).
// Element-aligned load (the pointer need only be aligned to `aligned_elems` elements): no vector
// alignment rule, at the hardware's cost of extra cycles.
template <unsigned N, typename T> vector<std::remove_const_t<T>, N> load_unaligned_v(T *ptr, unsigned aligned_elems = 1) {
    const size_t promised = sizeof(T) * (aligned_elems ? aligned_elems : 1);
    if (reinterpret_cast<uintptr_t>(ptr) % promised != 0) {   // the promise is broken: count it as misaligned
        long expected = 0;
        aie_emu::first_misaligned.compare_exchange_strong(expected, long(promised) << 8 | long(reinterpret_cast<uintptr_t>(ptr) % promised));
        aie_emu::misaligned_accesses.fetch_add(1);
    }
    vector<std::remove_const_t<T>, N> r;
    std::memcpy(r.data, ptr, sizeof(r.data));
    return r;
}

template <typename T, unsigned N> void store_v(T *ptr, const vector<T, N> &v) {
    aie_emu::check_vector_alignment(ptr, N * sizeof(T));
    std::memcpy(ptr, v.data, sizeof(v.data));
}

// ---- multiply / accumulate -----------------------------------------------------------------
// Products of two vectors (or a vector and a scalar) land in an fp32 accumulator.
template <typename A, typename B, unsigned N>
accum<accfloat, N> mul(const vector<A, N> &a, const vector<B, N> &b) {
    accum<accfloat, N> r;
    for (unsigned i = 0; i < N; ++i) r.data[i] = as_float(a.data[i]) * as_float(b.data[i]);
    return r;
}
template <typename A, unsigned N, typename S, typename = std::enable_if_t<!std::is_class_v<S> || std::is_same_v<S, bfloat16>>>
accum<accfloat, N> mul(const vector<A, N> &a, S s) {
    accum<accfloat, N> r;
    float f = as_float(s);
    for (unsigned i = 0; i < N; ++i) r.data[i] = as_float(a.data[i]) * f;
    return r;
}
template <typename A, unsigned N>
accum<accfloat, N> mul_square(const vector<A, N> &a) { return mul(a, a); }

template <typename A, typename B, unsigned N>
accum<accfloat, N> mac(const accum<accfloat, N> &acc, const vector<A, N> &a, const vector<B, N> &b) {
    accum<accfloat, N> r;
    for (unsigned i = 0; i < N; ++i) r.data[i] = acc.data[i] + as_float(a.data[i]) * as_float(b.data[i]);
    return r;
}
template <typename A, unsigned N, typename S, typename = std::enable_if_t<!std::is_class_v<S> || std::is_same_v<S, bfloat16>>>
accum<accfloat, N> mac(const accum<accfloat, N> &acc, const vector<A, N> &a, S s) {
    accum<accfloat, N> r;
    float f = as_float(s);
    for (unsigned i = 0; i < N; ++i) r.data[i] = acc.data[i] + as_float(a.data[i]) * f;
    return r;
}
template <typename A, typename B, unsigned N>
accum<accfloat, N> msc(const accum<accfloat, N> &acc, const vector<A, N> &a, const vector<B, N> &b) {
    accum<accfloat, N> r;
    for (unsigned i = 0; i < N; ++i) r.data[i] = acc.data[i] - as_float(a.data[i]) * as_float(b.data[i]);
    return r;
}

// ---- add / sub -----------------------------------------------------------------------------
template <unsigned N> accum<accfloat, N> add(const accum<accfloat, N> &a, const accum<accfloat, N> &b) {
    accum<accfloat, N> r;
    for (unsigned i = 0; i < N; ++i) r.data[i] = a.data[i] + b.data[i];
    return r;
}
template <typename T, unsigned N> accum<accfloat, N> add(const accum<accfloat, N> &a, const vector<T, N> &b) {
    accum<accfloat, N> r;
    for (unsigned i = 0; i < N; ++i) r.data[i] = a.data[i] + as_float(b.data[i]);
    return r;
}
template <unsigned N> accum<accfloat, N> sub(const accum<accfloat, N> &a, const accum<accfloat, N> &b) {
    accum<accfloat, N> r;
    for (unsigned i = 0; i < N; ++i) r.data[i] = a.data[i] - b.data[i];
    return r;
}
template <typename T, unsigned N> accum<accfloat, N> sub(const accum<accfloat, N> &a, const vector<T, N> &b) {
    accum<accfloat, N> r;
    for (unsigned i = 0; i < N; ++i) r.data[i] = a.data[i] - as_float(b.data[i]);
    return r;
}
// Vector +/- vector: computed in fp32, rounded once to T.
template <typename T, unsigned N> vector<T, N> add(const vector<T, N> &a, const vector<T, N> &b) {
    vector<T, N> r;
    for (unsigned i = 0; i < N; ++i) r.data[i] = T(as_float(a.data[i]) + as_float(b.data[i]));
    return r;
}
template <typename T, unsigned N> vector<T, N> sub(const vector<T, N> &a, const vector<T, N> &b) {
    vector<T, N> r;
    for (unsigned i = 0; i < N; ++i) r.data[i] = T(as_float(a.data[i]) - as_float(b.data[i]));
    return r;
}

// ---- max / reductions ----------------------------------------------------------------------
template <typename T, unsigned N> vector<T, N> max(const vector<T, N> &a, const vector<T, N> &b) {
    vector<T, N> r;
    for (unsigned i = 0; i < N; ++i) r.data[i] = as_float(a.data[i]) >= as_float(b.data[i]) ? a.data[i] : b.data[i];
    return r;
}
template <typename T, unsigned N> vector<T, N> max(const vector<T, N> &a, T s) {
    return max(a, broadcast<T, N>(s));
}
// Pairwise tree in fp32, as a vector unit reduces (halving the lanes each step).
template <typename T, unsigned N> T reduce_add(const vector<T, N> &v) {
    static_assert((N & (N - 1)) == 0, "reduce_add needs a power-of-two width");
    float t[N];
    for (unsigned i = 0; i < N; ++i) t[i] = as_float(v.data[i]);
    for (unsigned w = N / 2; w >= 1; w /= 2)
        for (unsigned i = 0; i < w; ++i) t[i] = t[i] + t[i + w];
    return T(t[0]);
}
template <typename T, unsigned N> T reduce_max(const vector<T, N> &v) {
    T m = v.data[0];
    for (unsigned i = 1; i < N; ++i)
        if (as_float(v.data[i]) > as_float(m)) m = v.data[i];
    return m;
}

// ---- elementary functions ------------------------------------------------------------------
// 2^x per lane, result in TR (bfloat16 rounds per the rounding register).
template <typename TR, typename T, unsigned N> vector<TR, N> exp2(const vector<T, N> &v) {
    vector<TR, N> r;
    for (unsigned i = 0; i < N; ++i) r.data[i] = TR(std::exp2(as_float(v.data[i])));
    return r;
}
inline float invsqrt(float x) { return float(1.0 / std::sqrt(double(x))); }
inline float inv(float x) { return float(1.0 / double(x)); }
inline float sqrt(float x) { return std::sqrt(x); }
template <typename T, unsigned N> vector<T, N> inv(const vector<T, N> &v) {
    vector<T, N> r;
    for (unsigned i = 0; i < N; ++i) r.data[i] = T(float(1.0 / double(as_float(v.data[i]))));
    return r;
}

// ---- conversion and shuffles ---------------------------------------------------------------
template <typename TR = float, typename T, unsigned N> vector<TR, N> to_float(const vector<T, N> &v, int shift = 0) {
    static_assert(std::is_integral_v<T>, "to_float converts integer vectors");
    vector<TR, N> r;
    float scale = std::ldexp(1.0f, -shift);
    for (unsigned i = 0; i < N; ++i) r.data[i] = TR(float(v.data[i]) * scale);
    return r;
}
template <typename T, unsigned N> vector<T, N> bit_and(T mask, const vector<T, N> &v) {
    vector<T, N> r;
    for (unsigned i = 0; i < N; ++i) r.data[i] = T(v.data[i] & mask);
    return r;
}
template <typename T, unsigned N> vector<T, N> downshift(const vector<T, N> &v, unsigned shift) {
    static_assert(std::is_integral_v<T>, "downshift shifts integer vectors");
    vector<T, N> r;
    for (unsigned i = 0; i < N; ++i) r.data[i] = T(v.data[i] >> shift);
    return r;
}
template <typename T, unsigned N> vector<T, 2 * N> concat(const vector<T, N> &a, const vector<T, N> &b) {
    vector<T, 2 * N> r;
    for (unsigned i = 0; i < N; ++i) { r.data[i] = a.data[i]; r.data[N + i] = b.data[i]; }
    return r;
}
// Elements grouped in runs of `step`: filter_even keeps runs 0, 2, 4...; filter_odd runs 1, 3, 5...
template <typename T, unsigned N> vector<T, N / 2> filter_even(const vector<T, N> &v, unsigned step = 1) {
    vector<T, N / 2> r;
    unsigned o = 0;
    for (unsigned i = 0; i < N; i += 2 * step)
        for (unsigned j = 0; j < step; ++j) r.data[o++] = v.data[i + j];
    return r;
}
template <typename T, unsigned N> vector<T, N / 2> filter_odd(const vector<T, N> &v, unsigned step = 1) {
    vector<T, N / 2> r;
    unsigned o = 0;
    for (unsigned i = 0; i < N; i += 2 * step)
        for (unsigned j = 0; j < step; ++j) r.data[o++] = v.data[i + step + j];
    return r;
}
// Interleaves runs of `step` from a and b; returns the low and high halves of the result.
template <typename T, unsigned N>
std::pair<vector<T, N>, vector<T, N>> interleave_zip(const vector<T, N> &a, const vector<T, N> &b, unsigned step = 1) {
    T t[2 * N];
    unsigned o = 0;
    for (unsigned i = 0; i < N; i += step) {
        for (unsigned j = 0; j < step; ++j) t[o++] = a.data[i + j];
        for (unsigned j = 0; j < step; ++j) t[o++] = b.data[i + j];
    }
    vector<T, N> lo, hi;
    for (unsigned i = 0; i < N; ++i) { lo.data[i] = t[i]; hi.data[i] = t[N + i]; }
    return {lo, hi};
}

// ---- matrix multiply -----------------------------------------------------------------------
// C (M x N) += A (M x K, row-major) * B (K x N, row-major), fp32 accumulation; for bf16 inputs
// `accauto` means accfloat. Sums over k in order 0..K-1 per output element.
template <unsigned M, unsigned K, unsigned N, typename TA, typename TB, typename TAcc = accauto> struct mmul {
    static_assert(std::is_same_v<TA, bfloat16> && std::is_same_v<TB, bfloat16>,
                  "the emulation models bf16 x bf16 mmul only");
    static constexpr unsigned size_A = M * K, size_B = K * N, size_C = M * N;
    accum<accfloat, M * N> c;
    mmul() = default;
    explicit mmul(const accum<accfloat, M * N> &acc) : c(acc) {}
    void mul(const vector<TA, M * K> &a, const vector<TB, K * N> &b) {
        c = zeros<accfloat, M * N>();
        mac(a, b);
    }
    void mac(const vector<TA, M * K> &a, const vector<TB, K * N> &b) {
        for (unsigned m = 0; m < M; ++m)
            for (unsigned n = 0; n < N; ++n) {
                float s = c.data[m * N + n];
                for (unsigned k = 0; k < K; ++k) s += float(a.data[m * K + k]) * float(b.data[k * N + n]);
                c.data[m * N + n] = s;
            }
    }
    template <typename T> vector<T, M * N> to_vector(int = 0) const { return c.template to_vector<T>(); }
    accum<accfloat, M * N> to_accum() const { return c; }
};

} // namespace aie
