// The real-NPU path's kernels: which build directory serves a model, the command that builds it, and the backend over it.
import Foundation
import LlamaCore

/// The built kernels a model needs on the NPU, found by shape (`KernelBuildKey`), or why they are not there.
public struct BuiltKernels: Sendable {
    /// Rows per prefill step the designs are built for (PrefillDesigns' chunk).
    public static let chunk = 64

    /// The real NPU runs prompts as decode steps: the prefill attention design cannot yet append the
    /// chunk's KV rows at a run-time position (Kernels/layer_decode/README.md), so it is not built.
    public static let prefillDesigns = false

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
        let names = try NPUBackend.kernelNames(graph: graph, tensors: tensors, manifest: manifest, contextLength: contextLength,
                                               prefillDesigns: Self.prefillDesigns)
        xclbin = try index.xclbin(for: names)
    }

    /// NPUBackend over `device` with this build: the xclbin registered once, each kernel's instructions loaded.
    public func backend(graph: Graph, tensors: TensorSource, device: NPUDevice, manifest: KernelManifest,
                        contextLength: Int, progress: ((Int, Int) -> Void)? = nil) throws -> NPUBackend {
        let index = self.index
        return try NPUBackend(graph: graph, tensors: tensors, device: device, manifest: manifest,
                              contextLength: contextLength, xclbin: xclbin,
                              instructions: { try index.instructions(for: $0) }, prefillDesigns: Self.prefillDesigns,
                              progress: progress)
    }
}
