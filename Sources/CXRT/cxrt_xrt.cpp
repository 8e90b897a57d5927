// CXRT over XRT >= 2.18: the C interface implemented with XRT's C++ API (xrt_coreutil), as mlir-aie's
// test_lib drives it: device(0), register_xclbin + hw_context, kernel(ctx, name), bo(device, size,
// flags, group), run with set_arg/start/wait, and xrt::runlist for batches; plus xrt::xclbin's kernel
// metadata (argument count, names and host types) read without a device. Built with CXRT_HAVE_XRT.
#ifdef CXRT_HAVE_XRT

#include "cxrt.h"
#include "cxrt_error.hpp"

#include <xrt/xrt_bo.h>
#include <xrt/xrt_device.h>
#include <xrt/xrt_hw_context.h>
#include <xrt/xrt_kernel.h>
// xrt::runlist, xrt::xclbin and xrt::version live in the experimental headers, which moved from
// include/experimental/ (XRT 2.18 and older) to include/xrt/experimental/ (XRT 2.19 and later).
#if __has_include(<xrt/experimental/xrt_kernel.h>)
#include <xrt/experimental/xrt_kernel.h>
#include <xrt/experimental/xrt_version.h>
#include <xrt/experimental/xrt_xclbin.h>
#else
#include <experimental/xrt_kernel.h>
#include <experimental/xrt_version.h>
#include <experimental/xrt_xclbin.h>
#endif

#include <link.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

struct cxrt_device {
    xrt::device device;
};

struct cxrt_xclbin {
    xrt::xclbin xclbin;
    std::string path;
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
    xrt::runlist list;  // constructed from its hw_context (XRT 2.18's runlist has no default constructor)
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

void copy_truncated(const std::string& text, char* buffer, size_t capacity) {
    size_t n = std::min(text.size(), capacity - 1);
    std::memcpy(buffer, text.data(), n);
    buffer[n] = '\0';
}

// The xclbin's kernel `name`, or a CXRT_ERR_INVALID_ARGUMENT naming it (get_kernel returns an empty
// kernel for a name the xclbin does not have).
cxrt_status find_kernel(const cxrt_xclbin* x, const char* name, const char* call, xrt::xclbin::kernel& out) {
    out = x->xclbin.get_kernel(name);
    if (out) return cxrt::ok();
    std::string names;
    for (const auto& k : x->xclbin.get_kernels()) names += (names.empty() ? "" : ", ") + k.get_name();
    return cxrt::fail(CXRT_ERR_INVALID_ARGUMENT, std::string(call) + ": \"" + x->path + "\" has no kernel '" + name +
                                                     "' (its kernels: " + (names.empty() ? "none" : names) + ")");
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

cxrt_status cxrt_xrt_library_path(char* buffer, size_t capacity) {
    if (!buffer || capacity == 0) return null_argument("cxrt_xrt_library_path", "buffer");
    buffer[0] = '\0';
    // the loaded objects' file names; XRT's own loader finds the plugin directory from this library
    // (core/common/detail/linux/xilinx_xrt.h, dladdr on libxrt_coreutil)
    std::string found;
    dl_iterate_phdr(
        [](dl_phdr_info* info, size_t, void* data) -> int {
            std::string name = info->dlpi_name ? info->dlpi_name : "";
            if (name.find("/libxrt_coreutil.so") == std::string::npos) return 0;
            *static_cast<std::string*>(data) = name;
            return 1;
        },
        &found);
    copy_truncated(found, buffer, capacity);
    return cxrt::ok();
}

cxrt_status cxrt_xclbin_open(const char* path, cxrt_xclbin** out) {
    if (!out) return null_argument("xrt::xclbin", "out");
    *out = nullptr;
    if (!path) return null_argument("xrt::xclbin", "path");
    try {
        *out = new cxrt_xclbin{xrt::xclbin{std::string(path)}, path};
        return cxrt::ok();
    } catch (...) {
        return cxrt::fail_current_exception(std::string("xrt::xclbin(\"") + path + "\")");
    }
}

void cxrt_xclbin_close(cxrt_xclbin* xclbin) { delete xclbin; }

cxrt_status cxrt_xclbin_kernel_arg_count(cxrt_xclbin* xclbin, const char* kernel, size_t* count) {
    const char* call = "xrt::xclbin::kernel::get_num_args";
    if (!count) return null_argument(call, "count");
    *count = 0;
    if (!xclbin) return null_argument(call, "xclbin");
    if (!kernel) return null_argument(call, "kernel name");
    try {
        xrt::xclbin::kernel k;
        if (cxrt_status s = find_kernel(xclbin, kernel, call, k); s != CXRT_OK) return s;
        *count = k.get_num_args();
        return cxrt::ok();
    } catch (...) {
        return cxrt::fail_current_exception(std::string(call) + " of '" + kernel + "' in \"" + xclbin->path + "\"");
    }
}

cxrt_status cxrt_xclbin_kernel_arg(cxrt_xclbin* xclbin, const char* kernel, size_t position, cxrt_xclbin_arg* out) {
    const char* call = "xrt::xclbin::kernel::get_args";
    if (!out) return null_argument(call, "out");
    *out = cxrt_xclbin_arg{};
    if (!xclbin) return null_argument(call, "xclbin");
    if (!kernel) return null_argument(call, "kernel name");
    try {
        xrt::xclbin::kernel k;
        if (cxrt_status s = find_kernel(xclbin, kernel, call, k); s != CXRT_OK) return s;
        const auto args = k.get_args();
        if (position >= args.size())
            return cxrt::fail(CXRT_ERR_INVALID_ARGUMENT, std::string(call) + ": kernel '" + kernel + "' has " +
                                                             std::to_string(args.size()) + " arguments, not " +
                                                             std::to_string(position + 1));
        const auto& a = args[position];
        copy_truncated(a.get_name(), out->name, sizeof(out->name));
        copy_truncated(a.get_host_type(), out->host_type, sizeof(out->host_type));
        out->index = a.get_index();
        out->offset = a.get_offset();
        out->size = a.get_size();
        return cxrt::ok();
    } catch (...) {
        return cxrt::fail_current_exception(std::string(call) + " of '" + kernel + "' in \"" + xclbin->path + "\"");
    }
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
        copy_truncated(device->device.get_info<xrt::info::device::name>(), buffer, capacity);
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
