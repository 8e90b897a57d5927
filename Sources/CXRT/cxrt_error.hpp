// CXRT internal: the per-thread last error, and the one place where C++ exceptions become statuses.
#ifndef CXRT_ERROR_HPP
#define CXRT_ERROR_HPP

#include "cxrt.h"

#include <string>

namespace cxrt {

/// Records a failure for cxrt_last_error()/cxrt_last_errno()/cxrt_last_command_state() and returns it.
cxrt_status fail(cxrt_status status, const std::string& message, int error_number = 0,
                 int command_state = 0);

/// Clears the calling thread's last error; returns CXRT_OK.
cxrt_status ok();

/// The CXRT_ERR_COMMAND_* code for a final ert_cmd_state other than COMPLETED (4).
cxrt_status status_for_command_state(int state);

/// The name XRT's ert.h gives a command state ("ERT_CMD_STATE_TIMEOUT" ...).
const char* command_state_name(int state);

/// Maps the exception being handled (call only inside a catch block) to a status.
/// `doing` names the XRT call ("xrt::kernel(ctx, \"MLIR_AIE\")") and prefixes the message.
cxrt_status fail_current_exception(const std::string& doing);

}  // namespace cxrt

#endif  // CXRT_ERROR_HPP
