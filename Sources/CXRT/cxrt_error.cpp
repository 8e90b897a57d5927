// CXRT: the per-thread last error and the mapping from C++ exceptions and command states to statuses.
// Shared by the XRT implementation and the stubs; knows nothing of XRT's types (those exceptions
// are caught in cxrt_xrt.cpp and handed here as states and messages).
#include "cxrt_error.hpp"

#include <exception>
#include <new>
#include <stdexcept>
#include <system_error>

namespace {
thread_local std::string last_message;
thread_local int last_errno = 0;
thread_local int last_state = 0;
}  // namespace

namespace cxrt {

cxrt_status fail(cxrt_status status, const std::string& message, int error_number, int command_state) {
    try {
        last_message = message;
    } catch (...) {
        last_message.clear();
    }
    last_errno = error_number;
    last_state = command_state;
    return status;
}

cxrt_status ok() {
    last_message.clear();
    last_errno = 0;
    last_state = 0;
    return CXRT_OK;
}

cxrt_status status_for_command_state(int state) {
    switch (state) {
    case 5: return CXRT_ERR_COMMAND_ERROR;
    case 6: return CXRT_ERR_COMMAND_ABORT;
    case 8: return CXRT_ERR_COMMAND_TIMEOUT;
    case 9: return CXRT_ERR_COMMAND_NORESPONSE;
    default: return CXRT_ERR_COMMAND_OTHER;
    }
}

const char* command_state_name(int state) {
    switch (state) {
    case 1: return "ERT_CMD_STATE_NEW";
    case 2: return "ERT_CMD_STATE_QUEUED";
    case 3: return "ERT_CMD_STATE_RUNNING";
    case 4: return "ERT_CMD_STATE_COMPLETED";
    case 5: return "ERT_CMD_STATE_ERROR";
    case 6: return "ERT_CMD_STATE_ABORT";
    case 7: return "ERT_CMD_STATE_SUBMITTED";
    case 8: return "ERT_CMD_STATE_TIMEOUT";
    case 9: return "ERT_CMD_STATE_NORESPONSE";
    case 10: return "ERT_CMD_STATE_SKERROR";
    case 11: return "ERT_CMD_STATE_SKCRASHED";
    default: return "unknown command state";
    }
}

cxrt_status fail_current_exception(const std::string& doing) {
    try {
        throw;
    } catch (const std::bad_alloc& e) {
        return fail(CXRT_ERR_NO_MEMORY, doing + ": out of memory (" + e.what() + ")");
    } catch (const std::system_error& e) {
        return fail(CXRT_ERR_SYSTEM, doing + ": " + e.what(), e.code().value());
    } catch (const std::invalid_argument& e) {
        return fail(CXRT_ERR_INVALID_ARGUMENT, doing + ": " + e.what());
    } catch (const std::out_of_range& e) {
        return fail(CXRT_ERR_INVALID_ARGUMENT, doing + ": " + e.what());
    } catch (const std::exception& e) {
        return fail(CXRT_ERR_XRT, doing + ": " + e.what());
    } catch (...) {
        return fail(CXRT_ERR_XRT, doing + ": an exception that is not a std::exception");
    }
}

}  // namespace cxrt

extern "C" const char* cxrt_last_error(void) { return last_message.c_str(); }
extern "C" int cxrt_last_errno(void) { return last_errno; }
extern "C" int cxrt_last_command_state(void) { return last_state; }
