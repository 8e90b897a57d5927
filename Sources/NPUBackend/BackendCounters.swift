// What the NPU backend cost the device: at load, per token (the last one) and in total, for tests and the benchmark.

/// Device counters of an NPUBackend session. A "token" is one row through the decode designs: one runlist execute
/// (one driver command) of the decode token run and the LM head run, or of the decode token run alone for a prompt row
/// whose logits nobody reads; prompt rows run as decode steps are included, prompt chunks through the prefill runs
/// are counted apart (`chunks`).
public struct BackendCounters: Sendable, Equatable {
    /// Everything up to the end of load (allocations, weight uploads).
    public var load = DeviceCounters()
    /// The last token's counts, and their sum over every token so far.
    public var lastToken = DeviceCounters()
    public var tokens = DeviceCounters()
    public var tokenCount = 0
    /// Bytes the last token's runs moved (emulated device only: as the drivers counted them).
    public var lastTokenTraffic: DeviceTraffic?
    public var tokensTraffic = DeviceTraffic()
    /// The chained commands of the last token's runlist (emulated device only): runs, payload bytes of the
    /// firmware command buffer, modelled time against the TDR.
    public var lastTokenChains: [RunlistChain]?
    /// Run arguments re-bound by the host (set_arg on the run of a cached runlist): kv_row before each token; in
    /// total and for the last token.
    public var argumentRebinds = 0
    public var lastTokenArgumentRebinds = 0
    /// Prompt chunks through the prefill runs (issue 13): the last one's counts, their sum, their number, traffic
    /// and chained commands (kv_blk re-binds are in `argumentRebinds`).
    public var lastChunk = DeviceCounters()
    public var chunks = DeviceCounters()
    public var chunkCount = 0
    public var lastChunkTraffic: DeviceTraffic?
    public var chunksTraffic = DeviceTraffic()
    public var lastChunkChains: [RunlistChain]?

    public init() {}

    static func sum(_ a: DeviceCounters, _ b: DeviceCounters) -> DeviceCounters {
        var s = a
        s.runs += b.runs
        s.submissions += b.submissions
        s.runlistExecutes += b.runlistExecutes
        s.driverCommands += b.driverCommands
        s.chainPayloadBytes += b.chainPayloadBytes
        s.knownViolationRuns += b.knownViolationRuns
        s.syncsToDevice += b.syncsToDevice
        s.syncsFromDevice += b.syncsFromDevice
        s.bytesToDevice += b.bytesToDevice
        s.bytesFromDevice += b.bytesFromDevice
        s.buffersAllocated += b.buffersAllocated
        s.bytesAllocated += b.bytesAllocated
        return s
    }

    mutating func recordChunk(_ counters: DeviceCounters, traffic: DeviceTraffic?, chains: [RunlistChain]?) {
        lastChunk = counters
        chunks = Self.sum(chunks, counters)
        chunkCount += 1
        lastChunkTraffic = traffic
        lastChunkChains = chains
        if let t = traffic { chunksTraffic = chunksTraffic + t }
    }

    mutating func recordToken(_ counters: DeviceCounters, traffic: DeviceTraffic?, chains: [RunlistChain]? = nil, rebinds: Int = 0) {
        lastToken = counters
        lastTokenChains = chains
        lastTokenArgumentRebinds = rebinds
        tokenCount += 1
        tokens = Self.sum(tokens, counters)
        lastTokenTraffic = traffic
        if let t = traffic { tokensTraffic = tokensTraffic + t }
    }
}
