// EmulatedRunlist: xrt::runlist as XRT and amdxdna run it — asynchronous, split into chained commands of 24 runs that must fit the 4 KiB firmware buffer, each under the TDR watchdog.
import Foundation

/// One driver command of a runlist execution: a chain (ERT_CMD_CHAIN) of up to `runlist.runsPerChain` runs.
public struct RunlistChain: Sendable, Equatable {
    /// Position of its first run in the runlist, and its number of runs.
    public var firstRun: Int
    public var runs: Int
    /// Bytes of its slots in the firmware command buffer: per run `runlist.chainSlotBytes` +
    /// `aiecc.regmapFixedBytes` + `aiecc.bufferArgumentBytes` × the kernel's declared buffer arguments.
    public var payloadBytes: Int
    /// Modelled time of the runs it executed (EmulatedDevice.cost), what the TDR watchdog is held to.
    public var modelledSeconds: Double
    /// COMPLETED, ERROR (a run failed, or the payload did not fit), TIMEOUT (TDR), or ABORT (after a failure).
    public var state: CommandState
}

/// The runlist of the emulated device, following Xilinx/XRT src/runtime_src/core/common/api/xrt_kernel.cpp
/// runlist_impl: `add` and `execute` only when idle; `execute` submits every chain and returns; `wait`
/// reports the first failed run (its state: ERROR, TIMEOUT) and marks the later runs ABORT, after which the
/// list is idle and may be executed again. The emulator executes the runs inside `execute` (in order,
/// stopping at the first failure) but reveals nothing before `wait`: errors are held, and syncing any buffer
/// the list binds is refused while it executes (EmulatedBuffer.sync).
final class EmulatedRunlist: NPURunlist {
    let context: EmulatedContext
    var runs: [EmulatedRun] = []
    private var executing = false
    private var failure: (index: Int, state: CommandState, detail: String)?
    private var modelledSeconds = 0.0
    private var held: [ObjectIdentifier] = []

    init(context: EmulatedContext) { self.context = context }

    private static let xrtSource = "Xilinx/XRT src/runtime_src/core/common/api/xrt_kernel.cpp"

    func add(_ run: NPURun) throws {
        guard let r = run as? EmulatedRun, r.ekernel.context === context else {
            throw NPUDeviceError("runlist", "run of \(run.kernel.name) is not from the runlist's hardware context")
        }
        guard !executing else {
            throw NPUDeviceError("runlist.add(run of \(r.spec.name))",
                                 "the runlist is executing; XRT adds runs only to an idle runlist (\(Self.xrtSource) runlist_impl::add: "
                                     + "\"runlist must be idle before adding run objects\"): wait() first")
        }
        guard !runs.contains(where: { $0 === r }) else {
            throw NPUDeviceError("runlist", "run of \(r.spec.name) is already in this runlist (its one command cannot be chained twice)")
        }
        r.runlists += 1
        runs.append(r)
    }

    /// The TDR failure in words, with its source.
    static func tdrText(seconds: Double, what: String, device: EmulatedDevice) -> String {
        let t = device.target
        return String(format: "%@ is modelled to run %.3f s without completing (%@); amdxdna's watchdog stops a command that makes "
                          + "no progress for %d s (%@): ERT_CMD_STATE_TIMEOUT, and the driver restarts the hardware context",
                      what, seconds, device.cost.description, t.tdrSeconds, t.source("tdr.seconds"))
    }

    /// Submits the runs as XRT does: chains of `runlist.runsPerChain` runs, one driver command each. A chain
    /// whose slots exceed `runlist.chainPayloadBytes` never runs (the driver fails it: ERROR at its first run);
    /// a chain modelled longer than `tdr.seconds` ends in TIMEOUT at the run that crossed it and leaves the
    /// context unusable. Chains after a failure do not run (XRT reports their runs ABORT).
    func execute() throws {
        let device = context.device, target = device.target
        guard !executing else {
            throw NPUDeviceError("runlist.execute (\(runs.count) runs)",
                                 "the runlist is already executing; XRT executes only an idle runlist (\(Self.xrtSource) runlist_impl::execute: "
                                     + "\"runlist must be idle before submitting for execution\"): wait() first")
        }
        try context.checkUsable()
        guard !runs.isEmpty else { return }   // XRT: executing an empty runlist is a no-op
        if let shared = runs.first(where: { $0.executing > 0 }) {
            throw NPUDeviceError("runlist.execute (\(runs.count) runs)",
                                 "run of \(shared.spec.name) is also in a runlist that is executing; XRT leaves executing two runlists "
                                     + "that share a run without wait() in between undefined (\(Self.xrtSource) runlist_impl::add)")
        }
        device.countRunlistExecute()
        failure = nil
        modelledSeconds = 0
        for r in runs { r.state = .new }
        let perChain = target.runsPerChain
        let chainCount = (runs.count + perChain - 1) / perChain
        for (c, first) in stride(from: 0, to: runs.count, by: perChain).enumerated() {
            let members = runs[first..<min(first + perChain, runs.count)]
            let payload = members.reduce(0) { $0 + target.chainSlotBytes(bufferArguments: $1.ekernel.declaredBufferArguments) }
            var chain = RunlistChain(firstRun: first, runs: members.count, payloadBytes: payload, modelledSeconds: 0, state: .completed)
            defer { device.record(chain) }
            guard failure == nil else { chain.state = .abort; continue }
            let name = "chain \(c + 1) of \(chainCount) (runs \(first)–\(first + members.count - 1))"
            if payload > target.chainPayloadBytes {
                chain.state = .error
                failure = (first, .error, "\(name) needs \(payload) bytes of run slots (\(target.chainSlotBytes) + \(target.aieccRegmapFixedBytes) + "
                           + "\(target.aieccBufferArgumentBytes) per declared buffer argument, each run), more than the "
                           + "\(target.chainPayloadBytes)-byte firmware command buffer amdxdna copies a chain into "
                           + "(\(target.source("runlist.chainPayloadBytes")); \(target.source("runlist.chainSlotBytes"))): "
                           + "the driver fails the chain and none of its runs execute")
                continue
            }
            for (offset, run) in members.enumerated() {
                do {
                    chain.modelledSeconds += try device.execute(run)
                } catch let e as NPUDeviceError {
                    chain.state = .error
                    failure = (first + offset, .error, e.detail)
                    break
                }
                if chain.modelledSeconds > Double(target.tdrSeconds) {
                    chain.state = .timeout
                    let why = Self.tdrText(seconds: chain.modelledSeconds, what: name + " up to run \(first + offset)", device: device)
                    failure = (first + offset, .timeout, why)
                    context.stopped = why
                    break
                }
                run.state = .completed
            }
            // the watchdog ends a chain at the TDR: the list's wait sees at most that much of it
            modelledSeconds += chain.state == .timeout ? Double(target.tdrSeconds) : chain.modelledSeconds
        }
        executing = true
        for r in runs { r.executing += 1 }
        held = device.hold(runs)
    }

    /// Reports the execution: nothing when every run completed; else throws naming the first failed run
    /// and its state, the later runs ABORT (runlist_impl::wait). A timeout shorter than the runs' modelled
    /// time returns TIMEOUT with the list still executing, as XRT's wait returns cv_status::timeout.
    func wait(timeoutMilliseconds: Int) throws {
        guard executing else { return }   // XRT: waiting on an idle runlist returns at once
        if timeoutMilliseconds > 0, modelledSeconds * 1000 > Double(timeoutMilliseconds) {
            throw NPUDeviceError("runlist.wait(\(timeoutMilliseconds) ms)",
                                 String(format: "the %d runs are modelled to take %.1f ms: the wait times out and the runlist is still executing", runs.count, modelledSeconds * 1000),
                                 state: .timeout)
        }
        executing = false
        for r in runs { r.executing -= 1 }
        context.device.release(held)
        held = []
        guard let f = failure else { return }
        runs[f.index].state = f.state
        for r in runs[(f.index + 1)...] { r.state = .abort }
        throw NPUDeviceError("runlist run \(f.index) of \(runs.count) (\(runs[f.index].spec.name))",
                             "\(f.state.ertName): \(f.detail); the \(runs.count - f.index - 1) runs after it ABORT (\(Self.xrtSource) runlist_impl::wait)",
                             hint: f.state.failureHint, state: f.state, failedRun: f.index)
    }

    func runStates() throws -> [CommandState] { runs.map(\.state) }
}
