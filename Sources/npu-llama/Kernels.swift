// `npu-llama kernels build|list|clean`: the NPU kernels a model needs, their build and their cache.
import ArgumentParser
import Foundation
import LlamaCore
import NPUBackend

struct Kernels: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The NPU kernels a model needs: list the plan, build them (mlir-aie + Peano), or clean the cache.",
        subcommands: [List.self, Build.self, Clean.self])

    static var cacheDirectory: String { KernelBuildKey.cacheDirectory }

    struct Target: ParsableArguments {
        @Option(help: "Model (path or short name).")
        var model: String = ModelResolution.defaultModel
        @Option(parsing: .unconditional, help: "KV cache length the kernels serve (at most the model's maximum).",
                transform: Bounds.kernelContext.parse)
        var ctx: Int = 4096
        @Option(parsing: .unconditional, help: "Prefill rows per step.", transform: Bounds.chunk.parse)
        var chunk: Int = 64
        @Option(help: ArgumentHelp(stringLiteral: WeightsOption.help))
        var weights: WeightsOption = .stored

        /// The weight types NPUBackend uploads: Q4_1 / Q4_0 projections when the model stores them so (or
        /// --weights q4_0), else bf16; the LM head likewise.
        func weightTypes(_ model: LoadedModel) -> (projection: DType, lmHead: DType) {
            BuiltKernels.weightTypes(graph: Graph.llama(model.config), tensors: model.tensors)
        }

        /// The --model, opened, with --weights applied; --ctx checked against the model's maximum.
        func open() throws -> LoadedModel {
            let loaded = weights.apply(try ModelResolution.open(model))
            try Bounds.checkContext(ctx, option: "--ctx", modelMaximum: loaded.config.maxContext)
            return loaded
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List every kernel instance the model needs, with its per-core and memory-tile buffers.")
        @OptionGroup var target: Target

        func run() throws {
            do {
                let loaded = try target.open()
                let (projection, head) = target.weightTypes(loaded)
                let manifest = try KernelManifest.load(path: RepositoryPaths.root + "/Kernels/manifest.json")
                let plan = try KernelPlan(manifest: manifest, config: loaded.config, projectionWeights: projection,
                                          lmHeadWeights: head, context: target.ctx, chunk: target.chunk)
                print("kernel plan for \(loaded.path): projections \(projection.rawValue), LM head \(head.rawValue), ctx \(target.ctx), chunk \(target.chunk)")
                print(pad("use", 26) + pad("kernel", 20) + pad("tiling", 30) + pad("core bytes", 12) + pad("memtile bytes", 15) + "entries")
                for i in plan.instances {
                    let tiling = i.tiling.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
                    print(pad(i.use, 26) + pad(i.kernel, 20) + pad(tiling, 30) + pad("\(i.coreBytes)", 12) + pad("\(i.memTileBytes)", 15)
                          + i.entries.joined(separator: ","))
                }
                let designs = try DecodeDesigns(manifest: manifest, config: loaded.config, projectionDType: projection,
                                                lmHeadDType: head, context: Device.kernelContext(target.ctx, Graph.llama(loaded.config)))
                let l = designs.layout
                let tried = l.candidates.map { "tm \($0.tm) → \($0.paddedRows.map { "\($0) padded rows" } ?? "excluded")" }.joined(separator: ", ")
                let lm = l.lmHead
                let lmTried = lm.candidates.map { "tm \($0.tm) → \($0.paddedRows.map { "\($0) padded rows" } ?? "excluded")" }.joined(separator: ", ")
                print("decode token (one runlist per token: the decode token run, then the LM head run): gemv tm \(l.tm), tk \(l.tk) (\(tried)); "
                      + "LM head \(lm.dtype.rawValue) tm \(lm.tm), tk \(lm.tk) (\(lmTried)); weights BO \(l.weightsBytes) B, "
                      + "lm_weights BO \(lm.weightsBytes) B, KV \(2 * l.kvElements) B, io \(2 * l.ioElements) B; "
                      + "kernels: \(designs.all.map(\.kernelName).joined(separator: ", "))")
                for line in NPUPathSummary.lines(config: loaded.config, tensors: loaded.tensors, context: target.ctx) { print(line) }
                let builds = ((try? FileManager.default.contentsOfDirectory(atPath: Kernels.cacheDirectory)) ?? []).filter { !$0.hasPrefix(".") }
                print("cache: \(Kernels.cacheDirectory) — \(builds.isEmpty ? "empty (npu-llama kernels build)" : "\(builds.count) build(s)")")
            } catch { fail(error) }
        }
    }

    struct Build: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Build the model's kernels into xclbins + instruction streams (needs mlir-aie and Peano); cached.")
        @OptionGroup var target: Target

        func run() throws {
            let status: Int32
            do {
                let loaded = try target.open()
                let (projection, head) = target.weightTypes(loaded)
                let c = loaded.config
                // The build script reads the model's dimensions from an HF-style config.
                let config: [String: Any] = [
                    "hidden_size": c.hiddenSize, "intermediate_size": c.intermediateSize, "num_attention_heads": c.headCount,
                    "num_key_value_heads": c.kvHeadCount, "head_dim": c.headDim, "vocab_size": c.vocabSize,
                    "num_hidden_layers": c.layerCount, "rms_norm_eps": Double(c.rmsNormEps),
                    "rope_pairing": c.ropePairing.rawValue,
                ]
                // The directory --device npu looks in (BuiltKernels), for the same context rounding.
                let graph = Graph.llama(c)
                let ctx = Device.kernelContext(target.ctx, graph)
                let outDir = BuiltKernels.directory(graph: graph, tensors: loaded.tensors, contextLength: ctx)
                let configPath = FileManager.default.temporaryDirectory.appendingPathComponent("npu-llama-kernels-\(getpid()).json").path
                try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: configPath))
                defer { try? FileManager.default.removeItem(atPath: configPath) }
                let process = Process()
                process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
                process.arguments = ["python3", RepositoryPaths.root + "/Tools/build-kernels.py", "--config", configPath,
                                     "--weights", projection.rawValue.lowercased(), "--lm-head", head.rawValue.lowercased(),
                                     "--ctx", "\(ctx)", "--chunk", "\(BuiltKernels.chunk)", "--out-dir", outDir]
                try process.run()
                process.waitUntilExit()
                status = process.terminationStatus
            } catch { fail(error) }
            if status == 2 { throw ExitCode(ExitCodes.noDevice) }
            if status != 0 { throw ExitCode(ExitCodes.runtime) }
        }
    }

    struct Clean: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove every cached kernel build.")
        func run() throws {
            let dir = Kernels.cacheDirectory
            guard FileManager.default.fileExists(atPath: dir) else { print("nothing to clean (\(dir))"); return }
            do { try FileManager.default.removeItem(atPath: dir) } catch { fail(error) }
            print("removed \(dir)")
        }
    }
}
