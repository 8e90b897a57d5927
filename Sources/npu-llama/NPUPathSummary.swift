// What a model's NPU path uses (issue 17): decode tile, LM head tiling, attention block, prefill, buckets, kernels per hw_context and the memlock need — printed by `inspect` and `kernels list`.
import Foundation
import LlamaCore
import NPUBackend

enum NPUPathSummary {
    /// Lines describing the designs NPUBackend would load for these weights at `context` (rounded as the devices
    /// round it), or one line saying why the NPU cannot serve the model.
    static func lines(config: ModelConfig, tensors: TensorSource, context: Int) -> [String] {
        let graph = Graph.llama(config)
        let ctx = Device.kernelContext(context, graph)
        do {
            let manifest = try KernelManifest.load(path: RepositoryPaths.root + "/Kernels/manifest.json")
            let designs = try NPUBackend.designs(graph: graph, tensors: tensors, manifest: manifest, contextLength: ctx)
            let l = designs.layout, lm = l.lmHead
            let plan = DeviceMemoryPlan(designs: designs, instructionBytes: [:])
            let padded = l.candidates.first { $0.tm == l.tm && $0.tk == l.tk }?.paddedRows ?? 0
            let lmPadded = lm.candidates.first { $0.tm == lm.tm }?.paddedRows ?? 0
            let prefill = designs.prefill.map { p -> String in
                let b = p.coreBytes
                return "prefill_\(designs.projectionDType.rawValue.lowercased())_b<bucket>: chunks of \(p.chunk) rows, the row core "
                    + "streaming each row in objects of \(p.unit) values through row buffers of \(p.rowValues) (core buffers: GEMM "
                    + "\(b.gemm) B, row \(b.row) B)"
            } ?? "none, prompts run as decode steps (\(designs.prefillUnsupported ?? "unsupported"))"
            let limit = manifest.target.maxKernelsPerContext
            return [
                "NPU path at context \(ctx) (projections \(designs.projectionDType.rawValue), LM head \(designs.lmHeadDType.rawValue)):",
                "  decode token: gemv tile tm \(l.tm) × tk \(l.tk) on 16 cores (\(padded) zero padded rows over the layers), "
                    + "hub object \(l.hubSlice) values, attention block \(l.block) rows, \(l.kvGroups) KV groups of \(l.headsPerGroup)",
                "  LM head: tm \(lm.tm) × tk \(lm.tk) (\(lmPadded) zero padded vocab rows)",
                "  prefill: \(prefill)",
                "  buckets (KV blocks read): \(designs.buckets.map(String.init).joined(separator: ", "))",
                "  kernels in the hw_context: \(designs.all.count) of \(limit) (\(designs.all.first?.kernelName ?? "") … \(designs.all.last?.kernelName ?? ""))",
                "  memlock: \(NPUEnvironment.formatBytes(UInt64(plan.mappedBytes))) mapped (\(plan.breakdown); instruction streams "
                    + "and PDIs of a build not counted here: `npu-llama doctor` counts them)",
            ]
        } catch {
            return ["NPU path at context \(ctx): none — \(error)"]
        }
    }
}
