// What the real AIE API accepts on aie2p (XDNA2, __AIE_ARCH__ 21), as compile-time predicates and the messages that cite their source.
//
// Each rule is an entry `aieApi.<key>` of Kernels/npu2_target.json (value, source, what it found). The
// emulation's templates static_assert these predicates, so a kernel that the aie2p build would reject
// fails to compile here too, with a message naming the key and the real source. The predicates mirror
// (are not copied from) jgmelber/aie_api include/aie_api at the commit npu2_target.json names.
// Tests/NPUKernelsTests/AIEAPIRuleTests.swift compiles one snippet per rule and expects its message.
#pragma once

#include <cstdint>
#include <type_traits>

struct bfloat16;   // defined in aie_api/aie.hpp
struct accfloat;
struct accauto;

namespace aie_emu::rules {

template <typename T, typename... U> inline constexpr bool one_of_v = (std::is_same_v<T, U> || ...);
template <typename...> inline constexpr bool always_false_v = false;

// aieApi.mul.typePairs — jgmelber/aie_api include/aie_api/detail/mul.hpp is_valid_mul_op, the
// `__AIE_ARCH__ == 20 || 21 || 22` branch (aie2p defines no __AIE_API_FP16_SUPPORT__ and
// __AIE_API_COMPLEX_FP32_EMULATION__ 0 in detail/aie2p/config.hpp): floats multiply only with their own
// type (float×float, bfloat16×bfloat16), never mixed; integers by the width table below. Every
// overload of aie::mul/mac/msc (vector·vector, vector·scalar, scalar·vector) requires it in aie.hpp.
// A scalar operand is taken as its own type (ElemOrOp): a float scalar with a bfloat16 vector is
// mixed, and double is no AIE element type at all.
template <typename A, typename B> inline constexpr bool valid_mul_pair_v =
    (one_of_v<B, int8_t, uint8_t> && one_of_v<A, int8_t, uint8_t, int16_t, uint16_t>) ||
    (one_of_v<B, int16_t, uint16_t> && one_of_v<A, int8_t, uint8_t, int16_t, uint16_t, int32_t, uint32_t>) ||
    (one_of_v<B, int32_t, uint32_t> && one_of_v<A, int16_t, uint16_t, int32_t, uint32_t>) ||
    (std::is_same_v<B, float> && std::is_same_v<A, float>) ||
    (std::is_same_v<B, bfloat16> && std::is_same_v<A, bfloat16>);
// The pairs the emulation computes (fp32 accumulators); the integer pairs aie2p accepts are not modelled.
template <typename A, typename B> inline constexpr bool modelled_mul_pair_v =
    (std::is_same_v<A, float> && std::is_same_v<B, float>) || (std::is_same_v<A, bfloat16> && std::is_same_v<B, bfloat16>);

// aieApi.mmul.bf16Shapes — jgmelber/aie_api include/aie_api/detail/aie2p/mmul_bf16_bf16.hpp: the
// mmul_bf16_bf16 specialisations for aie2p are M×K×N = 8×8×4, 4×8×4, 4×8×8, 8×8×8, 8×1×8 (the table in
// detail/mmul.hpp lists the same for XDNA2); any other shape has no implementation.
template <unsigned M, unsigned K, unsigned N> inline constexpr bool valid_bf16_mmul_shape_v =
    (M == 8 && K == 8 && N == 4) || (M == 4 && K == 8 && N == 4) || (M == 4 && K == 8 && N == 8) ||
    (M == 8 && K == 8 && N == 8) || (M == 8 && K == 1 && N == 8);

// aieApi.toFloat.inputType — jgmelber/aie_api include/aie_api/aie.hpp to_float(const Vec&): on Gen2
// (AIE-ML, XDNA2) the vector's elements are int4, uint4, int8, uint8, int16, uint16, int32 or uint32.
template <typename T> inline constexpr bool valid_to_float_input_v =
    one_of_v<T, int8_t, uint8_t, int16_t, uint16_t, int32_t, uint32_t>;

} // namespace aie_emu::rules

// The messages: "aie2p rejects ... [aieApi.<key>] (source)". Kept as macros so static_assert gets a literal.
#define AIE_EMU_RULE_EXP2_RESULT                                                                                   \
    "aie2p rejects this [aieApi.exp2.resultType]: aie::exp2<TR> returns bfloat16 only on XDNA2 (exp2<float> "      \
    "does not compile): jgmelber/aie_api include/aie_api/aie.hpp exp2 requires (arch::is(arch::XDNA2) && "         \
    "is_one_of_v<TR, bfloat16>); detail/aie2p/elementary.hpp has Exp2 for <bfloat16, float> only. Take the "        \
    "bfloat16 result (convert to float if needed)."
#define AIE_EMU_RULE_EXP2_ARGUMENT                                                                                 \
    "aie2p rejects this [aieApi.exp2.argumentType]: aie::exp2 takes a vector<float, N> (e.g. an fp32 "             \
    "accumulator's to_vector<float>()): jgmelber/aie_api include/aie_api/aie.hpp exp2(const vector<float, Elems>&)"
#define AIE_EMU_RULE_MUL_TYPES                                                                                     \
    "aie2p rejects this [aieApi.mul.typePairs]: aie::mul/mac/msc multiply float×float or bfloat16×bfloat16 "       \
    "(or an integer pair of the width table), never a mixed pair, in every vector/scalar form: jgmelber/aie_api "   \
    "include/aie_api/detail/mul.hpp is_valid_mul_op (required by every aie::mul/mac/msc overload in aie.hpp). "    \
    "Convert one side first (an accum<accfloat>'s to_vector<float>(), or a bfloat16 broadcast)."
#define AIE_EMU_NOT_MODELLED_MUL                                                                                   \
    "aie_emu: this integer multiply is valid on aie2p but not modelled by the emulation (fp32 accumulators only)"
#define AIE_EMU_RULE_MMUL_SHAPE                                                                                    \
    "aie2p rejects this [aieApi.mmul.bf16Shapes]: bfloat16 aie::mmul on XDNA2 exists for M×K×N 8×8×4, 4×8×4, "     \
    "4×8×8, 8×8×8, 8×1×8 only: jgmelber/aie_api include/aie_api/detail/aie2p/mmul_bf16_bf16.hpp specialisations"
#define AIE_EMU_NOT_MODELLED_MMUL "aie_emu: only bfloat16 x bfloat16 mmul with an fp32 (accauto/accfloat) accumulator is modelled"
#define AIE_EMU_RULE_ACCUM_ELEMENTARY                                                                              \
    "aie2p rejects this [aieApi.elementary.accumForms]: aie::inv/invsqrt/sqrt of an accumulator exist on AIE1 "    \
    "only: jgmelber/aie_api include/aie_api/aie.hpp inv/invsqrt/sqrt(const accum<accfloat, Elems>&) requires "     \
    "(arch::is(arch::AIE)). Convert with to_vector<float>() first."
#define AIE_EMU_RULE_TO_FLOAT                                                                                      \
    "aie2p rejects this [aieApi.toFloat.inputType]: aie::to_float converts integer vectors (int4…uint32) on "      \
    "XDNA2: jgmelber/aie_api include/aie_api/aie.hpp to_float(const Vec&) requires (arch::is(arch::Gen2) && "      \
    "is_one_of_v<value_type, int4, uint4, int8, uint8, int16, uint16, int32, uint32>)"

// aieApi.macros.kernelUtils — the loop/pipelining hints are not part of the AIE API: mlir-aie defines them in
// hunhoffe/mlir-aie aie_kernels/aie_kernel_utils.h, which our build (Tools/build-kernels.py: -I <mlir_aie>/include
// only) does not include, so on aie2p they are undeclared identifiers. Here each one is a static_assert that
// says so (a kernel that wants them must include a header the real build also compiles).
#define AIE_EMU_RULE_KERNEL_UTILS(name)                                                                           \
    static_assert(::aie_emu::rules::always_false_v<void>,                                                        \
                  "aie2p rejects this [aieApi.macros.kernelUtils]: " name " is defined by mlir-aie "             \
                  "aie_kernels/aie_kernel_utils.h, not by the AIE API, and our build does not include it "       \
                  "(hunhoffe/mlir-aie aie_kernels/aie_kernel_utils.h; Tools/build-kernels.py)");
#define AIE_PREPARE_FOR_PIPELINING AIE_EMU_RULE_KERNEL_UTILS("AIE_PREPARE_FOR_PIPELINING")
#define AIE_NO_PREPARE_FOR_PIPELINING AIE_EMU_RULE_KERNEL_UTILS("AIE_NO_PREPARE_FOR_PIPELINING")
#define AIE_PREPARE_FOR_POSTPIPELINING AIE_EMU_RULE_KERNEL_UTILS("AIE_PREPARE_FOR_POSTPIPELINING")
#define AIE_LOOP_MIN_ITERATION_COUNT(x) AIE_EMU_RULE_KERNEL_UTILS("AIE_LOOP_MIN_ITERATION_COUNT")
#define AIE_LOOP_MAX_ITERATION_COUNT(x) AIE_EMU_RULE_KERNEL_UTILS("AIE_LOOP_MAX_ITERATION_COUNT")
#define AIE_LOOP_RANGE(...) AIE_EMU_RULE_KERNEL_UTILS("AIE_LOOP_RANGE")
#define AIE_LOOP_UNROLL(x) AIE_EMU_RULE_KERNEL_UTILS("AIE_LOOP_UNROLL")
#define AIE_LOOP_UNROLL_FULL AIE_EMU_RULE_KERNEL_UTILS("AIE_LOOP_UNROLL_FULL")
#define AIE_LOOP_NO_UNROLL AIE_EMU_RULE_KERNEL_UTILS("AIE_LOOP_NO_UNROLL")
#define AIE_LOOP_FLATTEN AIE_EMU_RULE_KERNEL_UTILS("AIE_LOOP_FLATTEN")
#define AIE_KEEP_SW_LOOP AIE_EMU_RULE_KERNEL_UTILS("AIE_KEEP_SW_LOOP")
#define AIE_NO_HW_LOOP AIE_EMU_RULE_KERNEL_UTILS("AIE_NO_HW_LOOP")
#define AIE_TRY_INITIATION_INTERVAL(x) AIE_EMU_RULE_KERNEL_UTILS("AIE_TRY_INITIATION_INTERVAL")
#define AIE_MODULO_SCHEDULING_BUDGET_RATIO(x) AIE_EMU_RULE_KERNEL_UTILS("AIE_MODULO_SCHEDULING_BUDGET_RATIO")
#define AIE_PEEL_PIPELINED_LOOP(x) AIE_EMU_RULE_KERNEL_UTILS("AIE_PEEL_PIPELINED_LOOP")
#define AIE_KEEP_FREE_FOR_PIPELINING(x) AIE_EMU_RULE_KERNEL_UTILS("AIE_KEEP_FREE_FOR_PIPELINING")
#define AIE_ALLOCATE(x) AIE_EMU_RULE_KERNEL_UTILS("AIE_ALLOCATE")

// aieApi.mmul.bfp16Emulation — jgmelber/aie_api include/aie_api/detail/aie2p/mmul_bf16_bf16.hpp: with
// AIE_API_EMULATE_BFLOAT16_MMUL_WITH_BFP16 defined, bf16 4×8×8 and 8×8×8 mmul convert A and B to bfp16ebs8
// blocks (8 values, one shared exponent) before multiplying; without it (the default, and our build) they run as
// eight bf16 element-wise MACs. The emulation models only the default: refuse the macro rather than compute the
// wrong numbers silently.
#if defined(AIE_API_EMULATE_BFLOAT16_MMUL_WITH_BFP16)
#error "aie_emu [aieApi.mmul.bfp16Emulation]: AIE_API_EMULATE_BFLOAT16_MMUL_WITH_BFP16 (bf16 mmul as bfp16ebs8 block floating point, jgmelber/aie_api include/aie_api/detail/aie2p/mmul_bf16_bf16.hpp) is not modelled"
#endif
