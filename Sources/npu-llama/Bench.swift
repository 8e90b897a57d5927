// `npu-llama bench`: prefill and decode throughput, labelled with the device that produced them.
import ArgumentParser
import Foundation
import LlamaCore
import NPUBackend
import ReferenceBackend
import Scheduler
import Tokenizers

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure prefill (ppN) and decode (tgN) tokens per second, like llama-bench.",
        discussion: """
        --device npu and --device reference measure: random prompt ids of --prompt-tokens run in steps of at most 512 \
        (llama-bench's batch), then --gen-tokens greedy decode steps from position 0, --repetitions times; the medians \
        are printed with the device that produced them.

        --device emulator does not measure: it prints the exact counts of one decode token at position 1023 \
        (runs, driver commands, syncs, bytes per argument and shim channel) and a MODELLED NPU time computed from \
        them (labelled modelled), never a measured tok/s. It ignores --prompt-tokens, --gen-tokens and --repetitions.
        """)

    @OptionGroup var options: ModelOptions
    @Option(name: .customLong("prompt-tokens"), parsing: .unconditional,
            help: "Prompt length for the prefill test (ppN). Ignored by --device emulator.", transform: Bounds.promptTokens.parse)
    var promptTokens: Int = 512
    @Option(name: .customLong("gen-tokens"), parsing: .unconditional,
            help: "Tokens for the decode test (tgN), from position 0. Ignored by --device emulator.", transform: Bounds.genTokens.parse)
    var genTokens: Int = 32
    @Option(parsing: .unconditional, help: "Repetitions; the median is reported. Ignored by --device emulator.",
            transform: Bounds.repetitions.parse)
    var repetitions: Int = 3
    @Flag(name: .customLong("encode"), help: "Measure the model's tokenizer instead: encode MB/s on ~1 MB of mixed-language text, one thread.")
    var tokenizerOnly = false
    @Option(name: .customLong("tokenizer"), help: "With --encode: a tokenizer file alone (tokenizer.json, tokenizer.model, or a GGUF, vocabulary-only included) instead of the model's.")
    var tokenizerFile: String?
    @Flag(help: "Print one JSON record instead of a table.")
    var json = false
    @Flag(name: .customLong("shape-only"),
          help: "With --device emulator: read only --model's config.json and stream seeded random weights in the --weights format (q4_0 or bf16; stored: bf16), for a model whose weights are not on disk.")
    var shapeOnly = false

    func run() throws {
        do { try measure() } catch { fail(error) }
    }

    func measure() throws {
        let (device, quiet) = (options.device, options.quiet)
        if let tokenizerFile {
            guard tokenizerOnly else { throw UserFacingError(message: "--tokenizer needs --encode", hint: nil, code: ExitCodes.usage) }
            let path = (tokenizerFile as NSString).expandingTildeInPath
            return try tokenizerThroughput(TokenizerLoader.load(path: path), source: path)
        }
        if shapeOnly {
            guard device == .emulator else {
                throw UserFacingError(message: "--shape-only needs --device emulator (it counts and models, it runs no weights)", hint: nil, code: ExitCodes.usage)
            }
            return try emulatedDecodeCounts(try BenchedModel.shapeOnly(options.model, weights: options.weights))
        }
        let loaded = try options.open()
        if tokenizerOnly { return try tokenizerThroughput(loadTokenizer(for: loaded), source: loaded.path) }
        if device == .emulator { return try emulatedDecodeCounts(BenchedModel(path: loaded.path, config: loaded.config, tensors: loaded.tensors)) }
        let graph = Graph.llama(loaded.config)
        // Every size is checked against the model before anything is allocated.
        for (option, value) in [("--prompt-tokens", promptTokens), ("--gen-tokens", genTokens)] where value > loaded.config.maxContext {
            throw UserFacingError(message: "\(option) \(value) is outside 1…\(loaded.config.maxContext) (the model's context)",
                                  hint: nil, code: ExitCodes.usage)
        }
        let context = max(promptTokens, genTokens)
        let batch = min(promptTokens, Self.maxBatch)
        try MemoryCheck.reference(device: device, config: loaded.config, contextLength: context, maxBatch: batch,
                                  option: promptTokens >= genTokens ? "--prompt-tokens" : "--gen-tokens")
        let backend = try device.makeBackend(graph: graph, model: loaded, contextLength: context, maxBatch: batch,
                                             progress: Progress("converting weights", quiet: quiet || json))
        let generator = Generator(backend: backend)
        let profiled = ProcessInfo.processInfo.environment["NPULLAMA_PROFILE"] != nil
        if profiled, let reference = backend as? ReferenceBackend { reference.profile = [:] }
        var rng = SplitMix64(seed: 42)
        let prompt = (0..<promptTokens).map { _ in Int(rng.next() % UInt64(loaded.config.vocabSize)) }
        let clock = ContinuousClock()
        var pp: [Double] = [], tg: [Double] = []
        _ = try backend.step(tokens: [prompt[0]], start: 0, logitRows: .last, observer: nil)   // warm-up
        for rep in 0..<repetitions {
            note("repetition \(rep + 1)/\(repetitions)", quiet: quiet || json)
            let t0 = clock.now
            _ = try generator.prefill(prompt)
            pp.append(Double(promptTokens) / seconds(clock.now - t0))
            var token = prompt[0]
            let t1 = clock.now
            // Greedy decode as `generate` runs it: an NPU backend takes the argmax on the device and
            // brings back one token id per step.
            for pos in 0..<genTokens {
                token = try backend.nextTokenGreedy(after: token, position: pos)
            }
            tg.append(Double(genTokens) / seconds(clock.now - t1))
        }
        if let reference = backend as? ReferenceBackend, let profile = reference.profile {
            let total = profile.values.reduce(0, +)
            for (kind, t) in profile.sorted(by: { $0.value > $1.value }) {
                FileHandle.standardError.write(Data(String(format: "profile [%@] %-10@ %7.3f s %5.1f%%\n", backend.label, kind, t, 100 * t / total).utf8))
            }
        }
        // The reference runs OpenBLAS single-threaded on its own pool of NPULLAMA_THREADS (default: the cores).
        let threads = ProcessInfo.processInfo.environment["NPULLAMA_THREADS"] ?? "\(ProcessInfo.processInfo.activeProcessorCount) (all cores)"
        var record: [String: Any] = [
            "model": loaded.path, "format": loaded.format.rawValue, "device": device.label,
            "backend": backend.label, "threads": threads,
            "pp_tokens": promptTokens, "tg_tokens": genTokens, "repetitions": repetitions,
            "pp_tok_s_median": median(pp), "tg_tok_s_median": median(tg), "pp_tok_s": pp, "tg_tok_s": tg,
        ]
        if let npu = backend as? NPUBackend {
            let t = npu.counters.lastToken
            record["decode_token_counts"] = ["runs": t.runs, "submissions": t.submissions, "runlist_executes": t.runlistExecutes,
                                             "driver_commands": t.driverCommands, "syncs_to_device": t.syncsToDevice,
                                             "syncs_from_device": t.syncsFromDevice, "bytes_to_device": t.bytesToDevice,
                                             "bytes_from_device": t.bytesFromDevice]
        }
        if json {
            let data = try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print("model: \(loaded.path) (\(loaded.format.rawValue))")
            print("produced by: \(backend.label) — threads: \(threads)")
            print(String(format: "pp%d: %8.1f tok/s (median of %d: %@)", promptTokens, median(pp), repetitions,
                         pp.map { String(format: "%.1f", $0) }.joined(separator: ", ")))
            print(String(format: "tg%d: %8.1f tok/s (median of %d: %@)", genTokens, median(tg), repetitions,
                         tg.map { String(format: "%.1f", $0) }.joined(separator: ", ")))
            if let npu = backend as? NPUBackend {
                // On NPU hardware the times above are measured; these are the device's exact counts.
                let c = npu.counters, t = c.lastToken
                print("per decode token (\(backend.label)): runs \(t.runs), submissions \(t.submissions), runlist executes \(t.runlistExecutes), driver commands \(t.driverCommands), host syncs \(t.syncsToDevice) to device (\(t.bytesToDevice) B) + \(t.syncsFromDevice) from device (\(t.bytesFromDevice) B)")
                print("\(c.tokenCount) decode runlist executions and \(c.chunkCount) prompt chunks (one runlist each: [prefill], the last [prefill, LM head]) in total")
            }
        }
    }
}

extension Bench {
    /// Most prompt tokens per step: llama-bench's default batch (n_ubatch 512), so the buffers stay bounded.
    static let maxBatch = 512

    /// Encode throughput of the model's tokenizer on Golden/tokenizer's 100 KB document repeated to
    /// 1 MB (the text Tools/tokenizer/bench_tiktoken.py measures tiktoken on), best of the repetitions.
    func tokenizerThroughput(_ tokenizer: any Tokenizer, source: String) throws {
        let corpusPath = RepositoryPaths.golden + "/tokenizer/corpus.json"
        guard let data = FileManager.default.contents(atPath: corpusPath),
              let corpus = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let cases = corpus["cases"] as? [[String: Any]],
              let document = cases.first(where: { $0["name"] as? String == "document_100k" })?["text"] as? String else {
            throw UserFacingError(message: "\(corpusPath) lacks the document_100k case", hint: "run from a checkout of the repository", code: ExitCodes.badInput)
        }
        let text = String(repeating: document, count: (1_000_000 + document.utf8.count - 1) / document.utf8.count)
        let clock = ContinuousClock()
        var best = Double.infinity, count = 0
        var digest: UInt64 = 0xCBF2_9CE4_8422_2325
        _ = try tokenizer.encode(String(document.prefix(1000)))   // warm-up
        for _ in 0..<repetitions {
            let t0 = clock.now
            let ids = try tokenizer.encode(text)
            count = ids.count
            // FNV-1a 64 of the ids written as decimal numbers joined by spaces (Tools/tokenizer/bench_reference.py
            // computes the same of the reference library's ids).
            digest = 0xCBF2_9CE4_8422_2325
            for byte in ids.map(String.init).joined(separator: " ").utf8 { digest = (digest ^ UInt64(byte)) &* 0x100_0000_01B3 }
            best = min(best, seconds(clock.now - t0))
        }
        let mbps = Double(text.utf8.count) / best / 1e6
        if json {
            let record: [String: Any] = ["model": source, "tokenizer": "\(type(of: tokenizer))", "tokenizer_kind": tokenizer.kind, "bytes": text.utf8.count,
                                         "tokens": count, "ids_fnv1a64": String(digest, radix: 16), "best_seconds": best, "encode_mb_s": mbps, "threads": 1, "produced_by": "CPU"]
            print(String(decoding: try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys]), as: UTF8.self))
        } else {
            print("tokenizer: \(tokenizer.kind)")
            print(String(format: "tokenizer encode (CPU, 1 thread): %d bytes → %d tokens, best of %d %.1f ms = %.2f MB/s",
                         text.utf8.count, count, repetitions, best * 1e3, mbps))
            print("compare: Tools/tokenizer-speed.sh (HF tokenizers and tiktoken on the same text, same run)")
        }
    }

    /// On the emulated NPU, times mean nothing: print the exact counts of one decode token at position
    /// 1023 (1k context) and the NPU time a cost model gives for them, labelled modelled.
    func emulatedDecodeCounts(_ loaded: BenchedModel) throws {
        let ignored = [("--prompt-tokens", promptTokens != 512), ("--gen-tokens", genTokens != 32), ("--repetitions", repetitions != 3)]
            .filter(\.1).map(\.0)
        if !ignored.isEmpty {
            note("--device emulator prints exact counts and a modelled time, not measured tok/s; ignored: \(ignored.joined(separator: ", "))",
                 quiet: options.quiet || json)
        }
        let manifest = try KernelManifest.load(path: RepositoryPaths.root + "/Kernels/manifest.json")
        // Executing every kernel of a 1B model in the emulation takes minutes; the driver moves and counts every byte
        // without them (counts do not depend on the values).
        let execute = loaded.config.hiddenSize * loaded.config.layerCount <= 576 * 30
        let result = try DecodeBenchmark.run(name: (loaded.path as NSString).lastPathComponent, config: loaded.config,
                                             tensors: loaded.tensors, manifest: manifest, position: 1023, executeKernels: execute)
        if json {
            let t = result.perToken, x = result.traffic
            let record: [String: Any] = [
                "model": loaded.path, "device": "emulated NPU", "time": "modelled", "weights": result.weights,
                "position": result.position, "bucket": result.bucket, "tm": result.layout.tm, "tk": result.layout.tk,
                "lm_head_tm": result.layout.lmHead.tm, "lm_head_tk": result.layout.lmHead.tk,
                "kernels": [result.layout.kernelName(bucket: result.bucket), result.layout.lmHead.kernelName],
                "runs": t.runs, "submissions": t.submissions,
                "runlist_executes": t.runlistExecutes, "driver_commands": t.driverCommands,
                "chain_runs": result.chains.map(\.runs), "chain_payload_bytes": result.chains.map(\.payloadBytes),
                "chain_payload_limit_bytes": result.target.chainPayloadBytes,
                "hw_context_kernels": result.contextKernels, "argument_rebinds": result.argumentRebinds,
                "waits": result.waits,
                "syncs_to_device": t.syncsToDevice, "syncs_from_device": t.syncsFromDevice,
                "bytes_to_device": t.bytesToDevice, "bytes_from_device": t.bytesFromDevice,
                "weight_bytes_streamed": x.weightBytes, "kv_read_bytes": x.kvReadBytes, "kv_write_bytes": x.kvWriteBytes,
                "io_read_bytes": x.activationReadBytes, "io_written_bytes": x.outputBytes, "streamed_bytes": result.streamedBytes,
                "model_weight_bytes": result.naturalWeightBytes, "padding_bytes": result.paddingBytes,
                "channel_bytes": Dictionary(uniqueKeysWithValues: result.channelTotals.map { ($0.key.description, $0.value) }),
                "emulated_channel_bytes": Dictionary(uniqueKeysWithValues: x.channels.map { ($0.key.description, $0.value) }),
                "modelled_seconds_per_token": result.modelledSeconds, "modelled_tok_s": result.modelledTokensPerSecond,
                "modelled_lm_head_seconds": result.lmHeadSeconds,
                "limited_by": result.limits.map { ["limit": $0.limit, "seconds": $0.seconds] },
                "cost_model": result.cost.description,
                "prefill_modelled": try prefillModel(loaded, manifest).map { r in
                    ["prompt_tokens": r.promptTokens, "chunks": r.chunks, "ttft_seconds": r.seconds, "tok_s": r.tokensPerSecond] as [String: Any]
                },
            ]
            print(String(decoding: try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys]), as: UTF8.self))
        } else {
            print(DecodeBenchmark.report([result]))
            try printPrefill(result, loaded, manifest)
        }
    }

    /// The prompt lengths the emulated bench models a TTFT for (issue 17: pp1024 beside llama-bench's pp512 and 2k).
    static let modelledPrompts = [512, 1024, 2048]

    /// The prefill layout at 2048 positions (or the model's longest context if shorter): the modelled prompts' model.
    func prefillLayout(_ loaded: BenchedModel, _ manifest: KernelManifest) throws -> PrefillLayout? {
        let graph = Graph.llama(loaded.config)
        let context = min(2048, loaded.config.maxContext / 64 * 64)
        return try NPUBackend.designs(graph: graph, tensors: loaded.tensors, manifest: manifest, contextLength: context).prefill
    }

    func prefillModel(_ loaded: BenchedModel, _ manifest: KernelManifest) throws -> [PrefillBenchResult] {
        guard let p = try prefillLayout(loaded, manifest) else { return [] }
        return Self.modelledPrompts.filter { $0 <= p.decode.context }.map { PrefillBenchmark.model(p, promptTokens: $0) }
    }

    /// The prefill beside decode: one emulated prompt chunk's exact counts (its runlist [prefill, LM head]), the
    /// layout's per-channel counts they equal, and the modelled pp512 / pp1024 / pp2048.
    func printPrefill(_ result: DecodeBenchResult, _ loaded: BenchedModel, _ manifest: KernelManifest) throws {
        guard let p = try prefillLayout(loaded, manifest), let chunk = result.prefillChunk, let t = result.prefillChunkTraffic,
              let q = result.prefill else {
            let graph = Graph.llama(loaded.config), context = min(2048, loaded.config.maxContext / 64 * 64)
            let why = try NPUBackend.designs(graph: graph, tensors: loaded.tensors, manifest: manifest, contextLength: context).prefillUnsupported
            print("prefill: no prefill design for this model's shapes (prompts run as decode steps)" + (why.map { ": \($0)" } ?? ""))
            return
        }
        print("prefill chunk (emulated NPU, EXACT counts of one \(q.chunk)-row chunk from position 0, \(q.kernelName(bucket: 1)) + "
              + "\(q.decode.lmHead.kernelName) in one runlist): runs \(chunk.runs), runlist executes \(chunk.runlistExecutes), "
              + "driver commands \(chunk.driverCommands), chained runs \((result.prefillChunkChains ?? []).map(\.runs)), host syncs "
              + "\(chunk.syncsToDevice) to device (\(chunk.bytesToDevice) B: pio header, RoPE rows, embeddings) + "
              + "\(chunk.syncsFromDevice) from device (\(chunk.bytesFromDevice) B), 1 set_arg (kv_blk)")
        print(String(format: "  bytes: weights %.2f MB (decode's BO, every byte once per chunk, + lm_weights), KV read %.2f MB, "
                         + "kv_blk written %.2f MB, pio/io read %.2f MB, written %.2f MB",
                     Double(t.weightBytes) / 1e6, Double(t.kvReadBytes) / 1e6, Double(t.kvWriteBytes) / 1e6,
                     Double(t.activationReadBytes) / 1e6, Double(t.outputBytes) / 1e6))
        var expected = q.chunkChannelTotals(start: 0, rows: q.chunk).filter { $0.key.dram }
        for (k, v) in q.decode.lmHeadChannelTotals where k.dram { expected[k, default: 0] += v }
        let counted = t.channels.filter { $0.key.dram }
        print("  shim channels (counted by the driver): " + counted.sorted { $0.key.name < $1.key.name }
            .map { "\($0.key.name) \($0.value)" }.joined(separator: ", ")
            + (counted == expected ? " — equal to the layout's phases" : " — DIFFERENT from the layout's phases"))
        print(PrefillBenchmark.report(p, sizes: Self.modelledPrompts.filter { $0 <= p.decode.context }))
    }
}

/// What the emulated bench reads: a model's path, config and tensors (opened, or seeded random ones of its config.json's shapes).
struct BenchedModel {
    let path: String
    let config: ModelConfig
    let tensors: TensorSource

    /// --shape-only: the config.json of a model folder (or the file itself), RandomWeights in the --weights format.
    static func shapeOnly(_ model: String, weights: WeightsOption) throws -> BenchedModel {
        let path = (model as NSString).expandingTildeInPath
        var isDir: ObjCBool = false
        let file = FileManager.default.fileExists(atPath: path, isDirectory: &isDir) && isDir.boolValue
            ? (path as NSString).appendingPathComponent("config.json") : path
        guard let data = FileManager.default.contents(atPath: file) else {
            throw UserFacingError(message: "--shape-only reads an HF config.json: none at \(file)", hint: nil, code: ExitCodes.badInput)
        }
        let config = try ModelConfig.fromHFConfig(data: data, file: file)
        return BenchedModel(path: path, config: config, tensors: RandomWeights(config, matrices: weights == .q4_0 ? .q4_0 : .bf16))
    }
}

func median(_ values: [Double]) -> Double {
    let s = values.sorted()
    return s.isEmpty ? 0 : (s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2)
}

func seconds(_ d: Duration) -> Double {
    Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
}
