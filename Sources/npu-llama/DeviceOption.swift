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
            do { _ = try XRTDevice.open() } catch {
                let missing = NPUEnvironment.current().openPrerequisites().filter { !$0.ok }.map(\.name)
                throw UserFacingError(message: missing.isEmpty ? "\(error)"
                                        : "no usable XDNA NPU here (missing: \(missing.joined(separator: ", "))); --device npu never falls back to the CPU",
                                      hint: "run `npu-llama doctor` for every check and its fix; --device emulator runs the same kernels on the CPU (a test instrument), --device reference the fp32 CPU reference",
                                      code: ExitCodes.noDevice)
            }
            throw UserFacingError(
                message: "the NPU opened, but the fused per-layer designs the NPU backend runs (attention half, MLP half, LM head) exist so far only as emulated drivers, not as IRON designs that build into an xclbin",
                hint: "see Kernels/README.md; --device emulator runs the same backend and kernel sources on the CPU",
                code: ExitCodes.noDevice)
        case .emulator:
            // The emulated NPU: the same backend, runlists and kernels (Kernels/*.cc on the CPU), checked
            // and counted. A test instrument, selected only by name; its times are not NPU times.
            let manifest = try KernelManifest.load(path: RepositoryPaths.root + "/Kernels/manifest.json")
            // The attention kernels read the KV cache in blocks of 64 positions.
            let contextLength = min((contextLength + 63) / 64 * 64, graph.config.maxContext)
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

    /// What produced the figures, printed beside every figure.
    var label: String {
        switch self {
        case .npu: return "NPU hardware"
        case .emulator: return "emulated NPU"
        case .reference: return "CPU reference"
        }
    }
}
