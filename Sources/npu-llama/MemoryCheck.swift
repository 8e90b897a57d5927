// Refuses a context the CPU reference could not hold in this machine's memory, before anything is allocated.
import Foundation
import LlamaCore
import ReferenceBackend

enum MemoryCheck {
    /// With --device reference: the fp32 weights (none when they are packed), `caches` backends' KV caches and node buffers (verify runs three)
    /// must fit in the machine's physical memory; otherwise a usage error naming the option, its value and the bytes.
    static func reference(device: Device, config: ModelConfig, contextLength: Int, maxBatch: Int, caches: Int = 1,
                          option: String = "--context", subject: String? = nil) throws {
        guard device == .reference else { return }
        let graph = Graph.llama(config)
        let planned = ReferenceBackend.plannedBytes(graph: graph, contextLength: contextLength, maxBatch: maxBatch)
        // fp32 weights unless FloatWeights' automatic storage packs the matrices (fp32 over 3/4 of memory): then the
        // reference adds only scratch to the model's own stored bytes
        let weights = FloatWeights.Storage.automatic.resolved(for: graph) == .fp32 ? ReferenceBackend.weightBytes(graph: graph) : 0
        let need = weights + caches * (planned.kvCache + planned.buffers)
        let have = Int(clamping: ProcessInfo.processInfo.physicalMemory)
        guard need > have else { return }
        func gb(_ bytes: Int) -> String { String(format: "%.1f GB", Double(bytes) / 1e9) }
        throw UserFacingError(
            message: "\(subject ?? "\(option) \(contextLength)") needs \(gb(need)) for the CPU reference (fp32 weights \(gb(weights)), "
                + "KV cache \(gb(caches * planned.kvCache)), buffers \(gb(caches * planned.buffers))); this machine has \(gb(have))",
            hint: "lower \(option)", code: ExitCodes.usage)
    }
}
