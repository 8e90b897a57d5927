// CXRT stubs: the C interface when XRT's headers were not found at build time (no CXRT_HAVE_XRT).
// Every call fails with CXRT_ERR_NO_XRT and says how to get a build with XRT; nothing is emulated.
#ifndef CXRT_HAVE_XRT

#include "cxrt.h"
#include "cxrt_error.hpp"

namespace {
cxrt_status no_xrt(const char* call) {
    return cxrt::fail(CXRT_ERR_NO_XRT,
                      std::string(call) +
                          ": CXRT was built without XRT (no xrt/xrt_device.h under $XRT_ROOT/include, "
                          "/opt/xilinx/xrt/include or /usr/include); install XRT >= 2.18 (or set "
                          "XRT_ROOT) and rebuild from clean");
}
}  // namespace

extern "C" {

int cxrt_built_with_xrt(void) { return 0; }
const char* cxrt_version(void) { return ""; }

cxrt_status cxrt_xrt_library_path(char* buffer, size_t capacity) {
    if (buffer && capacity) buffer[0] = '\0';
    return no_xrt("cxrt_xrt_library_path");
}

cxrt_status cxrt_xclbin_open(const char*, cxrt_xclbin** out) {
    if (out) *out = nullptr;
    return no_xrt("xrt::xclbin");
}
void cxrt_xclbin_close(cxrt_xclbin*) {}
cxrt_status cxrt_xclbin_kernel_arg_count(cxrt_xclbin*, const char*, size_t* count) {
    if (count) *count = 0;
    return no_xrt("xrt::xclbin::kernel::get_num_args");
}
cxrt_status cxrt_xclbin_kernel_arg(cxrt_xclbin*, const char*, size_t, cxrt_xclbin_arg* out) {
    if (out) *out = cxrt_xclbin_arg{};
    return no_xrt("xrt::xclbin::kernel::get_args");
}

cxrt_status cxrt_device_open(unsigned int, cxrt_device** out) {
    if (out) *out = nullptr;
    return no_xrt("xrt::device");
}
void cxrt_device_close(cxrt_device*) {}
cxrt_status cxrt_device_name(cxrt_device*, char* buffer, size_t capacity) {
    if (buffer && capacity) buffer[0] = '\0';
    return no_xrt("xrt::device::get_info<name>");
}

cxrt_status cxrt_context_open(cxrt_device*, const char*, cxrt_context** out) {
    if (out) *out = nullptr;
    return no_xrt("xrt::hw_context");
}
void cxrt_context_close(cxrt_context*) {}

cxrt_status cxrt_kernel_open(cxrt_context*, const char*, cxrt_kernel** out) {
    if (out) *out = nullptr;
    return no_xrt("xrt::kernel");
}
void cxrt_kernel_close(cxrt_kernel*) {}
cxrt_status cxrt_kernel_group_id(cxrt_kernel*, int, int* out) {
    if (out) *out = -1;
    return no_xrt("xrt::kernel::group_id");
}

cxrt_status cxrt_bo_alloc(cxrt_device*, size_t, cxrt_bo_flags, int, cxrt_bo** out) {
    if (out) *out = nullptr;
    return no_xrt("xrt::bo");
}
void cxrt_bo_free(cxrt_bo*) {}
cxrt_status cxrt_bo_sub(cxrt_bo*, size_t, size_t, cxrt_bo** out) {
    if (out) *out = nullptr;
    return no_xrt("xrt::bo(parent, size, offset)");
}
cxrt_status cxrt_bo_map(cxrt_bo*, void** out) {
    if (out) *out = nullptr;
    return no_xrt("xrt::bo::map");
}
cxrt_status cxrt_bo_sync(cxrt_bo*, cxrt_sync_direction, size_t, size_t) { return no_xrt("xrt::bo::sync"); }

cxrt_status cxrt_run_create(cxrt_kernel*, cxrt_run** out) {
    if (out) *out = nullptr;
    return no_xrt("xrt::run");
}
void cxrt_run_free(cxrt_run*) {}
cxrt_status cxrt_run_set_arg_bo(cxrt_run*, int, cxrt_bo*) { return no_xrt("xrt::run::set_arg"); }
cxrt_status cxrt_run_set_arg_u64(cxrt_run*, int, uint64_t) { return no_xrt("xrt::run::set_arg"); }
cxrt_status cxrt_run_start(cxrt_run*) { return no_xrt("xrt::run::start"); }
cxrt_status cxrt_run_wait(cxrt_run*, unsigned int, int* state) {
    if (state) *state = 0;
    return no_xrt("xrt::run::wait");
}

cxrt_status cxrt_runlist_create(cxrt_context*, cxrt_runlist** out) {
    if (out) *out = nullptr;
    return no_xrt("xrt::runlist");
}
void cxrt_runlist_free(cxrt_runlist*) {}
cxrt_status cxrt_runlist_add(cxrt_runlist*, cxrt_run*) { return no_xrt("xrt::runlist::add"); }
cxrt_status cxrt_runlist_execute(cxrt_runlist*) { return no_xrt("xrt::runlist::execute"); }
cxrt_status cxrt_run_state(cxrt_run*, int* state) {
    if (state) *state = 0;
    return no_xrt("xrt::run::state");
}

cxrt_status cxrt_runlist_wait(cxrt_runlist*, unsigned int, int* failed_index) {
    if (failed_index) *failed_index = -1;
    return no_xrt("xrt::runlist::wait");
}

}  // extern "C"

#endif  // !CXRT_HAVE_XRT
