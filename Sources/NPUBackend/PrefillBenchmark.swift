// Prefill benchmark: the exact per-chunk counts of the prefill run from its layout (bytes per DMA channel, DRAM bytes, MACs per core, per task group), checked against the emulated driver's counts, and the MODELLED time to first token and prefill tok/s (the formula of Kernels/decode/README.md "Modelled time to first token", Tools/prefill_model.py's twin).
import Foundation
import LlamaCore

/// One task group of a prefill run (README "Prefill": A–J per layer): its channels' bytes, DRAM bytes, the busiest
/// core's MACs and its awaited drains.
public struct PrefillPhase: Sendable {
    public var name: String
    public var bytes: [DecodeChannel: Int]
    public var dramBytes: Int
    public var macs: Int
    public var waits: Int
    /// A GEMM phase whose activation slice is single-buffered (xDepth 1; task G): the slices' bytes a core takes in
    /// series with its MACs (the next slice's broadcast waits for the core's release); 0 when double-buffered.
    public var serialXBytes: Int = 0
}

/// The prefill's cost model: per phase max(busiest channel / `channel`, DRAM bytes / `dram`, busiest core's MACs /
/// `macsPerSecondPerCore`, a single-buffered x slice's bytes / `channel` + those MACs in series) + waits; per chunk + one run + one host sync; the prompt's last chunk + the LM head run.
/// Sources: `macsPerSecondPerCore` = 16.9 TFLOP/s (the best public bf16 GEMM on XDNA2, /work/shared/REFERENCE.md §6)
/// / 2 FLOP per MAC / 32 cores = 264 GMAC/s; the rest is DecodeCostModel's (DRAM 50 GB/s: issue 12; 8.93 GB/s per
/// channel: mlir-air fused_decode README; 33 µs per run: REFERENCE §5; 10 µs per wait and per sync: assumed).
/// Not modelled (the figures are lower bounds for them): the row core's compute, attn_chunk's scalar softmax, the
/// GEMM cores' in-core transposes and Q4 dequantization.
public struct PrefillCostModel: Sendable {
    public var decode = DecodeCostModel()
    public var macsPerSecondPerCore = 16.9e12 / 2 / 32
    public init() {}

    public func phase(_ p: PrefillPhase) -> (seconds: Double, limit: String) {
        let times = [("channel", Double(p.bytes.values.max() ?? 0) / decode.channelBytesPerSecond),
                     ("DRAM", Double(p.dramBytes) / decode.dramBytesPerSecond),
                     ("compute", Double(p.macs) / macsPerSecondPerCore),
                     ("x+compute", p.serialXBytes == 0 ? 0
                        : Double(p.serialXBytes) / decode.channelBytesPerSecond + Double(p.macs) / macsPerSecondPerCore)]
        let best = times.max { $0.1 < $1.1 }!
        return (best.1 + Double(p.waits) * decode.secondsPerWait, best.0)
    }

    public var description: String {
        String(format: "%.0f GMAC/s per core (16.9 TFLOP/s bf16 GEMM / 2 / 32 cores, REFERENCE §6), ", macsPerSecondPerCore / 1e9)
            + decode.description
    }
}

extension PrefillLayout {
    /// A GEMM stage's task group (a Qwen QKV stage, `f32`: its fp32 rows, twice the join bytes; issue 17).
    func stagePhase(_ s: DecodeLayout.StageShape, f32: Bool = false) -> PrefillPhase {
        let d = decode, C = chunk
        let w = s.rounds * s.slices * d.pairBytes, x = s.rounds * C * s.k * 2
        let col = s.rounds * 4 * C * d.tm * 2 * (f32 ? 2 : 1)
        var bytes: [DecodeChannel: Int] = [PrefillChannel.xIn: x, PrefillChannel.broadcast: x]
        for ch in 0..<DecodeLayout.channels { bytes[.weights(ch)] = w }
        for c in 0..<DecodeLayout.columns { bytes[PrefillChannel.gemmDrain(c)] = col }
        return PrefillPhase(name: "GEMM \(s.stage.name)", bytes: bytes, dramBytes: 8 * w + x + 4 * col,
                            macs: s.rounds * s.slices * C * d.tm * d.tk, waits: 4, serialXBytes: xDepth == 1 ? x : 0)
    }

    /// The task groups of one chunk's run at `start` with `rows` prompt rows, in order (README's runtime sequence).
    public func chunkPhases(start: Int, rows: Int) -> [PrefillPhase] {
        let c = config, C = chunk, H = c.hiddenSize, Q = c.qDim, KV = c.kvDim, F = c.intermediateSize, U = unit
        let hd = c.headDim, grp = c.groupSize, L = c.layerCount, d = decode, b = bucket(start: start)
        func row(_ name: String, _ bytes: [DecodeChannel: Int], waits: Int) -> PrefillPhase {
            PrefillPhase(name: name, bytes: bytes, dramBytes: bytes.values.reduce(0, +), macs: 0, waits: waits)
        }
        let (mn, sc, ro, ra) = (PrefillChannel.rowMain, PrefillChannel.rowSecond, PrefillChannel.rowOut, PrefillChannel.rowAux)
        var out: [PrefillPhase] = []
        for l in 0..<L {
            out.append(row("A attn_norm", [mn: 2 * H + 2 * C * H + (l == 0 ? 2 * U : 0), ro: 2 * C * H], waits: 1))
            out.append(stagePhase(d.stages[0], f32: qkvF32))
            if fusedValues > 0 {   // issue 17 (Qwen): group Q, the family core's weights and fp32 qkv rows in, fused rows out
                out.append(row("Q family step", [PrefillChannel.familyIn: 2 * (d.extraValues * extraRepeats + 2 * C * fusedValues),
                                                 PrefillChannel.familyOut: 2 * C * fusedValues], waits: 1))
            }
            // rout's first drain (the Q rows) is awaited by its second (the headers): a channel's tasks run in order
            out.append(row("C RoPE, packs, K/V rows", [mn: 2 * C * (Q + 2 * KV), sc: 2 * C * U, ro: 2 * (C * Q + Q), ra: 4 * C * KV], waits: 2))
            var a: [DecodeChannel: Int] = [:]
            for g in 0..<kvGroupCount {   // group g = pack fifo g; its K‖V blocks once per repeat, broadcast to the lanes
                a[PrefillChannel.packs(g)] = 2 * grp * kvGroupHeads * packValues
                a[PrefillChannel.attentionDrain(g)] = 2 * grp * C * kvGroupHeads * hd
                a[PrefillChannel.kv(g)] = 2 * reps * b * kvGroupHeads * kvHeadBlock
            }
            // a core: reps·kgk query heads, each over the visible blocks (QKᵀ and PV per 8-row block)
            let macs = reps * kvGroupHeads * ((rows + 7) / 8) * (start / d.block + 1) * 2 * 8 * d.block * hd
            out.append(PrefillPhase(name: "D attention", bytes: a, dramBytes: a.values.reduce(0, +), macs: macs,
                                    waits: kvGroupCount))   // one awaited drain per output channel
            out.append(stagePhase(d.stages[1]))
            out.append(row("F ffn_inp, ffn_norm", [mn: 2 * H + 2 * C * H, sc: 2 * C * H, ra: 2 * C * H, ro: 2 * C * H], waits: 2))
            out.append(stagePhase(d.stages[2]))
            out.append(row("H SwiGLU", [mn: 2 * C * F, sc: 2 * C * F, ro: 2 * C * F], waits: 1))   // even / odd gu objects
            out.append(stagePhase(d.stages[3]))
            let lastLayer = l == L - 1
            out.append(row("J l_out", [mn: 2 * C * H, sc: 2 * C * H, ro: 2 * C * H + (lastLayer ? 2 * H : 0)], waits: lastLayer ? 2 : 1))
        }
        return out
    }

    /// Every shim channel's bytes over one chunk's run (the memory tile's broadcast left out): what the emulated
    /// driver counts.
    public func chunkChannelTotals(start: Int, rows: Int) -> [DecodeChannel: Int] {
        var t: [DecodeChannel: Int] = [:]
        for p in chunkPhases(start: start, rows: rows) { for (k, v) in p.bytes { t[k, default: 0] += v } }
        return t
    }
}

/// The modelled prefill of an N-token prompt from position 0 and the exact counts behind it.
public struct PrefillBenchResult: Sendable {
    public var promptTokens: Int
    public var chunks: Int
    public var seconds: Double
    public var tokensPerSecond: Double { Double(promptTokens) / seconds }
    /// Seconds of the phases by what bounds them ("channel", "DRAM", "compute"), waits included.
    public var bounds: [String: Double]
    /// Bytes over the whole prompt: DRAM, the busiest phase channel total, MACs of the busiest GEMM core.
    public var dramBytes: Int
    public var gemmCoreMACs: Int
    public var attentionCoreMACs: Int
    public var lmHeadSeconds: Double
}

public enum PrefillBenchmark {
    /// TTFT of an `n`-token prompt: its chunks' phases, per chunk a run and a host sync, the LM head run once.
    public static func model(_ p: PrefillLayout, promptTokens n: Int, cost: PrefillCostModel = PrefillCostModel()) -> PrefillBenchResult {
        var total = 0.0, bounds: [String: Double] = [:], chunks = 0, dram = 0, gemm = 0, attention = 0
        var start = 0
        while start < n {
            let rows = min(p.chunk, n - start)
            for ph in p.chunkPhases(start: start, rows: rows) {
                let (s, limit) = cost.phase(ph)
                total += s
                bounds[limit, default: 0] += s
                dram += ph.dramBytes
                if ph.name.hasPrefix("GEMM") { gemm += ph.macs } else { attention += ph.macs }
            }
            total += cost.decode.secondsPerRun + cost.decode.secondsPerSync
            chunks += 1
            start += p.chunk
        }
        let lm = Double(p.decode.lmHead.weightsBytes)
        let lmSeconds = max(lm / cost.decode.dramBytesPerSecond, lm / 8 / cost.decode.channelBytesPerSecond) + cost.decode.secondsPerRun
        total += lmSeconds
        return PrefillBenchResult(promptTokens: n, chunks: chunks, seconds: total, bounds: bounds, dramBytes: dram,
                                  gemmCoreMACs: gemm, attentionCoreMACs: attention, lmHeadSeconds: lmSeconds)
    }

    /// The lines `npu-llama bench --device emulator` prints for prompts of `sizes` tokens.
    public static func report(_ p: PrefillLayout, sizes: [Int], cost: PrefillCostModel = PrefillCostModel()) -> String {
        var lines = ["prefill (MODELLED from the exact counts of the prefill runs' task groups; \(cost.description); "
                     + "not modelled: the row core's compute, attn_chunk's softmax, in-core transposes, Q4 dequantization)"]
        for n in sizes where n <= p.decode.context {
            let r = model(p, promptTokens: n, cost: cost)
            let parts = r.bounds.sorted { $0.value > $1.value }.map { String(format: "%@ %.0f ms", $0.key, $0.value * 1e3) }
            lines.append(String(format: "pp%d: %.1f tok/s, TTFT %.3f s (%d chunks of %d, one runlist each; DRAM %.2f GB, "
                                    + "MACs per GEMM core %.2f G; phases bound by %@; LM head run %.1f ms) [modelled]",
                                n, r.tokensPerSecond, r.seconds, r.chunks, p.chunk, Double(r.dramBytes) / 1e9,
                                Double(r.gemmCoreMACs) / 1e9, parts.joined(separator: ", "), r.lmHeadSeconds * 1e3))
        }
        return lines.joined(separator: "\n")
    }
}
