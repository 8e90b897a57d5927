// How CXRT statuses become NPUDeviceError: naming the kernel (and layer, when the caller labelled
// the run), the command state in XRT's words, XRT's own message, and a hint for what to do.
import CXRT

/// What was being done when a CXRT call failed: the subject of the error message.
struct XRTFailureSubject {
    var operation: String          // "run.wait", "openContext", "allocate"
    var kernel: String? = nil
    var label: String? = nil       // the caller's label for the run: "layer 3 attention"

    var text: String {
        var s = "XRT \(operation)"
        if let kernel { s += " of kernel '\(kernel)'" }
        if let label { s += " (\(label))" }
        return s
    }
}

extension CommandState {
    /// XRT's name for the state, as ert.h spells it.
    public var ertName: String {
        switch self {
        case .new: "ERT_CMD_STATE_NEW"
        case .queued: "ERT_CMD_STATE_QUEUED"
        case .running: "ERT_CMD_STATE_RUNNING"
        case .completed: "ERT_CMD_STATE_COMPLETED"
        case .error: "ERT_CMD_STATE_ERROR"
        case .abort: "ERT_CMD_STATE_ABORT"
        case .submitted: "ERT_CMD_STATE_SUBMITTED"
        case .timeout: "ERT_CMD_STATE_TIMEOUT"
        case .noResponse: "ERT_CMD_STATE_NORESPONSE"
        }
    }

    /// What to do about a command that ended in this state (nil for states that are not failures).
    var failureHint: String? {
        switch self {
        case .timeout:
            "the wait's timeout elapsed, or amdxdna's watchdog stopped a command that made no progress for 2 s "
                + "(amd/xdna-driver aie2_tdr.c timeout_in_sec; a runlist's chain of 24 runs is one command): "
                + "split long work into shorter runs"
        case .error:
            "the NPU reported an error: check `dmesg` for amdxdna messages; the instruction stream or "
                + "buffer sizes may not match the xclbin"
        case .abort:
            "the command was aborted (by the driver or a context reset): check `dmesg` for amdxdna messages"
        case .noResponse:
            "the NPU stopped responding: check `dmesg`; reloading amdxdna or rebooting may be needed"
        default:
            nil
        }
    }
}

extension NPUDeviceError {
    /// A kernel command that ended in a state other than `.completed`.
    public static func command(kernel: String, label: String?, state: CommandState,
                               detail: String? = nil) -> NPUDeviceError {
        let subject = XRTFailureSubject(operation: "command", kernel: kernel, label: label)
        let stateText = "\(state.ertName) (\(state.rawValue))"
        return NPUDeviceError(subject.text, detail.map { "ended in \(stateText): \($0)" } ?? "ended in \(stateText)",
                              hint: state.failureHint, state: state)
    }
}

/// The error for a failed CXRT call, from the calling thread's last-error record. Call right after
/// the failing call, on the same thread.
func xrtError(_ status: cxrt_status, _ subject: XRTFailureSubject) -> NPUDeviceError {
    let message = String(cString: cxrt_last_error())
    let detail = message.isEmpty ? "CXRT status \(status.rawValue)" : message
    if let state = CommandState(rawValue: Int32(cxrt_last_command_state())), state != .completed {
        return NPUDeviceError(subject.text, detail, hint: state.failureHint)
    }
    return NPUDeviceError(subject.text, detail, hint: xrtHint(status, errno: cxrt_last_errno(), subject: subject))
}

/// Throws the error for `status` unless it is CXRT_OK.
func xrtCheck(_ status: cxrt_status, _ subject: @autoclosure () -> XRTFailureSubject) throws {
    if status != CXRT_OK { throw xrtError(status, subject()) }
}

private func xrtHint(_ status: cxrt_status, errno: Int32, subject: XRTFailureSubject) -> String? {
    switch status {
    case CXRT_ERR_NO_XRT:
        return "this build has no XRT: install XRT >= \(XDNALimits.standard.minimumXRTVersion) (or set XRT_ROOT) and "
            + "rebuild from clean (rm -rf .build)"
    case CXRT_ERR_NO_MEMORY:
        return "out of host memory"
    case CXRT_ERR_SYSTEM where subject.operation == "allocate":
        return "the XDNA plugin maps every buffer object MAP_LOCKED: check `ulimit -l` (memlock) against what "
            + "`npu-llama doctor` says the model maps"
    case CXRT_ERR_SYSTEM, CXRT_ERR_XRT:
        if subject.operation == "openContext" {
            // (no environment variable is involved: XRT_HACK_UNSECURE_LOADING_XCLBIN was last read by the xdna
            // shim before amd/xdna-driver c27f42f5, "Support unprivileged loading of xclbin", 2024-04-01)
            return "check `xrt-smi examine` (is the NPU listed with its firmware?) and `dmesg` for amdxdna messages; "
                + "an xclbin with more than 32 kernels does not fit one hardware context (amdxdna MAX_NUM_CUS)"
        }
        return errno != 0 ? "errno \(errno); see `dmesg` for amdxdna messages" : nil
    default:
        return nil
    }
}
