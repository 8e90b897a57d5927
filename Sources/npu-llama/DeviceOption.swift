// The --device option: which backend runs the model. The NPU is the default; nothing falls back.
import ArgumentParser
import LlamaCore
import NPUBackend
import ReferenceBackend

enum Device: String, ExpressibleByArgument, CaseIterable {
    case npu, emulator, reference

    /// Builds the backend for this device, or fails with why it cannot run here.
    func makeBackend(graph: Graph, model: LoadedModel, contextLength: Int, maxBatch: Int,
                     progress: Progress?) throws -> Backend {
        switch self {
        case .reference:
            let weights = try FloatWeights(graph: graph, source: model.tensors) { done, total in
                progress?.update(done, total)
            }
            progress?.finish()
            return try ReferenceBackend(graph: graph, weights: weights, contextLength: contextLength, maxBatch: maxBatch)
        case .npu:
            // Opening the device names everything that is missing (device node, driver, XRT, version).
            let device: XRTDevice
            do { device = try XRTDevice.open() } catch {
                let missing = NPUEnvironment.current().openPrerequisites().filter { !$0.ok }.map(\.name)
                throw UserFacingError(message: missing.isEmpty ? "\(error)"
                                        : "no usable XDNA NPU here (missing: \(missing.joined(separator: ", "))); --device npu never falls back to the CPU",
                                      hint: "run `npu-llama doctor` for every check and its fix; --device emulator runs the same kernels on the CPU (a test instrument), --device reference the fp32 CPU reference",
                                      code: ExitCodes.noDevice)
            }
            let manifest = try KernelManifest.load(path: RepositoryPaths.root + "/Kernels/manifest.json")
            let contextLength = Device.kernelContext(contextLength, graph)
            let kernels: BuiltKernels
            do {
                kernels = try BuiltKernels(graph: graph, tensors: model.tensors, manifest: manifest, contextLength: contextLength)
            } catch let missing as BuiltKernels.Missing {
                throw UserFacingError(message: "\(missing)",
                                      hint: "build them with: npu-llama kernels build --model \(model.path) --ctx \(contextLength)",
                                      code: ExitCodes.noDevice)
            } catch let broken as KernelIndexError {
                throw UserFacingError(message: "the NPU kernels built for this model cannot be used: \(broken)",
                                      hint: "rebuild them with: npu-llama kernels clean && npu-llama kernels build --model \(model.path) --ctx \(contextLength)",
                                      code: ExitCodes.noDevice)
            }
            let backend = try kernels.backend(graph: graph, tensors: model.tensors, device: device, manifest: manifest,
                                              contextLength: contextLength,
                                              progress: { done, total in progress?.update(done, total) })
            progress?.finish()
            return backend
        case .emulator:
            // The emulated NPU: the same backend, runlists and kernels (Kernels/*.cc on the CPU), checked
            // and counted. A test instrument, selected only by name; its times are not NPU times.
            let manifest = try KernelManifest.load(path: RepositoryPaths.root + "/Kernels/manifest.json")
            let contextLength = Device.kernelContext(contextLength, graph)
            let device = try NPUBackend.emulatedDevice(graph: graph, tensors: model.tensors, manifest: manifest,
                                                       contextLength: contextLength)
            let backend = try NPUBackend(graph: graph, tensors: model.tensors, device: device, manifest: manifest,
                                         contextLength: contextLength, xclbin: "emulated-decode.xclbin",
                                         instructions: { try device.instructions(for: $0) },
                                         progress: { done, total in progress?.update(done, total) })
            progress?.finish()
            return backend
        }
    }

    /// The context the kernels are planned and built for: the attention kernels read the KV cache in
    /// blocks of 64 positions. Shared by the NPU, the emulator and `npu-llama kernels build`.
    static func kernelContext(_ contextLength: Int, _ graph: Graph) -> Int {
        min((contextLength + 63) / 64 * 64, graph.config.maxContext)
    }

    /// What produced the figures, printed beside every figure.
    var label: String {
        switch self {
        case .npu: return "NPU hardware"
        case .emulator: return "emulated NPU"
        case .reference: return "CPU reference"
        }
    }
}
