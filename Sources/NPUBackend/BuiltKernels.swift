// The real-NPU path's kernels: which build directory serves a model, the command that builds it, the checks
// --device npu makes before allocating (memlock, xclbin signatures), and the backend over it.
import Foundation
import LlamaCore

/// The built kernels a model needs on the NPU, found by shape (`KernelBuildKey`), or why they are not there.
public struct BuiltKernels: Sendable {
    /// The chunk of the build key (`KernelBuildKey`); prompts run as decode steps until issue 13's prefill designs.
    public static let chunk = 64

    public let directory: String
    public let index: KernelIndex
    /// The one xclbin holding every kernel the backend opens.
    public let xclbin: String

    /// The weight types the designs are built for: what NPUBackend uploads.
    public static func weightTypes(graph: Graph, tensors: TensorSource) -> (projection: DType, lmHead: DType) {
        (WeightConversion.projectionDType(tensors, graph), WeightConversion.lmHeadDType(tensors, graph))
    }

    public static func directory(graph: Graph, tensors: TensorSource, contextLength: Int,
                                 cache: String = KernelBuildKey.cacheDirectory) -> String {
        let (p, h) = weightTypes(graph: graph, tensors: tensors)
        return KernelBuildKey.directory(config: graph.config, projection: p, lmHead: h, context: contextLength,
                                        chunk: chunk, cache: cache)
    }

    /// Thrown when no build exists for the model's shapes; `directory` is where it was looked for.
    public struct Missing: Error, CustomStringConvertible {
        public var directory: String
        public var description: String { "no NPU kernels are built for this model's shapes (looked for \(directory)/kernels.json)" }
    }

    /// Finds and checks the build: kernels.json parsed, every kernel the backend opens present, in one xclbin.
    public init(graph: Graph, tensors: TensorSource, manifest: KernelManifest, contextLength: Int,
                cache: String = KernelBuildKey.cacheDirectory) throws {
        directory = Self.directory(graph: graph, tensors: tensors, contextLength: contextLength, cache: cache)
        guard FileManager.default.fileExists(atPath: (directory as NSString).appendingPathComponent("kernels.json")) else {
            throw Missing(directory: directory)
        }
        index = try KernelIndex.load(directory: directory)
        let names = try NPUBackend.kernelNames(graph: graph, tensors: tensors, manifest: manifest, contextLength: contextLength)
        xclbin = try index.xclbin(for: names)
    }

    /// Every design the backend runs from this build: one decode token kernel per KV length bucket.
    public static func designs(graph: Graph, tensors: TensorSource, manifest: KernelManifest,
                               contextLength: Int) throws -> [FusedDesign] {
        try NPUBackend.designs(graph: graph, tensors: tensors, manifest: manifest, contextLength: contextLength).all
    }

    /// What the backend will map for this build (DeviceMemoryPlan): the build's instruction streams, and its
    /// xclbin's size as the bound on the PDIs the hardware context copies into the device heap.
    public func memoryPlan(graph: Graph, tensors: TensorSource, manifest: KernelManifest, contextLength: Int,
                           limits: XDNALimits = .standard) throws -> DeviceMemoryPlan {
        let designs = try Self.designs(graph: graph, tensors: tensors, manifest: manifest, contextLength: contextLength)
        var instructionBytes: [String: Int] = [:]
        for d in designs { instructionBytes[d.kernelName] = 4 * (try index.instructions(for: d.kernelName)).count }
        let xclbinBytes = (try? FileManager.default.attributesOfItem(atPath: xclbin)[.size] as? NSNumber)?.intValue ?? 0
        return try NPUBackend.memoryPlan(graph: graph, tensors: tensors, manifest: manifest, contextLength: contextLength,
                                         instructionBytes: instructionBytes, pdiBytes: xclbinBytes, limits: limits)
    }

    /// Each kernel's arguments in the xclbin (XRT's xrt::xclbin, or `xclbinMetadata`) against what the plan binds.
    public func checkSignatures(graph: Graph, tensors: TensorSource, manifest: KernelManifest, contextLength: Int,
                                xclbinMetadata: XclbinMetadata? = nil) throws {
        let designs = try Self.designs(graph: graph, tensors: tensors, manifest: manifest, contextLength: contextLength)
        try KernelSignatureCheck.check(designs, against: xclbinMetadata ?? XRTXclbin(path: xclbin))
    }

    /// What --device npu checks before it opens the device or allocates anything, returning the plan it checked:
    /// 1. every byte the backend will map MAP_LOCKED (`memoryPlan`) against RLIMIT_MEMLOCK, and the device heap
    ///    use against its maximum;
    /// 2. each kernel's arguments in the xclbin against what the plan binds (`checkSignatures`).
    @discardableResult
    public func preflight(graph: Graph, tensors: TensorSource, manifest: KernelManifest, contextLength: Int,
                          environment: NPUEnvironment = .current(),
                          xclbinMetadata: XclbinMetadata? = nil) throws -> DeviceMemoryPlan {
        let limits = environment.limits
        let plan = try memoryPlan(graph: graph, tensors: tensors, manifest: manifest, contextLength: contextLength,
                                  limits: limits)
        if plan.heapUseBytes > limits.deviceHeapMaxBytes {
            throw NPUPreflightError(
                check: "device heap",
                message: "the instruction streams (\(plan.bytes(.instructions)) bytes) and PDIs (at most the xclbin's "
                    + "\(plan.pdiBytes) bytes) need \(plan.heapUseBytes) bytes of the XDNA plugin's device heap, which "
                    + "stops at \(limits.deviceHeapMaxBytes) (\(limits.source("memlock.deviceHeapMaxBytes")))",
                fix: "build fewer kernels into the xclbin (a shorter context: fewer KV length buckets)")
        }
        let c = graph.config
        let memlock = environment.memlock(plan: plan, what: "\(c.layerCount) layers, hidden \(c.hiddenSize), context \(contextLength)")
        if !memlock.ok { throw NPUPreflightError(memlock) }
        try checkSignatures(graph: graph, tensors: tensors, manifest: manifest, contextLength: contextLength,
                            xclbinMetadata: xclbinMetadata)
        return plan
    }

    /// NPUBackend over `device` with this build: the preflight checks, then the xclbin registered once and
    /// each kernel's instructions loaded.
    public func backend(graph: Graph, tensors: TensorSource, device: NPUDevice, manifest: KernelManifest,
                        contextLength: Int, environment: NPUEnvironment = .current(),
                        xclbinMetadata: XclbinMetadata? = nil, progress: ((Int, Int) -> Void)? = nil) throws -> NPUBackend {
        try preflight(graph: graph, tensors: tensors, manifest: manifest, contextLength: contextLength,
                      environment: environment, xclbinMetadata: xclbinMetadata)
        let index = self.index
        return try NPUBackend(graph: graph, tensors: tensors, device: device, manifest: manifest,
                              contextLength: contextLength, xclbin: xclbin,
                              instructions: { try index.instructions(for: $0) }, progress: progress)
    }
}
