// XRTRun and XRTRunlist: `xrt::run` with mlir-aie's arguments (0 = opcode 3, 1 = instruction bo,
// 2 = instruction word count, 3+i = data bos), started alone or batched in an `xrt::runlist`.
import CXRT

public final class XRTRun: NPURun {
    public var kernel: NPUKernel { xrtKernel }
    /// The caller's name for what this run computes ("layer 3 attention"); errors carry it.
    public var label: String?

    let handle: OpaquePointer
    let xrtKernel: XRTKernel
    private var boundBuffers: [Int: XRTBuffer] = [:]   // kept alive while the run may use them
    fileprivate(set) var inRunlist = false

    init(handle: OpaquePointer, kernel: XRTKernel) {
        self.handle = handle
        self.xrtKernel = kernel
    }

    deinit { cxrt_run_free(handle) }

    private func subject(_ operation: String) -> XRTFailureSubject {
        XRTFailureSubject(operation: operation, kernel: xrtKernel.name, label: label)
    }

    /// `run.set_arg(index, bo)`.
    public func setArgument(_ index: Int, buffer: NPUBuffer) throws {
        guard let buffer = buffer as? XRTBuffer, buffer.device === xrtKernel.context.device else {
            throw NPUDeviceError(subject("set_arg(\(index))").text, "the buffer is not a bo of this XRT device")
        }
        guard let i = Int32(exactly: index) else {
            throw NPUDeviceError(subject("set_arg").text, "argument index \(index) out of range")
        }
        try xrtCheck(cxrt_run_set_arg_bo(handle, i, buffer.handle), subject("set_arg(\(index), bo)"))
        boundBuffers[index] = buffer
    }

    /// `run.set_arg(index, value)` (XRT keeps as many low-order bytes as the argument holds).
    public func setArgument(_ index: Int, value: UInt64) throws {
        guard let i = Int32(exactly: index) else {
            throw NPUDeviceError(subject("set_arg").text, "argument index \(index) out of range")
        }
        try xrtCheck(cxrt_run_set_arg_u64(handle, i, value), subject("set_arg(\(index), \(value))"))
        boundBuffers[index] = nil
    }

    /// `run.start()`: one submission, one run, one driver command.
    public func start() throws {
        if inRunlist {
            throw NPUDeviceError(subject("start").text, "the run belongs to a runlist; execute the runlist instead")
        }
        try xrtCheck(cxrt_run_start(handle), subject("start"))
        xrtKernel.context.device.counterStore.update {
            $0.runs += 1
            $0.submissions += 1
            $0.driverCommands += 1
        }
    }

    /// `run.state()`.
    func state() throws -> CommandState {
        var state: Int32 = 0
        try xrtCheck(cxrt_run_state(handle, &state), subject("state"))
        guard let s = CommandState(rawValue: state) else {
            throw NPUDeviceError(subject("state").text, "XRT reported the unknown command state \(state)")
        }
        return s
    }

    /// `run.wait(timeout)` (0 = block): the command's state. States other than `.completed` are
    /// returned, not thrown; `NPUDeviceError.command(kernel:label:state:)` words them.
    public func wait(timeoutMilliseconds: Int) throws -> CommandState {
        if inRunlist {   // XRT: a runlist's runs cannot be waited on or polled one by one
            throw NPUDeviceError(subject("wait").text, "the run belongs to a runlist; wait on the runlist instead")
        }
        var state: Int32 = 0
        let status = cxrt_run_wait(handle, UInt32(clamping: max(0, timeoutMilliseconds)), &state)
        if status == CXRT_OK { return .completed }
        if let commandState = CommandState(rawValue: state), state != 0 { return commandState }
        throw xrtError(status, subject("wait"))
    }
}

public final class XRTRunlist: NPURunlist {
    /// The caller's name for the batch ("decode step, layers 0-15"); errors carry it.
    public var label: String?

    let handle: OpaquePointer
    let context: XRTHardwareContext
    /// The runs, in order. Released after the runlist (deinit frees the runlist first).
    private var runs: [XRTRun] = []
    /// Between execute() and the wait() that reports its outcome (XRT runlist_impl's running state).
    private var executing = false

    init(handle: OpaquePointer, context: XRTHardwareContext) {
        self.handle = handle
        self.context = context
    }

    deinit { cxrt_runlist_free(handle) }   // `runs` are released after this body: they outlive the list

    /// `runlist.add(run)`: the run must come from a kernel of this runlist's context and not be started;
    /// the list must be idle (XRT throws "runlist must be idle before adding run objects").
    public func add(_ run: NPURun) throws {
        if executing {
            throw NPUDeviceError("XRT runlist.add of kernel '\(run.kernel.name)'" + (label.map { " (\($0))" } ?? ""),
                                 "the runlist is executing; wait() first (XRT adds runs only to an idle runlist)")
        }
        guard let run = run as? XRTRun, run.xrtKernel.context === context else {
            throw NPUDeviceError("XRT runlist.add of kernel '\(run.kernel.name)'" + (label.map { " (\($0))" } ?? ""),
                                 "the run's kernel is not from this runlist's hardware context "
                                     + "(\(context.xclbinPath))")
        }
        try xrtCheck(cxrt_runlist_add(handle, run.handle),
                     XRTFailureSubject(operation: "runlist.add", kernel: run.xrtKernel.name, label: run.label ?? label))
        run.inRunlist = true
        runs.append(run)
    }

    /// `runlist.execute()`: one submission of all its runs, which XRT splits into chained commands of
    /// `runlist.runsPerChain` (counted as driver commands when the device has the target model). Returns
    /// at once; `wait()` reports the outcome. Refused while executing (XRT: "runlist must be idle before
    /// submitting for execution"). A failed submission still leaves the list executing: XRT requires wait().
    public func execute() throws {
        if executing {
            throw NPUDeviceError(XRTFailureSubject(operation: "runlist.execute (\(runs.count) runs)", label: label).text,
                                 "the runlist is already executing; wait() first (XRT executes only an idle runlist)")
        }
        guard !runs.isEmpty else { return }   // XRT: executing an empty runlist is a no-op
        let status = cxrt_runlist_execute(handle)
        executing = true
        try xrtCheck(status, XRTFailureSubject(operation: "runlist.execute (\(runs.count) runs)", label: label))
        let count = runs.count
        let perChain = context.device.target?.runsPerChain
        context.device.counterStore.update {
            $0.runs += count
            $0.submissions += 1
            $0.runlistExecutes += 1
            if let perChain { $0.driverCommands += (count + perChain - 1) / perChain }
        }
    }

    /// Every run's `state()`: after a failed wait, COMPLETED up to the failed run, its state, then ABORT.
    public func runStates() throws -> [CommandState] { try runs.map { try $0.state() } }

    /// `runlist.wait(timeout)` (0 = block). Throws when a run failed (naming its kernel, its label
    /// or its position, and its state) or the timeout elapsed.
    public func wait(timeoutMilliseconds: Int) throws {
        guard executing else { return }   // XRT: waiting on an idle runlist returns at once
        var failedIndex: Int32 = -1
        let status = cxrt_runlist_wait(handle, UInt32(clamping: max(0, timeoutMilliseconds)), &failedIndex)
        if status == CXRT_OK {
            executing = false
            return
        }
        let detail = String(cString: cxrt_last_error())
        if let state = CommandState(rawValue: Int32(cxrt_last_command_state())), state != .completed {
            if failedIndex >= 0, Int(failedIndex) < runs.count {
                executing = false   // XRT: a run failed; the list is idle again
                let run = runs[Int(failedIndex)]
                let where_ = [label, run.label, "run \(failedIndex + 1) of \(runs.count)"].compactMap { $0 }
                var e = NPUDeviceError.command(kernel: run.xrtKernel.name, label: where_.joined(separator: ", "),
                                               state: state, detail: detail)
                e.failedRun = Int(failedIndex)
                throw e
            }
            // the wait's own timeout (the list keeps executing), or a failure XRT did not attribute to a run
            throw NPUDeviceError(XRTFailureSubject(operation: "runlist.wait (\(runs.count) runs)", label: label).text,
                                 detail, hint: state.failureHint, state: state)
        }
        throw xrtError(status, XRTFailureSubject(operation: "runlist.wait (\(runs.count) runs)", label: label))
    }
}
