// The manifest instantiated for one model: every kernel use with concrete shapes and buffer sizes, or the constraint it breaks.
import Foundation
import LlamaCore

/// A shape the kernels cannot serve, found when the plan is made (never at run time).
public struct KernelPlanError: Error, Equatable, CustomStringConvertible {
    /// The use (graph slot) that cannot be served, e.g. `ffn_gate`.
    public var use: String
    public var message: String
    public var description: String { "\(use): \(message)" }
}

/// One kernel use with everything bound.
public struct KernelInstance: Sendable, Equatable {
    public var use: String
    public var kernel: String
    /// The entry symbols the design calls (for RoPE, the one for the model's pairing).
    public var entries: [String]
    public var rounding: String
    /// The tiling candidate the plan chose for this use (the kernel's first whose constraints hold).
    public var tiling: [String: Int]
    /// Model dimensions, the use's dims and the chosen tiling, all bound.
    public var values: [String: Int]
    /// Argument name → dtype and concrete shape.
    public var args: [(name: String, dtype: KernelDType, shape: [Int])]
    /// Bytes of every on-chip buffer of one core (copies included), and of one memory tile.
    public var coreBytes: Int
    public var memTileBytes: Int

    public static func == (a: KernelInstance, b: KernelInstance) -> Bool {
        a.use == b.use && a.kernel == b.kernel && a.values == b.values && a.coreBytes == b.coreBytes
    }
}

/// Which kernels, with which shapes, run a model. Making the plan is where bad shapes are rejected.
public struct KernelPlan: Sendable {
    public let manifest: KernelManifest
    public let instances: [KernelInstance]

    /// - Parameters:
    ///   - projectionWeights: the dtype of the q/k/v/o and FFN matrices as uploaded (bf16, Q4_1 or Q4_0).
    ///   - lmHeadWeights: the dtype of the LM head as uploaded (bf16, Q4_1 or Q4_0).
    ///   - context: KV cache length (`ctx`); chunk: prefill rows per step (`chunk`).
    public init(manifest: KernelManifest, config: ModelConfig, projectionWeights: DType, lmHeadWeights: DType,
                context: Int, chunk: Int) throws {
        self.manifest = manifest
        let model: [String: Int] = [
            "hidden": config.hiddenSize, "qDim": config.qDim, "kvDim": config.kvDim, "headDim": config.headDim,
            "heads": config.headCount, "kvHeads": config.kvHeadCount, "group": config.groupSize,
            "ffn": config.intermediateSize, "vocab": config.vocabSize, "ctx": context, "chunk": chunk,
            "layers": config.layerCount,
        ]
        if context <= 0 || context > config.maxContext {
            throw KernelPlanError(use: "ctx", message: "context \(context) is outside 1...\(config.maxContext) (max_position_embeddings)")
        }
        if chunk <= 0 { throw KernelPlanError(use: "chunk", message: "chunk \(chunk) must be positive") }
        let device = manifest.device
        var instances: [KernelInstance] = []
        for use in manifest.uses {
            func fail(_ m: String) -> KernelPlanError { KernelPlanError(use: use.name, message: m) }
            let dtype: String
            switch use.weights {
            case "projection": dtype = projectionWeights.rawValue.lowercased()
            case "lm_head": dtype = lmHeadWeights.rawValue.lowercased()
            default: dtype = "bf16"
            }
            guard let kernel = manifest.kernels.first(where: { $0.op == use.op && $0.dtype == dtype }) else {
                throw fail("no \(use.op) kernel takes \(dtype.uppercased()) weights (convert them at upload)")
            }
            var dimValues = model
            for (key, e) in use.dims {
                do { dimValues[key] = try e.evaluate(model) } catch { throw fail("dim \(key): \(error)") }
            }
            // the first tiling candidate whose constraints and buffer budgets hold
            var chosen: (values: [String: Int], tiling: [String: Int], core: Int, memTile: Int)?
            var lastFailure: KernelPlanError?
            for candidate in kernel.tilings {
                do {
                    chosen = try Self.bind(kernel, candidate, dimValues, device: device, fail: fail)
                    break
                } catch let e as KernelPlanError { lastFailure = e }
            }
            guard let (values, tiling, core, memTile) = chosen else {
                var e = lastFailure!
                if kernel.tilings.count > 1 { e.message += " (tilings tried: \(Self.describe(kernel.tilings)))" }
                throw e
            }
            let args = try kernel.args.map { a -> (name: String, dtype: KernelDType, shape: [Int]) in
                let shape: [Int]
                do { shape = try a.shape.map { try $0.evaluate(values) } } catch { throw fail("argument \(a.name): \(error)") }
                return (a.name, a.dtype, shape)
            }
            var entries = kernel.entries
            if !kernel.entryByPairing.isEmpty {
                guard let e = kernel.entryByPairing[config.ropePairing.rawValue] else {
                    throw fail("\(kernel.name) has no entry for RoPE pairing \(config.ropePairing.rawValue)")
                }
                entries = [e]
            }
            instances.append(KernelInstance(use: use.name, kernel: kernel.name, entries: entries, rounding: kernel.rounding,
                                            tiling: tiling, values: values, args: args, coreBytes: core, memTileBytes: memTile))
        }
        self.instances = instances
    }

    public func instance(_ use: String) -> KernelInstance? { instances.first { $0.use == use } }

    /// One tiling candidate bound to a use: its constraints checked, its buffers sized against the
    /// device's per-core and per-memory-tile budgets.
    private static func bind(_ kernel: KernelSpec, _ candidate: [(key: String, value: Int)], _ dimValues: [String: Int],
                             device: KernelDevice, fail: (String) -> KernelPlanError)
        throws -> (values: [String: Int], tiling: [String: Int], core: Int, memTile: Int) {
        var values = dimValues
        for (key, v) in candidate { values[key] = v }
        for (check, message) in kernel.constraints {
            let ok: Int
            do { ok = try check.evaluate(values) } catch { throw fail("\(check): \(error)") }
            if ok == 0 { throw fail(Self.fill(message, values)) }
        }
        if let cores = values["cores"], cores > device.cores {
            throw fail("cores=\(cores) exceeds the device's \(device.cores)")
        }
        func bytes(_ list: [KernelBuffer]) throws -> Int {
            var total = 0
            for b in list {
                let n: Int
                do { n = try b.shape[0].evaluate(values) } catch { throw fail("buffer \(b.name): \(error)") }
                guard n >= 0, let size = b.dtype.bytes(n) else { throw fail("buffer \(b.name) has \(n) elements") }
                total += size * b.depth
            }
            return total
        }
        let core = try bytes(kernel.coreBuffers), memTile = try bytes(kernel.memTileBuffers)
        let coreBudget = device.coreBytes - device.coreStackBytes
        if core > coreBudget {
            throw fail("\(kernel.name) needs \(core) bytes per core (buffers with their copies), more than the \(coreBudget) a core has after its stack")
        }
        if memTile > device.memTileBytes {
            throw fail("\(kernel.name) needs \(memTile) bytes per memory tile, more than its \(device.memTileBytes)")
        }
        return (values, Dictionary(uniqueKeysWithValues: candidate.map { ($0.key, $0.value) }), core, memTile)
    }

    /// The keys that differ between candidates, per candidate: "tm=64, tm=32, tm=16".
    static func describe(_ tilings: [[(key: String, value: Int)]]) -> String {
        let varying = tilings[0].indices.filter { i in Set(tilings.map { $0[i].value }).count > 1 }
        return tilings.map { t in varying.map { "\(t[$0].key)=\(t[$0].value)" }.joined(separator: " ") }
            .joined(separator: ", ")
    }

    /// "{K}" in a constraint message becomes K's value.
    static func fill(_ message: String, _ values: [String: Int]) -> String {
        var out = message
        for (k, v) in values { out = out.replacingOccurrences(of: "{\(k)}", with: String(v)) }
        return out
    }
}
