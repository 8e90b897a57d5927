// What the NPU backend cost the device: at load, per token (the last one) and in total, for tests and the benchmark.

/// Device counters of an NPUBackend session. A "token" is one row through the model: one decode
/// runlist (prompt rows included, since prefill runs as decode steps).
public struct BackendCounters: Sendable, Equatable {
    /// Everything up to the end of load (allocations, weight uploads).
    public var load = DeviceCounters()
    /// The last token's counts, and their sum over every token so far.
    public var lastToken = DeviceCounters()
    public var tokens = DeviceCounters()
    public var tokenCount = 0
    /// Bytes the last token's runs moved (emulated device only: counted from their bound arguments).
    public var lastTokenTraffic: DeviceTraffic?
    public var tokensTraffic = DeviceTraffic()

    public init() {}

    mutating func recordToken(_ counters: DeviceCounters, traffic: DeviceTraffic?) {
        lastToken = counters
        tokenCount += 1
        tokens.runs += counters.runs
        tokens.submissions += counters.submissions
        tokens.syncsToDevice += counters.syncsToDevice
        tokens.syncsFromDevice += counters.syncsFromDevice
        tokens.bytesToDevice += counters.bytesToDevice
        tokens.bytesFromDevice += counters.bytesFromDevice
        tokens.buffersAllocated += counters.buffersAllocated
        tokens.bytesAllocated += counters.bytesAllocated
        lastTokenTraffic = traffic
        if let t = traffic {
            tokensTraffic.weightBytes += t.weightBytes
            tokensTraffic.kvReadBytes += t.kvReadBytes
            tokensTraffic.kvWriteBytes += t.kvWriteBytes
            tokensTraffic.activationReadBytes += t.activationReadBytes
            tokensTraffic.outputBytes += t.outputBytes
        }
    }
}
