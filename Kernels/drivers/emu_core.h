// Emulated core and memory-tile storage for the tile drivers: fixed-size arenas that fail when a design's buffers do not fit.
#pragma once
#include <aie_api/aie.hpp>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <atomic>
#include <memory>
#include <new>

#include "npu_kernels.h"

namespace emu {

// 64 KB of data memory per AIE2P core, less the 1 KB stack the toolchain reserves by default.
constexpr size_t kCoreDataBytes = 65536 - 1024;
constexpr size_t kMemTileBytes = 524288;

// A core's data memory. Buffers are 64-byte aligned, as the DMA and vector loads want them.
class CoreArena {
  public:
    explicit CoreArena(size_t capacity = kCoreDataBytes)
        : capacity_(capacity), mem_(new (std::align_val_t(64)) unsigned char[capacity]) {}
    template <typename T> T *alloc(size_t count) {
        size_t start = (used_ + 63) & ~size_t(63);
        size_t bytes = count * sizeof(T);
        if (start + bytes > capacity_) { overflow_ = true; return nullptr; }
        used_ = start + bytes;
        std::memset(mem_.get() + start, 0xA5, bytes); // uninitialised memory is not zero on a core
        return reinterpret_cast<T *>(mem_.get() + start);
    }
    bool overflowed() const { return overflow_; }
    size_t used() const { return used_; }

  private:
    size_t capacity_, used_ = 0;
    bool overflow_ = false;
    struct AlignedDelete {
        void operator()(unsigned char *p) const { ::operator delete[](p, std::align_val_t(64)); }
    };
    std::unique_ptr<unsigned char[], AlignedDelete> mem_;   // 64-byte aligned base: offsets are addresses mod 64
};

// A DMA transfer of `rows` runs of `count` elements from a strided source into a dense tile.
template <typename T> inline void dma_2d(T *dst, const T *src, int rows, int count, long src_stride) {
    for (int r = 0; r < rows; ++r) std::memcpy(dst + long(r) * count, src + long(r) * src_stride, sizeof(T) * count);
}

// The rounding register's value when a driver starts, as set by npuk_set_power_on_rounding.
inline std::atomic<int> power_on_conv_even{0};
inline void power_on() {
    aie::set_rounding(power_on_conv_even.load() ? aie::rounding_mode::conv_even : aie::rounding_mode::floor);
}

inline const bfloat16 *bf(const uint16_t *p) { return reinterpret_cast<const bfloat16 *>(p); }
inline bfloat16 *bf(uint16_t *p) { return reinterpret_cast<bfloat16 *>(p); }

} // namespace emu
