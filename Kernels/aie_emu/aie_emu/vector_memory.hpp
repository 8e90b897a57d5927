// The emulated cores' memory rule for vector accesses: load_v/store_v of 128, 256 or 512 bits need an address aligned to the access size, and every violation is counted.
//
// XDNA 2 vectors are naturally aligned (Peano aie2p_defines.h AIE_VECTOR_LDST_ALIGN 64; AIE API load_v/store_v
// docs: the pointer must be aligned to the vector size, misaligned is undefined behaviour). Each misaligned
// access is counted (aie_emu::misaligned_accesses) and the emulated device fails the run.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace aie_emu {

// Misaligned vector accesses since the counter was last taken (all cores), and the first one's
// access size and address modulo it. Read and reset by npuk_take_misaligned().
inline std::atomic<long> misaligned_accesses{0};
inline std::atomic<long> first_misaligned{0};   // bytes << 8 | (address % bytes)

inline void count_misaligned(size_t align, size_t rem) {
    long expected = 0;
    first_misaligned.compare_exchange_strong(expected, long(align) << 8 | long(rem));
    misaligned_accesses.fetch_add(1);
}

inline void check_vector_alignment(const void *ptr, size_t bytes) {
    // 128-, 256- and 512-bit accesses align to their size; narrower vectors to 128 bits is not
    // required (they are element-aligned sub-register moves), so only >= 16-byte accesses are checked.
    if (bytes < 16) return;
    size_t align = bytes > 64 ? 64 : bytes;
    size_t rem = reinterpret_cast<uintptr_t>(ptr) % align;
    if (rem != 0) count_misaligned(align, rem);
}

} // namespace aie_emu
