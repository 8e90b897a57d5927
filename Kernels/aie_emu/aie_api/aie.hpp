// x86 emulation of the subset of AMD's AIE API that NPULlama's kernels use, held to what aie2p (XDNA2) accepts and computing as aie2p computes.
//
// It resolves `#include <aie_api/aie.hpp>` when the kernels are compiled for the host (SwiftPM target
// NPUKernels). Three companions carry the facts, each cited to its source and listed as an `aieApi.*`
// entry of Kernels/npu2_target.json:
//   - aie_emu/aie2p_rules.hpp: what the real headers reject on aie2p (exp2 result and argument types,
//     mul/mac/msc type pairs, bf16 mmul shapes, accumulator forms of inv/invsqrt/sqrt, to_float inputs,
//     mlir-aie's loop macros, the BFP16 mmul macro); the templates below static_assert them, so a kernel
//     that would not compile for aie2p does not compile here either.
//   - aie_emu/aie2p_arithmetic.hpp: the numerics (rounding register, fp32 products through Peano's FP32
//     emulation, bf16 products exact, exp2/inv/invsqrt modelled within their bounds).
//   - aie_emu/vector_memory.hpp: the alignment rule of vector loads and stores.
// Not modelled: timing, VLIW scheduling, register pressure, integer multiplies, denormals.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>

#include "../aie_emu/aie2p_arithmetic.hpp"
#include "../aie_emu/aie2p_rules.hpp"
#include "../aie_emu/vector_memory.hpp"

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

// Trace markers: compiler intrinsics on the core, available with aie.hpp alone (mlir-aie
// aie_kernels/aie2p/rms_norm.cc and softmax.cc call them including nothing else); no-ops here.
inline void event0() {}
inline void event1() {}

namespace aie {

inline void set_rounding(rounding_mode m) { aie_emu::rounding_register() = m; }
inline rounding_mode get_rounding() { return aie_emu::rounding_register(); }

namespace detail {
template <typename T> inline constexpr bool is_float_elem_v = std::is_same_v<T, float> || std::is_same_v<T, bfloat16>;
template <typename T> inline float as_float(T v) { return float(v); }
} // namespace detail

// ---- vectors -------------------------------------------------------------------------------
template <typename T, unsigned N> struct vector {
    static_assert(detail::is_float_elem_v<T> || std::is_integral_v<T>, "aie_emu: vector element type not modelled");
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

// fp32 lanes. From a float or bfloat16 vector exactly; to bfloat16 through the rounding register.
template <unsigned N> struct accum<accfloat, N> {
    float data[N];
    accum() = default;
    template <typename T> explicit accum(const vector<T, N> &v) { from_vector(v); }
    static constexpr unsigned size() { return N; }
    template <typename T> accum &from_vector(const vector<T, N> &v, int = 0) {
        static_assert(detail::is_float_elem_v<T>, "aie_emu: accum<accfloat> from a non-float vector is not modelled");
        for (unsigned i = 0; i < N; ++i) data[i] = detail::as_float(v.data[i]);
        return *this;
    }
    template <typename T> vector<T, N> to_vector(int = 0) const {
        static_assert(detail::is_float_elem_v<T>, "aie_emu: accum<accfloat> to a non-float vector is not modelled");
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

namespace detail {
template <typename S> struct is_container : std::false_type {};
template <typename T, unsigned N> struct is_container<vector<T, N>> : std::true_type {};
template <typename Tag, unsigned N> struct is_container<accum<Tag, N>> : std::true_type {};
template <typename S> inline constexpr bool is_scalar_v = !is_container<std::decay_t<S>>::value;
} // namespace detail

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

// Element-aligned load (the pointer need only be aligned to `aligned_elems` elements): no vector
// alignment rule, at the hardware's cost of extra cycles (the core realigns two aligned loads).
template <unsigned N, typename T> vector<std::remove_const_t<T>, N> load_unaligned_v(T *ptr, unsigned aligned_elems = 1) {
    const size_t promised = sizeof(T) * (aligned_elems ? aligned_elems : 1);
    const size_t rem = reinterpret_cast<uintptr_t>(ptr) % promised;
    if (rem != 0) aie_emu::count_misaligned(promised, rem);   // the promise is broken: count it as misaligned
    vector<std::remove_const_t<T>, N> r;
    std::memcpy(r.data, ptr, sizeof(r.data));
    return r;
}

template <typename T, unsigned N> void store_v(T *ptr, const vector<T, N> &v) {
    aie_emu::check_vector_alignment(ptr, N * sizeof(T));
    std::memcpy(ptr, v.data, sizeof(v.data));
}

// ---- multiply / accumulate -----------------------------------------------------------------
// [aieApi.mul.typePairs] float×float or bfloat16×bfloat16 into an fp32 accumulator; bf16 products are exact,
// fp32 products go through the FP32 emulation's nine bf16 partial products (aie2p_arithmetic.hpp).
namespace detail {
template <typename A, typename B> constexpr void check_mul_pair() {
    static_assert(aie_emu::rules::valid_mul_pair_v<A, B>, AIE_EMU_RULE_MUL_TYPES);
    static_assert(!aie_emu::rules::valid_mul_pair_v<A, B> || aie_emu::rules::modelled_mul_pair_v<A, B>,
                  AIE_EMU_NOT_MODELLED_MUL);
}
template <unsigned N> constexpr const accum<accfloat, N> *no_acc() { return nullptr; }   // mul: no accumulator
template <typename A, typename B> inline float product(A a, B b) {
    if constexpr (std::is_same_v<A, float> && std::is_same_v<B, float>) return aie_emu::fp32_product(a, b);
    else return as_float(a) * as_float(b);   // bf16 × bf16: 8-bit significands, exact in fp32
}
template <int Sign, typename A, typename B, unsigned N>
accum<accfloat, N> multiply(const accum<accfloat, N> *acc, const vector<A, N> &a, const vector<B, N> &b) {
    check_mul_pair<A, B>();
    accum<accfloat, N> r;
    for (unsigned i = 0; i < N; ++i) {
        const float p = product(a.data[i], b.data[i]);
        r.data[i] = acc ? (Sign > 0 ? acc->data[i] + p : acc->data[i] - p) : p;
    }
    return r;
}
template <int Sign, typename A, unsigned N, typename S>
accum<accfloat, N> multiply(const accum<accfloat, N> *acc, const vector<A, N> &a, S s) {
    check_mul_pair<A, S>();
    accum<accfloat, N> r;
    for (unsigned i = 0; i < N; ++i) {
        const float p = product(a.data[i], s);
        r.data[i] = acc ? (Sign > 0 ? acc->data[i] + p : acc->data[i] - p) : p;
    }
    return r;
}
} // namespace detail

template <typename A, typename B, unsigned N>
accum<accfloat, N> mul(const vector<A, N> &a, const vector<B, N> &b) { return detail::multiply<1>(detail::no_acc<N>(), a, b); }
template <typename A, unsigned N, typename S, typename = std::enable_if_t<detail::is_scalar_v<S>>>
accum<accfloat, N> mul(const vector<A, N> &a, S s) { return detail::multiply<1>(detail::no_acc<N>(), a, s); }
template <typename S, typename B, unsigned N, typename = std::enable_if_t<detail::is_scalar_v<S>>>
accum<accfloat, N> mul(S s, const vector<B, N> &b) { detail::check_mul_pair<S, B>(); return detail::multiply<1>(detail::no_acc<N>(), b, s); }

template <typename A, typename B, unsigned N>
accum<accfloat, N> mac(const accum<accfloat, N> &acc, const vector<A, N> &a, const vector<B, N> &b) {
    return detail::multiply<1>(&acc, a, b);
}
template <typename A, unsigned N, typename S, typename = std::enable_if_t<detail::is_scalar_v<S>>>
accum<accfloat, N> mac(const accum<accfloat, N> &acc, const vector<A, N> &a, S s) { return detail::multiply<1>(&acc, a, s); }
template <typename A, typename B, unsigned N>
accum<accfloat, N> msc(const accum<accfloat, N> &acc, const vector<A, N> &a, const vector<B, N> &b) {
    return detail::multiply<-1>(&acc, a, b);
}
template <typename A, unsigned N, typename S, typename = std::enable_if_t<detail::is_scalar_v<S>>>
accum<accfloat, N> msc(const accum<accfloat, N> &acc, const vector<A, N> &a, S s) { return detail::multiply<-1>(&acc, a, s); }

// ---- add / sub -----------------------------------------------------------------------------
// In fp32 lanes; a vector result rounds once to its type (bfloat16 through the rounding register), as
// aie2's add.hpp does it through the accumulator adders.
template <unsigned N> accum<accfloat, N> add(const accum<accfloat, N> &a, const accum<accfloat, N> &b) {
    accum<accfloat, N> r;
    for (unsigned i = 0; i < N; ++i) r.data[i] = a.data[i] + b.data[i];
    return r;
}
template <typename T, unsigned N> accum<accfloat, N> add(const accum<accfloat, N> &a, const vector<T, N> &b) {
    return add(a, accum<accfloat, N>(b));
}
template <unsigned N> accum<accfloat, N> sub(const accum<accfloat, N> &a, const accum<accfloat, N> &b) {
    accum<accfloat, N> r;
    for (unsigned i = 0; i < N; ++i) r.data[i] = a.data[i] - b.data[i];
    return r;
}
template <typename T, unsigned N> accum<accfloat, N> sub(const accum<accfloat, N> &a, const vector<T, N> &b) {
    return sub(a, accum<accfloat, N>(b));
}
template <typename T, unsigned N> vector<T, N> add(const vector<T, N> &a, const vector<T, N> &b) {
    return add(accum<accfloat, N>(a), accum<accfloat, N>(b)).template to_vector<T>();
}
template <typename T, unsigned N> vector<T, N> sub(const vector<T, N> &a, const vector<T, N> &b) {
    return sub(accum<accfloat, N>(a), accum<accfloat, N>(b)).template to_vector<T>();
}

// ---- reductions ----------------------------------------------------------------------------
// The aie2p fp32 reduction (aie2/add_reduce.hpp add_reduce_accum): lanes i and i + w added for w = N/2,
// N/4, ... 1, in fp32; the result converted to T.
template <typename T, unsigned N> T reduce_add(const vector<T, N> &v) {
    static_assert((N & (N - 1)) == 0, "reduce_add needs a power-of-two width");
    static_assert(detail::is_float_elem_v<T>, "aie_emu: integer reduce_add is not modelled");
    float t[N];
    for (unsigned i = 0; i < N; ++i) t[i] = detail::as_float(v.data[i]);
    for (unsigned w = N / 2; w >= 1; w /= 2)
        for (unsigned i = 0; i < w; ++i) t[i] = t[i] + t[i + w];
    return T(t[0]);
}

// ---- elementary functions ------------------------------------------------------------------
// [aieApi.exp2.*] 2^x of fp32 lanes, bfloat16 result only (aie2p_arithmetic.hpp exp2_bf16_bits).
template <typename TR = bfloat16, typename T, unsigned N> vector<TR, N> exp2(const vector<T, N> &v) {
    static_assert(std::is_same_v<T, float>, AIE_EMU_RULE_EXP2_ARGUMENT);
    static_assert(std::is_same_v<TR, bfloat16>, AIE_EMU_RULE_EXP2_RESULT);
    vector<TR, N> r;
    for (unsigned i = 0; i < N; ++i) r.data[i] = bfloat16::from_bits(aie_emu::exp2_bf16_bits(detail::as_float(v.data[i])));
    return r;
}

// inv and invsqrt of a float or bfloat16 scalar or vector, through aie2p's fp32 hardware units (modelled
// within their bound); a bfloat16 result rounds per the rounding register (detail/aie2p/elementary.hpp
// elementary_vector_scalar_common converts to fp32 and back).
namespace detail {
template <typename T> inline T elementary(T x, float (*op)(float)) {
    static_assert(is_float_elem_v<T>, "aie_emu: inv/invsqrt of an integer is not modelled");
    return T(op(as_float(x)));
}
} // namespace detail
template <typename T, typename = std::enable_if_t<detail::is_scalar_v<T>>> T inv(T x) {
    return detail::elementary(x, aie_emu::inv_model);
}
template <typename T, typename = std::enable_if_t<detail::is_scalar_v<T>>> T invsqrt(T x) {
    return detail::elementary(x, aie_emu::invsqrt_model);
}
template <typename T, unsigned N> vector<T, N> inv(const vector<T, N> &v) {
    vector<T, N> r;
    for (unsigned i = 0; i < N; ++i) r.data[i] = detail::elementary(v.data[i], aie_emu::inv_model);
    return r;
}
template <typename T, unsigned N> vector<T, N> invsqrt(const vector<T, N> &v) {
    vector<T, N> r;
    for (unsigned i = 0; i < N; ++i) r.data[i] = detail::elementary(v.data[i], aie_emu::invsqrt_model);
    return r;
}
// [aieApi.elementary.accumForms] the accumulator forms are AIE1-only.
template <typename Tag, unsigned N> accum<Tag, N> inv(const accum<Tag, N> &a) {
    static_assert(aie_emu::rules::always_false_v<Tag>, AIE_EMU_RULE_ACCUM_ELEMENTARY);
    return a;
}
template <typename Tag, unsigned N> accum<Tag, N> invsqrt(const accum<Tag, N> &a) {
    static_assert(aie_emu::rules::always_false_v<Tag>, AIE_EMU_RULE_ACCUM_ELEMENTARY);
    return a;
}
template <typename Tag, unsigned N> accum<Tag, N> sqrt(const accum<Tag, N> &a) {
    static_assert(aie_emu::rules::always_false_v<Tag>, AIE_EMU_RULE_ACCUM_ELEMENTARY);
    return a;
}

// ---- conversion and shuffles ---------------------------------------------------------------
// [aieApi.toFloat.inputType] integer lanes to float or bfloat16 (exact for the small integers the kernels use;
// a bfloat16 result rounds per the rounding register).
template <typename TR = float, typename T, unsigned N> vector<TR, N> to_float(const vector<T, N> &v, int shift = 0) {
    static_assert(aie_emu::rules::valid_to_float_input_v<T>, AIE_EMU_RULE_TO_FLOAT);
    static_assert(detail::is_float_elem_v<TR>, "aie_emu: to_float result must be float or bfloat16");
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
// [aieApi.mmul.bf16Shapes] C (M x N) += A (M x K, row-major) * B (K x N, row-major) in fp32. Without
// AIE_API_EMULATE_BFLOAT16_MMUL_WITH_BFP16 (refused in aie2p_rules.hpp) aie2p runs a bf16 mmul as K bf16
// element-wise MACs (detail/aie2p/emulated_mmul_intrinsics.hpp mac_4x8_8x8_bf16): per output, the exact
// products A[m][k]·B[k][n] are added to the fp32 accumulator for k = 0, 1, ... K-1. A default-constructed
// mmul counts as zero for its first operation, as the real one does.
template <unsigned M, unsigned K, unsigned N, typename TA, typename TB = TA, typename TAcc = accauto> struct mmul {
    static_assert(std::is_same_v<TA, bfloat16> && std::is_same_v<TB, bfloat16> &&
                      (std::is_same_v<TAcc, accauto> || std::is_same_v<TAcc, accfloat>),
                  AIE_EMU_NOT_MODELLED_MMUL);
    static_assert(!(std::is_same_v<TA, bfloat16> && std::is_same_v<TB, bfloat16>) ||
                      aie_emu::rules::valid_bf16_mmul_shape_v<M, K, N>,
                  AIE_EMU_RULE_MMUL_SHAPE);
    static constexpr unsigned size_A = M * K, size_B = K * N, size_C = M * N;
    accum<accfloat, M * N> c;
    bool zero = true;
    mmul() = default;
    mmul(const accum<accfloat, M * N> &acc) : c(acc), zero(false) {}
    void mul(const vector<TA, M * K> &a, const vector<TB, K * N> &b) {
        zero = true;
        mac(a, b);
    }
    void mac(const vector<TA, M * K> &a, const vector<TB, K * N> &b) {
        for (unsigned m = 0; m < M; ++m)
            for (unsigned n = 0; n < N; ++n) {
                float s = zero ? 0.0f : c.data[m * N + n];
                for (unsigned k = 0; k < K; ++k) s += float(a.data[m * K + k]) * float(b.data[k * N + n]);
                c.data[m * N + n] = s;
            }
        zero = false;
    }
    template <typename T> vector<T, M * N> to_vector(int = 0) const { return to_accum().template to_vector<T>(); }
    accum<accfloat, M * N> to_accum() const { return zero ? zeros<accfloat, M * N>() : c; }
};

} // namespace aie
