// CXRT: a small C interface over XRT's C++ API (device, xclbin metadata, hw_context, kernel, bo, run, runlist) for Swift.
// Every call returns a cxrt_status; on failure the calling thread's last-error message holds the
// XRT exception's what(). Built without XRT's headers, every call fails with CXRT_ERR_NO_XRT.
#ifndef CXRT_H
#define CXRT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Outcome of a call. The command codes carry XRT's ert_cmd_state (ERROR 5, ABORT 6, TIMEOUT 8,
/// NORESPONSE 9) so that a failed command reads the same on both sides.
typedef enum cxrt_status {
    CXRT_OK = 0,
    CXRT_ERR_NO_XRT = 1,            // this build of the shim has no XRT (stubs)
    CXRT_ERR_INVALID_ARGUMENT = 2,  // a null handle, a bad index, an out-of-range sync
    CXRT_ERR_SYSTEM = 3,            // std::system_error from XRT or the driver; see cxrt_last_errno()
    CXRT_ERR_XRT = 4,               // any other exception XRT threw
    CXRT_ERR_NO_MEMORY = 7,         // std::bad_alloc
    CXRT_ERR_COMMAND_ERROR = 105,   // ERT_CMD_STATE_ERROR (5)
    CXRT_ERR_COMMAND_ABORT = 106,   // ERT_CMD_STATE_ABORT (6)
    CXRT_ERR_COMMAND_TIMEOUT = 108, // ERT_CMD_STATE_TIMEOUT (8), or a wait that timed out
    CXRT_ERR_COMMAND_NORESPONSE = 109, // ERT_CMD_STATE_NORESPONSE (9)
    CXRT_ERR_COMMAND_OTHER = 110,   // a command ended in any other non-completed state
} cxrt_status;

/// xrt::bo::flags, the three the NPU uses.
typedef enum cxrt_bo_flags {
    CXRT_BO_NORMAL = 0,
    CXRT_BO_CACHEABLE = 1,
    CXRT_BO_HOST_ONLY = 2,
} cxrt_bo_flags;

/// xclBOSyncDirection.
typedef enum cxrt_sync_direction {
    CXRT_SYNC_TO_DEVICE = 0,
    CXRT_SYNC_FROM_DEVICE = 1,
} cxrt_sync_direction;

typedef struct cxrt_device cxrt_device;
typedef struct cxrt_context cxrt_context;
typedef struct cxrt_kernel cxrt_kernel;
typedef struct cxrt_bo cxrt_bo;
typedef struct cxrt_run cxrt_run;
typedef struct cxrt_runlist cxrt_runlist;

/// 1 when the shim was compiled against XRT's headers (CXRT_HAVE_XRT), 0 for the stubs.
int cxrt_built_with_xrt(void);
/// The linked XRT library's version, "major.minor.patch"; "" when built without XRT.
const char *cxrt_version(void);
/// The calling thread's message for its last failed call ("" if none).
const char *cxrt_last_error(void);
/// The errno-style code of the last CXRT_ERR_SYSTEM on this thread (0 otherwise).
int cxrt_last_errno(void);
/// The ert_cmd_state (1...9) of the last CXRT_ERR_COMMAND_* on this thread (0 otherwise).
int cxrt_last_command_state(void);

/// The file of the libxrt_coreutil this process loaded ("" when none is loaded or built without XRT).
/// XRT finds its driver plugins (libxrt_driver_*.so.<major>) in that file's directory.
cxrt_status cxrt_xrt_library_path(char *buffer, size_t capacity);

/// xrt::device(index). Close with cxrt_device_close.
cxrt_status cxrt_device_open(unsigned int index, cxrt_device **out);
void cxrt_device_close(cxrt_device *device);
/// xrt::info::device::name, truncated to fit `capacity` bytes (NUL-terminated).
cxrt_status cxrt_device_name(cxrt_device *device, char *buffer, size_t capacity);

/// xrt::xclbin(path); device.register_xclbin(xclbin); xrt::hw_context(device, uuid).
cxrt_status cxrt_context_open(cxrt_device *device, const char *xclbin_path, cxrt_context **out);
void cxrt_context_close(cxrt_context *context);

/// An argument of a kernel in an xclbin's metadata, as xrt::xclbin::arg describes it.
typedef struct cxrt_xclbin_arg {
    char name[64];       // get_name(), truncated: "opcode", "instr", "ninstr", "bo0"...
    char host_type[64];  // get_host_type(), truncated: "uint64_t", "char *", "uint32_t", "void*"
    uint64_t index;      // get_index()
    uint64_t offset;     // get_offset(): byte offset in the command's register map
    uint64_t size;       // get_size(): bytes
} cxrt_xclbin_arg;

typedef struct cxrt_xclbin cxrt_xclbin;

/// xrt::xclbin(path): the file's metadata, read without a device. Close with cxrt_xclbin_close.
cxrt_status cxrt_xclbin_open(const char *path, cxrt_xclbin **out);
void cxrt_xclbin_close(cxrt_xclbin *xclbin);
/// xclbin.get_kernel(name).get_num_args(); CXRT_ERR_INVALID_ARGUMENT naming the kernel when the
/// xclbin has no kernel of that name.
cxrt_status cxrt_xclbin_kernel_arg_count(cxrt_xclbin *xclbin, const char *kernel, size_t *count);
/// xclbin.get_kernel(name).get_args()[position] (the arguments sorted by index).
cxrt_status cxrt_xclbin_kernel_arg(cxrt_xclbin *xclbin, const char *kernel, size_t position, cxrt_xclbin_arg *out);

/// xrt::kernel(context, name).
cxrt_status cxrt_kernel_open(cxrt_context *context, const char *name, cxrt_kernel **out);
void cxrt_kernel_close(cxrt_kernel *kernel);
/// kernel.group_id(argument).
cxrt_status cxrt_kernel_group_id(cxrt_kernel *kernel, int argument, int *out);

/// xrt::bo(device, size, flags, group).
cxrt_status cxrt_bo_alloc(cxrt_device *device, size_t size, cxrt_bo_flags flags, int group,
                          cxrt_bo **out);
void cxrt_bo_free(cxrt_bo *bo);
/* xrt::bo(parent, size, offset): a view of bytes [offset, offset+size) of parent, sharing its memory. */
cxrt_status cxrt_bo_sub(cxrt_bo *parent, size_t size, size_t offset, cxrt_bo **out);
/// bo.map(): valid while the bo lives.
cxrt_status cxrt_bo_map(cxrt_bo *bo, void **out);
/// bo.sync(direction, size, offset).
cxrt_status cxrt_bo_sync(cxrt_bo *bo, cxrt_sync_direction direction, size_t size, size_t offset);

/// xrt::run(kernel).
cxrt_status cxrt_run_create(cxrt_kernel *kernel, cxrt_run **out);
void cxrt_run_free(cxrt_run *run);
/// run.set_arg(index, bo).
cxrt_status cxrt_run_set_arg_bo(cxrt_run *run, int index, cxrt_bo *bo);
/// run.set_arg(index, value): XRT copies as many low-order bytes as the argument holds.
cxrt_status cxrt_run_set_arg_u64(cxrt_run *run, int index, uint64_t value);
/// run.start().
cxrt_status cxrt_run_start(cxrt_run *run);
/// run.wait(timeout) (0 = block). Writes the ert_cmd_state and returns CXRT_OK only for
/// COMPLETED (4); any other final state returns its CXRT_ERR_COMMAND_* code.
cxrt_status cxrt_run_wait(cxrt_run *run, unsigned int timeout_ms, int *state);
/// run.state(): the run's ert_cmd_state now (NEW 1 ... NORESPONSE 9). After a runlist's wait reported a
/// failed run, XRT leaves the runs before it COMPLETED, the failed one in its state, the later ones ABORT.
cxrt_status cxrt_run_state(cxrt_run *run, int *state);

/// xrt::runlist(context). The runlist keeps its runs alive and is destroyed before them.
cxrt_status cxrt_runlist_create(cxrt_context *context, cxrt_runlist **out);
void cxrt_runlist_free(cxrt_runlist *runlist);
/// runlist.add(run) (the run must not be started).
cxrt_status cxrt_runlist_add(cxrt_runlist *runlist, cxrt_run *run);
/// runlist.execute().
cxrt_status cxrt_runlist_execute(cxrt_runlist *runlist);
/// runlist.wait(timeout) (0 = block). On a failed run writes its position in the list to
/// `failed_index` (-1 if unknown) and returns the CXRT_ERR_COMMAND_* code of its state.
cxrt_status cxrt_runlist_wait(cxrt_runlist *runlist, unsigned int timeout_ms, int *failed_index);

#ifdef __cplusplus
}
#endif

#endif  // CXRT_H
