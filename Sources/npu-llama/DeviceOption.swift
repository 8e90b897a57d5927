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
            // Before anything is opened or allocated: the device, driver, XRT and its plugin (each missing piece
            // named), the kernel build, then what the backend will map against memlock and the xclbin's kernel
            // signatures against the plan (BuiltKernels.preflight). Nothing falls back.
            let environment = NPUEnvironment.current()
            let missing = environment.openPrerequisites().filter { !$0.ok }.map(\.name)
            if !missing.isEmpty {
                throw UserFacingError(message: "no usable XDNA NPU here (missing: \(missing.joined(separator: ", "))); --device npu never falls back to the CPU",
                                      hint: "run `npu-llama doctor` for every check and its fix; --device emulator runs the same kernels on the CPU (a test instrument), --device reference the fp32 CPU reference",
                                      code: ExitCodes.noDevice)
            }
            let manifest = try KernelManifest.load(path: RepositoryPaths.root + "/Kernels/manifest.json")
            let contextLength = Device.kernelContext(contextLength, graph)
            let kernels: BuiltKernels
            do {
                kernels = try BuiltKernels(graph: graph, tensors: model.tensors, manifest: manifest, contextLength: contextLength)
                try kernels.preflight(graph: graph, tensors: model.tensors, manifest: manifest, contextLength: contextLength,
                                      environment: environment)
            } catch let missing as BuiltKernels.Missing {
                throw UserFacingError(message: "\(missing)",
                                      hint: "build them with: npu-llama kernels build --model \(model.path) --ctx \(contextLength)",
                                      code: ExitCodes.noDevice)
            } catch let broken as KernelIndexError {
                throw UserFacingError(message: "the NPU kernels built for this model cannot be used: \(broken)",
                                      hint: "rebuild them with: npu-llama kernels clean && npu-llama kernels build --model \(model.path) --ctx \(contextLength)",
                                      code: ExitCodes.noDevice)
            } catch let failed as NPUPreflightError {
                throw UserFacingError(message: "--device npu: \(failed.check): \(failed.message)", hint: failed.fix,
                                      code: ExitCodes.noDevice)
            } catch let mismatch as KernelSignatureMismatch {
                throw UserFacingError(message: "--device npu: the built xclbin does not take what the plan binds: \(mismatch)",
                                      hint: "rebuild the kernels with the aiecc the designs are written for: npu-llama kernels clean && npu-llama kernels build --model \(model.path) --ctx \(contextLength)",
                                      code: ExitCodes.noDevice)
            }
            let device = try XRTDevice.open(environment: environment)
            let backend = try kernels.backend(graph: graph, tensors: model.tensors, device: device, manifest: manifest,
                                              contextLength: contextLength, environment: environment,
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
