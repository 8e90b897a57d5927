// CXRT over XRT >= 2.17: the C interface implemented with XRT's C++ API (xrt_coreutil), as mlir-aie's
// test_lib drives it: device(0), register_xclbin + hw_context, kernel(ctx, name), bo(device, size,
// flags, group), run with set_arg/start/wait, and xrt::runlist for batches. Built with CXRT_HAVE_XRT.
#ifdef CXRT_HAVE_XRT

#include "cxrt.h"
#include "cxrt_error.hpp"

#include <xrt/xrt_bo.h>
#include <xrt/xrt_device.h>
#include <xrt/xrt_hw_context.h>
#include <xrt/xrt_kernel.h>
// xrt::runlist, xrt::xclbin and xrt::version live in the experimental headers, which moved from
// include/experimental/ (XRT 2.17, 2.18) to include/xrt/experimental/ (XRT 2.19 and later).
#if __has_include(<xrt/experimental/xrt_kernel.h>)
#include <xrt/experimental/xrt_kernel.h>
#include <xrt/experimental/xrt_version.h>
#include <xrt/experimental/xrt_xclbin.h>
#else
#include <experimental/xrt_kernel.h>
#include <experimental/xrt_version.h>
#include <experimental/xrt_xclbin.h>
#endif

#include <algorithm>
#include <chrono>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

struct cxrt_device {
    xrt::device device;
};

struct cxrt_context {
    xrt::device device;
    xrt::xclbin xclbin;
    xrt::hw_context context;
    std::string xclbin_path;
};

struct cxrt_kernel {
    xrt::kernel kernel;
    std::string name;
};

struct cxrt_bo {
    xrt::bo bo;
    size_t size;
};

struct cxrt_run {
    xrt::run run;
    std::string kernel_name;
};

struct cxrt_runlist {
    // Declared before `list` so that they are destroyed after it: the runs outlive the runlist.
    std::vector<xrt::run> runs;
    std::vector<std::string> kernel_names;
    xrt::runlist list;  // XRT 2.17's runlist has no default constructor
    explicit cxrt_runlist(const xrt::hw_context& context) : list(context) {}
};

namespace {

cxrt_status null_argument(const char* call, const char* what) {
    return cxrt::fail(CXRT_ERR_INVALID_ARGUMENT, std::string(call) + ": " + what + " is null");
}

xrt::bo::flags bo_flags(cxrt_bo_flags flags) {
    switch (flags) {
    case CXRT_BO_CACHEABLE: return xrt::bo::flags::cacheable;
    case CXRT_BO_HOST_ONLY: return xrt::bo::flags::host_only;
    case CXRT_BO_NORMAL: break;
    }
    return xrt::bo::flags::normal;
}

std::string command_failure(const std::string& call, const std::string& kernel, int state) {
    return call + ": kernel '" + kernel + "' ended in " + cxrt::command_state_name(state) + " (" +
           std::to_string(state) + ")";
}

}  // namespace

extern "C" {

int cxrt_built_with_xrt(void) { return 1; }

const char* cxrt_version(void) {
    static const std::string version = [] {
        try {
            // Parenthesized names: glibc's <sys/sysmacros.h> defines major() and minor() as macros.
            return std::to_string((xrt::version::major)()) + "." + std::to_string((xrt::version::minor)()) +
                   "." + std::to_string((xrt::version::patch)());
        } catch (...) {
            return std::string();
        }
    }();
    return version.c_str();
}

cxrt_status cxrt_device_open(unsigned int index, cxrt_device** out) {
    if (!out) return null_argument("xrt::device", "out");
    *out = nullptr;
    try {
        *out = new cxrt_device{xrt::device(index)};
        return cxrt::ok();
    } catch (...) {
        return cxrt::fail_current_exception("xrt::device(" + std::to_string(index) + ")");
    }
}

void cxrt_device_close(cxrt_device* device) { delete device; }

cxrt_status cxrt_device_name(cxrt_device* device, char* buffer, size_t capacity) {
    if (!device) return null_argument("xrt::device::get_info<name>", "device");
    if (!buffer || capacity == 0) return null_argument("xrt::device::get_info<name>", "buffer");
    buffer[0] = '\0';
    try {
        std::string name = device->device.get_info<xrt::info::device::name>();
        size_t n = std::min(name.size(), capacity - 1);
        std::memcpy(buffer, name.data(), n);
        buffer[n] = '\0';
        return cxrt::ok();
    } catch (...) {
        return cxrt::fail_current_exception("xrt::device::get_info<name>");
    }
}

cxrt_status cxrt_context_open(cxrt_device* device, const char* xclbin_path, cxrt_context** out) {
    if (!out) return null_argument("xrt::hw_context", "out");
    *out = nullptr;
    if (!device) return null_argument("xrt::hw_context", "device");
    if (!xclbin_path) return null_argument("xrt::hw_context", "xclbin path");
    std::string step = std::string("xrt::xclbin(\"") + xclbin_path + "\")";
    try {
        xrt::xclbin xclbin{std::string(xclbin_path)};  // a path, not xclbin data
        step = std::string("xrt::device::register_xclbin(\"") + xclbin_path + "\")";
        device->device.register_xclbin(xclbin);
        step = std::string("xrt::hw_context(device, uuid of \"") + xclbin_path + "\")";
        xrt::hw_context context(device->device, xclbin.get_uuid());
        *out = new cxrt_context{device->device, std::move(xclbin), std::move(context), xclbin_path};
        return cxrt::ok();
    } catch (...) {
        return cxrt::fail_current_exception(step);
    }
}

void cxrt_context_close(cxrt_context* context) { delete context; }

cxrt_status cxrt_kernel_open(cxrt_context* context, const char* name, cxrt_kernel** out) {
    if (!out) return null_argument("xrt::kernel", "out");
    *out = nullptr;
    if (!context) return null_argument("xrt::kernel", "context");
    if (!name) return null_argument("xrt::kernel", "name");
    try {
        *out = new cxrt_kernel{xrt::kernel(context->context, name), name};
        return cxrt::ok();
    } catch (...) {
        return cxrt::fail_current_exception(std::string("xrt::kernel(context of \"") + context->xclbin_path +
                                            "\", \"" + name + "\")");
    }
}

void cxrt_kernel_close(cxrt_kernel* kernel) { delete kernel; }

cxrt_status cxrt_kernel_group_id(cxrt_kernel* kernel, int argument, int* out) {
    if (!out) return null_argument("xrt::kernel::group_id", "out");
    *out = -1;
    if (!kernel) return null_argument("xrt::kernel::group_id", "kernel");
    try {
        *out = kernel->kernel.group_id(argument);
        return cxrt::ok();
    } catch (...) {
        return cxrt::fail_current_exception("xrt::kernel::group_id(" + std::to_string(argument) + ") of '" +
                                            kernel->name + "'");
    }
}

cxrt_status cxrt_bo_alloc(cxrt_device* device, size_t size, cxrt_bo_flags flags, int group, cxrt_bo** out) {
    if (!out) return null_argument("xrt::bo", "out");
    *out = nullptr;
    if (!device) return null_argument("xrt::bo", "device");
    try {
        xrt::bo bo(device->device, size, bo_flags(flags), static_cast<xrt::memory_group>(group));
        *out = new cxrt_bo{std::move(bo), size};
        return cxrt::ok();
    } catch (...) {
        return cxrt::fail_current_exception("xrt::bo(device, " + std::to_string(size) + " bytes, flags " +
                                            std::to_string(static_cast<int>(flags)) + ", group " +
                                            std::to_string(group) + ")");
    }
}

void cxrt_bo_free(cxrt_bo* bo) { delete bo; }

cxrt_status cxrt_bo_sub(cxrt_bo* parent, size_t size, size_t offset, cxrt_bo** out) {
    if (!out) return null_argument("xrt::bo(parent, size, offset)", "out");
    *out = nullptr;
    if (!parent) return null_argument("xrt::bo(parent, size, offset)", "parent");
    try {
        xrt::bo bo(parent->bo, size, offset);
        *out = new cxrt_bo{std::move(bo), size};
        return cxrt::ok();
    } catch (...) {
        return cxrt::fail_current_exception("xrt::bo(parent, " + std::to_string(size) + " bytes, offset " +
                                            std::to_string(offset) + ")");
    }
}

cxrt_status cxrt_bo_map(cxrt_bo* bo, void** out) {
    if (!out) return null_argument("xrt::bo::map", "out");
    *out = nullptr;
    if (!bo) return null_argument("xrt::bo::map", "bo");
    try {
        *out = bo->bo.map();
        return cxrt::ok();
    } catch (...) {
        return cxrt::fail_current_exception("xrt::bo::map");
    }
}

cxrt_status cxrt_bo_sync(cxrt_bo* bo, cxrt_sync_direction direction, size_t size, size_t offset) {
    if (!bo) return null_argument("xrt::bo::sync", "bo");
    if (offset > bo->size || size > bo->size - offset)
        return cxrt::fail(CXRT_ERR_INVALID_ARGUMENT, "xrt::bo::sync: range " + std::to_string(offset) + "+" +
                                                         std::to_string(size) + " outside a bo of " +
                                                         std::to_string(bo->size) + " bytes");
    auto dir = direction == CXRT_SYNC_TO_DEVICE ? XCL_BO_SYNC_BO_TO_DEVICE : XCL_BO_SYNC_BO_FROM_DEVICE;
    try {
        bo->bo.sync(dir, size, offset);
        return cxrt::ok();
    } catch (...) {
        return cxrt::fail_current_exception(std::string("xrt::bo::sync(") +
                                            (direction == CXRT_SYNC_TO_DEVICE ? "TO_DEVICE" : "FROM_DEVICE") +
                                            ", " + std::to_string(size) + ", " + std::to_string(offset) + ")");
    }
}

cxrt_status cxrt_run_create(cxrt_kernel* kernel, cxrt_run** out) {
    if (!out) return null_argument("xrt::run", "out");
    *out = nullptr;
    if (!kernel) return null_argument("xrt::run", "kernel");
    try {
        *out = new cxrt_run{xrt::run(kernel->kernel), kernel->name};
        return cxrt::ok();
    } catch (...) {
        return cxrt::fail_current_exception("xrt::run of '" + kernel->name + "'");
    }
}

void cxrt_run_free(cxrt_run* run) { delete run; }

cxrt_status cxrt_run_set_arg_bo(cxrt_run* run, int index, cxrt_bo* bo) {
    if (!run) return null_argument("xrt::run::set_arg", "run");
    if (!bo) return null_argument("xrt::run::set_arg", "bo");
    try {
        run->run.set_arg(index, bo->bo);
        return cxrt::ok();
    } catch (...) {
        return cxrt::fail_current_exception("xrt::run::set_arg(" + std::to_string(index) + ", bo) of '" +
                                            run->kernel_name + "'");
    }
}

cxrt_status cxrt_run_set_arg_u64(cxrt_run* run, int index, uint64_t value) {
    if (!run) return null_argument("xrt::run::set_arg", "run");
    try {
        run->run.set_arg(index, value);
        return cxrt::ok();
    } catch (...) {
        return cxrt::fail_current_exception("xrt::run::set_arg(" + std::to_string(index) + ", " +
                                            std::to_string(value) + ") of '" + run->kernel_name + "'");
    }
}

cxrt_status cxrt_run_start(cxrt_run* run) {
    if (!run) return null_argument("xrt::run::start", "run");
    try {
        run->run.start();
        return cxrt::ok();
    } catch (...) {
        return cxrt::fail_current_exception("xrt::run::start of '" + run->kernel_name + "'");
    }
}

cxrt_status cxrt_run_wait(cxrt_run* run, unsigned int timeout_ms, int* state) {
    if (state) *state = 0;
    if (!run) return null_argument("xrt::run::wait", "run");
    try {
        int s = static_cast<int>(run->run.wait(std::chrono::milliseconds(timeout_ms)));
        if (state) *state = s;
        if (s == ERT_CMD_STATE_COMPLETED) return cxrt::ok();
        return cxrt::fail(cxrt::status_for_command_state(s),
                          command_failure("xrt::run::wait(" + std::to_string(timeout_ms) + " ms)",
                                          run->kernel_name, s),
                          0, s);
    } catch (const xrt::run::command_error& e) {
        int s = static_cast<int>(e.get_command_state());
        if (state) *state = s;
        return cxrt::fail(cxrt::status_for_command_state(s),
                          command_failure("xrt::run::wait", run->kernel_name, s) + ": " + e.what(), 0, s);
    } catch (...) {
        return cxrt::fail_current_exception("xrt::run::wait of '" + run->kernel_name + "'");
    }
}

cxrt_status cxrt_run_state(cxrt_run* run, int* state) {
    if (state) *state = 0;
    if (!run) return null_argument("xrt::run::state", "run");
    if (!state) return null_argument("xrt::run::state", "state");
    try {
        *state = static_cast<int>(run->run.state());
        return cxrt::ok();
    } catch (...) {
        return cxrt::fail_current_exception("xrt::run::state of '" + run->kernel_name + "'");
    }
}

cxrt_status cxrt_runlist_create(cxrt_context* context, cxrt_runlist** out) {
    if (!out) return null_argument("xrt::runlist", "out");
    *out = nullptr;
    if (!context) return null_argument("xrt::runlist", "context");
    try {
        *out = new cxrt_runlist(context->context);
        return cxrt::ok();
    } catch (...) {
        return cxrt::fail_current_exception("xrt::runlist(context of \"" + context->xclbin_path + "\")");
    }
}

void cxrt_runlist_free(cxrt_runlist* runlist) { delete runlist; }

cxrt_status cxrt_runlist_add(cxrt_runlist* runlist, cxrt_run* run) {
    if (!runlist) return null_argument("xrt::runlist::add", "runlist");
    if (!run) return null_argument("xrt::runlist::add", "run");
    try {
        runlist->runs.reserve(runlist->runs.size() + 1);
        runlist->kernel_names.reserve(runlist->kernel_names.size() + 1);
        runlist->list.add(run->run);
        runlist->runs.push_back(run->run);
        runlist->kernel_names.push_back(run->kernel_name);
        return cxrt::ok();
    } catch (...) {
        return cxrt::fail_current_exception("xrt::runlist::add(run of '" + run->kernel_name + "') at position " +
                                            std::to_string(runlist->runs.size()));
    }
}

cxrt_status cxrt_runlist_execute(cxrt_runlist* runlist) {
    if (!runlist) return null_argument("xrt::runlist::execute", "runlist");
    try {
        runlist->list.execute();
        return cxrt::ok();
    } catch (...) {
        return cxrt::fail_current_exception("xrt::runlist::execute of " + std::to_string(runlist->runs.size()) +
                                            " runs");
    }
}

cxrt_status cxrt_runlist_wait(cxrt_runlist* runlist, unsigned int timeout_ms, int* failed_index) {
    if (failed_index) *failed_index = -1;
    if (!runlist) return null_argument("xrt::runlist::wait", "runlist");
    std::string call = "xrt::runlist::wait(" + std::to_string(timeout_ms) + " ms)";
    try {
        if (runlist->list.wait(std::chrono::milliseconds(timeout_ms)) == std::cv_status::timeout)
            return cxrt::fail(CXRT_ERR_COMMAND_TIMEOUT,
                              call + ": " + std::to_string(runlist->runs.size()) +
                                  " runs not complete after the timeout (ERT_CMD_STATE_TIMEOUT)",
                              0, ERT_CMD_STATE_TIMEOUT);
        return cxrt::ok();
    } catch (const xrt::runlist::command_error& e) {
        int s = static_cast<int>(e.get_command_state());
        int index = -1;
        std::string kernel = "?";
        try {
            const xrt::run failed_run = e.get_run();
            const auto& failed = failed_run.get_handle();
            for (size_t i = 0; i < runlist->runs.size(); ++i)
                if (runlist->runs[i].get_handle() == failed) {
                    index = static_cast<int>(i);
                    kernel = runlist->kernel_names[i];
                    break;
                }
        } catch (...) {
        }
        if (failed_index) *failed_index = index;
        return cxrt::fail(cxrt::status_for_command_state(s),
                          command_failure(call, kernel, s) + " at position " + std::to_string(index) + " of " +
                              std::to_string(runlist->runs.size()) + ": " + e.what(),
                          0, s);
    } catch (...) {
        return cxrt::fail_current_exception(call);
    }
}

}  // extern "C"

#endif  // CXRT_HAVE_XRT
