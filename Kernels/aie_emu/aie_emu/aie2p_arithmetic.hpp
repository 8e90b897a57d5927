// How an aie2p core computes what the kernels ask: the rounding register, fp32 multiplies through the FP32 emulation, and models of exp2, inv, invsqrt.
//
// Each model is an entry `aieApi.numerics.<key>` of Kernels/npu2_target.json with its source and whether it
// is bit-faithful (the source documents the algorithm) or a worst-case model (the source gives no error).
//   - rounding: every fp32 -> bf16 conversion follows the core's rounding register (aie::set_rounding);
//     all ten modes of aie_api aie_types.hpp rounding_mode are computed as that file documents them.
//   - fp32 × fp32 vector products (aie::mul/mac/msc on float): aie2p has no fp32 multiplier; the AIE API
//     calls ::mul_elem_32_conf(v32float, ...) (detail/aie2p/mul_acc32_fp.hpp, under __AIE_API_FP32_EMULATION__,
//     which Peano's __AIE_MODEL_VERSION__ 11500 enables), and Peano implements it as its "accuracy_safe"
//     emulation (Xilinx/llvm-aie clang/lib/Headers/aie2p/aie2p_vmult.h mul_elem_32_accuracy_safe_inner):
//     each operand is split into three bf16 parts through the rounding register (x = a + b + c, y = d + e + f),
//     the nine exact bf16 products are summed in fp32 smallest first (c·f, c·e, b·f, a·f, b·e, d·c, b·d, a·e,
//     a·d), and a mac/msc then adds/subtracts that sum to the accumulator. Computed here bit-faithfully,
//     assuming IEEE round-to-nearest-even fp32 adds in the accumulator (denormals not modelled).
//   - bf16 × bf16 products are exact in fp32 and accumulate in fp32 (one rounding per mac).
//   - exp2: aie2p's unit takes fp32 lanes and returns bf16 (Peano aie2p_nlf_vector.h ::exp2 ->
//     __builtin_aie2p_exp2); no source states its error. Modelled as one of the two bf16 values around 2^x
//     (< 1 bf16 ulp = 2^-7 relative), chosen by a hash of the input bits; exact when 2^x is a bf16 value.
//   - inv, invsqrt (fp32): aie2p scalar hardware (Peano aie2p_nlf.h -> __builtin_aie2p_inv/invsqrt); no source
//     states their error. aie_api's changelog (Changelog.hpp, Vitis 2025.1 section) says XDNA2 moved to them
//     "for improved accuracy" over the AIE-ML software approximations of detail/aie2/elementary.hpp, whose
//     worst relative errors (computed over every fp32 mantissa) bound them: inv 1.5738e-7, invsqrt 6.5024e-4.
//     Modelled as the exact value times (1 ± bound), the sign from a hash of the input bits, exact for
//     powers of two (inv) and of four (invsqrt).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace aie {
// jgmelber/aie_api include/aie_api/aie_types.hpp rounding_mode (values: Peano aie2p_defines.h rnd_*).
enum class rounding_mode {
    floor, ceil, symmetric_floor, symmetric_ceil, negative_inf, positive_inf, symmetric_inf, symmetric_zero,
    conv_even, conv_odd
};
} // namespace aie

namespace aie_emu {

// The core's rounding register. thread_local so parallel test threads are separate "cores". Reset value
// floor (crRnd = 0 = rnd_floor; Peano aie2p_defines.h; REFERENCE §6).
inline aie::rounding_mode &rounding_register() {
    static thread_local aie::rounding_mode mode = aie::rounding_mode::floor;
    return mode;
}

inline uint32_t float_bits(float f) { uint32_t u; std::memcpy(&u, &f, 4); return u; }
inline float bits_float(uint32_t u) { float f; std::memcpy(&f, &u, 4); return f; }

// fp32 -> bf16 bits in rounding mode `m`, as aie_types.hpp documents each mode: floor toward -inf, ceil
// toward +inf, symmetric_floor toward zero, symmetric_ceil away from zero; the nearest modes differ at the
// half-way point only (negative_inf / positive_inf toward that infinity, symmetric_zero toward zero,
// symmetric_inf away from zero, conv_even / conv_odd to the even / odd neighbour).
inline uint16_t bf16_bits(float f, aie::rounding_mode m) {
    const uint32_t u = float_bits(f);
    if (std::isnan(f)) return uint16_t((u >> 16) | 0x0040);
    const uint32_t low = u & 0xFFFFu;
    const uint16_t toward_zero = uint16_t(u >> 16);
    if (low == 0) return toward_zero;
    const uint16_t away = uint16_t(toward_zero + 1);   // one bf16 ulp larger in magnitude (may become inf)
    const bool negative = (u >> 31) != 0;
    using R = aie::rounding_mode;
    switch (m) {
    case R::floor: return negative ? away : toward_zero;
    case R::ceil: return negative ? toward_zero : away;
    case R::symmetric_floor: return toward_zero;
    case R::symmetric_ceil: return away;
    default: break;
    }
    if (low > 0x8000u) return away;
    if (low < 0x8000u) return toward_zero;
    switch (m) {   // exactly half-way
    case R::negative_inf: return negative ? away : toward_zero;
    case R::positive_inf: return negative ? toward_zero : away;
    case R::symmetric_zero: return toward_zero;
    case R::symmetric_inf: return away;
    case R::conv_even: return (toward_zero & 1u) ? away : toward_zero;
    case R::conv_odd: return (toward_zero & 1u) ? toward_zero : away;
    default: return toward_zero;
    }
}
inline uint16_t bf16_bits(float f) { return bf16_bits(f, rounding_register()); }
inline float bf16_to_float(uint16_t b) { return bits_float(uint32_t(b) << 16); }
inline float round_bf16(float f) { return bf16_to_float(bf16_bits(f)); }

// A fixed mixing of an input's bits: picks the direction of a modelled error, the same on every run.
inline uint32_t input_hash(float x) {
    uint64_t z = uint64_t(float_bits(x)) + 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return uint32_t(z ^ (z >> 31));
}

// ---- fp32 multiplies: Peano's accuracy_safe emulation from bf16 parts ------------------------------
// x = a + b + c exactly: a = bf16(x), b = bf16(x - a), c = bf16(x - a - b), each through the rounding register
// (the differences are exact in fp32).
struct bf16_parts { float a, b, c; };
inline bf16_parts split_bf16(float x) {
    const float a = round_bf16(x);
    const float r0 = x - a;
    const float b = round_bf16(r0);
    const float c = round_bf16(r0 - b);
    return {a, b, c};
}
// The nine exact partial products of x·y summed in fp32 in Peano's order (its tmp before the accumulator).
inline float fp32_product(float x, float y) {
    if (!std::isfinite(x) || !std::isfinite(y)) return x * y;   // inf/NaN lanes: IEEE result (not modelled further)
    const bf16_parts p = split_bf16(x), q = split_bf16(y);
    const float a = p.a, b = p.b, c = p.c, d = q.a, e = q.b, f = q.c;
    float t = c * f;
    t += c * e;
    t += b * f;
    t += a * f;
    t += b * e;
    t += d * c;
    t += b * d;
    t += a * e;
    t += a * d;
    return t;
}

// ---- exp2, inv, invsqrt ----------------------------------------------------------------------------
// 2^x in bf16: one of the two bf16 values around the exact result (hash of x), exact when representable;
// results below the smallest normal flush to zero, above the largest finite value go to +inf.
inline uint16_t exp2_bf16_bits(float x) {
    if (std::isnan(x)) return 0x7FC0;
    const double e = std::exp2(double(x));
    if (e >= 0x1p128) return 0x7F80;
    if (e < 0x1p-126) return 0x0000;
    int ex = 0;
    const double q = std::ldexp(std::frexp(e, &ex), 8);   // [128, 256): the 8 significant bits of a bf16
    double pick = std::floor(q);
    if (pick != q && (input_hash(x) & 1u)) pick += 1.0;
    return uint16_t(float_bits(float(std::ldexp(pick, ex - 8))) >> 16);
}

// Worst relative errors of the AIE-ML fp32 approximations aie2p's hardware replaced (see the header note):
// jgmelber/aie_api detail/aie2/elementary.hpp Inv (magic 0x7eb53567, one refinement and one Newton step) and
// InvSqrt (magic 0x5F1FFFF9, rrrola's constants), evaluated in fp32 over every mantissa of [1, 2) resp. [1, 4).
inline constexpr double kInvRelativeBound = 1.5738e-7;
inline constexpr double kInvSqrtRelativeBound = 6.5024e-4;

inline bool is_power_of_two(float x) { return (float_bits(x) & 0x007FFFFFu) == 0 && std::isnormal(x); }

inline float inv_model(float x) {
    if (std::isnan(x) || x == 0.0f || std::isinf(x)) return 1.0f / x;
    const double exact = 1.0 / double(x);
    if (is_power_of_two(x)) return float(exact);
    const double sign = (input_hash(x) & 1u) ? 1.0 : -1.0;
    return float(exact * (1.0 + sign * kInvRelativeBound));
}

inline float invsqrt_model(float x) {
    if (std::isnan(x) || x < 0.0f) return std::nanf("");
    if (x == 0.0f) return INFINITY;
    if (std::isinf(x)) return 0.0f;
    const double exact = 1.0 / std::sqrt(double(x));
    const int ex = int((float_bits(x) >> 23) & 0xFF) - 127;
    if (is_power_of_two(x) && (ex % 2) == 0) return float(exact);
    const double sign = (input_hash(x) & 1u) ? 1.0 : -1.0;
    return float(exact * (1.0 + sign * kInvSqrtRelativeBound));
}

} // namespace aie_emu
