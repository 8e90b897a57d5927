// `npu-llama verify`: checks a device's outputs layer by layer against the fp32 reference and goldens.
import ArgumentParser
import Foundation
import LlamaCore
import ReferenceBackend
import Scheduler

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a device against the fp32 CPU reference and golden outputs, node by node; exit 1 on failure.")

    @OptionGroup var options: ModelOptions
    @Option(help: "Golden folder (manifest.json + .npy); default: the committed golden of the default model.")
    var golden: String?
    @Option(help: "A prompt to verify instead of the golden cases ('-' reads it from standard input; or --file PATH).")
    var prompt: String?
    @OptionGroup var input: PromptInput
    @Option(name: .customLong("decode-steps"), parsing: .unconditional, help: "Greedy decode steps to verify after a --prompt.",
            transform: Bounds.decodeSteps.parse)
    var decodeSteps: Int = 8
    @Option(help: "Compare every node, or only layer boundaries: nodes or layers.")
    var granularity: VerifyGranularity = .nodes
    @Option(help: "Write these nodes' outputs as .npy with a manifest (e.g. 'l_out-*,Qcur-3'); loadable as --golden.")
    var dump: String?
    @Option(name: .customLong("dump-dir"), help: "Folder for --dump.")
    var dumpDir: String = "npu-llama-dump"
    @Option(help: "Also write an HTML report (self-contained) to this file.")
    var html: String?
    @Flag(help: "Print the report as JSON.")
    var json = false

    func run() throws {
        let passed: Bool
        do { passed = try verify() } catch { fail(error) }
        if !passed { throw ExitCode(1) }
    }

    func verify() throws -> Bool {
        let (device, quiet) = (options.device, options.quiet)
        let loaded = try options.open()
        var cases: [(name: String, ids: [Int], steps: Int, golden: (set: GoldenSet, case: GoldenSet.Case)?)] = []
        if let prompt = try input.text(argument: prompt, what: "--prompt") {
            let tokenizer = try loadTokenizer(for: loaded)
            let ids = try tokenizer.encode(prompt, addBOS: tokenizer.addsBOSByDefault, allowSpecial: false)
            guard !ids.isEmpty else { throw UserFacingError(message: "the prompt encodes to no tokens", hint: nil, code: ExitCodes.usage) }
            guard ids.count + decodeSteps + 1 <= loaded.config.maxContext else {
                throw UserFacingError(message: "the prompt is \(ids.count) tokens and --decode-steps \(decodeSteps) adds \(decodeSteps + 1) positions: "
                                          + "\(ids.count + decodeSteps + 1) in all; the model's context holds \(loaded.config.maxContext)",
                                      hint: "shorten the prompt or lower --decode-steps", code: ExitCodes.usage)
            }
            cases.append(("prompt", ids, decodeSteps, nil))
        } else {
            let dir = golden ?? defaultGolden(for: loaded)
            guard let dir else {
                throw UserFacingError(message: "no golden folder for \(loaded.path)", hint: "give --golden DIR or --prompt TEXT", code: ExitCodes.usage)
            }
            let set = try GoldenSet(directory: dir)
            if let sha = set.modelSHA256, loaded.format == .gguf, golden == nil, !quiet {
                note("golden \(set.modelName) (model sha256 \(sha.prefix(12))…)", quiet: quiet || json)
            }
            // The committed golden holds the stored weights' outputs; converted weights are checked on
            // its prompts against the fp32 reference running the same converted weights.
            let promptsOnly = golden == nil && options.weights != .stored
            if promptsOnly {
                note("--weights \(options.weights.rawValue): the golden's prompts, compared with the fp32 reference on the same converted weights (its outputs are of the stored weights)",
                     quiet: quiet || json)
            }
            for c in set.cases { cases.append((c.name, c.promptIDs, c.greedyIDs.count, promptsOnly ? nil : (set, c))) }
        }
        let longest = cases.map { $0.ids.count + $0.steps + 1 }.max() ?? 1
        guard longest <= loaded.config.maxContext else {
            throw UserFacingError(message: "a case needs \(longest) positions; the model holds \(loaded.config.maxContext)", hint: nil, code: ExitCodes.usage)
        }
        // The checked backend, the teacher-forced and the free-running reference each hold a cache of `longest`.
        try MemoryCheck.reference(device: .reference, config: loaded.config, contextLength: longest, maxBatch: longest,
                                  caches: device == .reference ? 3 : 2, option: "--decode-steps",
                                  subject: "a case of \(longest) positions")
        let graph = Graph.llama(loaded.config)
        let progress = Progress("converting weights", quiet: quiet || json)
        let checked = try device.makeBackend(graph: graph, model: loaded, contextLength: longest, maxBatch: longest, progress: progress)
        let weights = try (checked as? ReferenceBackend)?.weights ?? FloatWeights(graph: graph, source: loaded.tensors)
        let verifier = Verifier(checked: checked,
                                teacher: try ReferenceBackend(graph: graph, weights: weights, contextLength: longest, maxBatch: longest),
                                free: try ReferenceBackend(graph: graph, weights: weights, contextLength: longest, maxBatch: longest),
                                granularity: granularity)
        var dumper: TensorDump?
        var captured: [String: (rows: Int, values: [Float])] = [:]
        if let dump {
            let pattern = NodePattern(dump)
            let names = graph.nodes.map(\.name).filter(pattern.matches)
            guard !names.isEmpty else {
                throw UserFacingError(message: "--dump '\(dump)' matches no node", hint: "node names look like l_out-3, Qcur-0, result_output", code: ExitCodes.usage)
            }
            dumper = TensorDump(directory: dumpDir, pattern: pattern, model: loaded.path, device: checked.label)
            verifier.captureNames = Set(names)
            verifier.onPrefillOutputs = { _, outputs in captured = outputs }
        }
        var reports: [CaseReport] = []
        for c in cases {
            note("verifying case \(c.name): \(c.ids.count) prompt tokens, \(c.steps) decode steps on \(checked.label)", quiet: quiet || json)
            let report = try verifier.verifyCase(name: c.name, promptIDs: c.ids, decodeSteps: c.steps, golden: c.golden)
            reports.append(report)
            try dumper?.add(caseName: c.name, promptIDs: c.ids, greedyIDs: report.generatedIDs, outputs: captured)
        }
        let report = VerifyReport(model: loaded.path, device: checked.label, granularity: granularity.rawValue,
                                  cases: reports, table: verifier.tolerances)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(ReportRendering.text(report), terminator: "")
        }
        if let html {
            try ReportRendering.html(report).write(toFile: html, atomically: true, encoding: .utf8)
            note("HTML report: \(html)", quiet: quiet || json)
        }
        if dumper != nil { note("dump: \(dumpDir)/manifest.json (load it with --golden \(dumpDir))", quiet: quiet || json) }
        return report.passed
    }

    /// The committed golden folder whose model matches the loaded model's sha-free identity (by file name; an HF
    /// folder named `model` by its parent's name too, as the golden folders keep theirs).
    func defaultGolden(for loaded: LoadedModel) -> String? {
        var name = (loaded.path as NSString).lastPathComponent
        if name == "model" {
            name = ((loaded.path as NSString).deletingLastPathComponent as NSString).lastPathComponent + "/model"
        }
        let known = ["SmolLM2-135M-Instruct.Q4_1.gguf": "smollm2-135m-instruct-q4_1",
                     "tiny-llama32.bf16.gguf": "tiny-llama32", "tiny-llama32/model": "tiny-llama32",
                     "tiny-llama-spm.bf16.gguf": "tiny-llama-spm", "tiny-llama-spm/model": "tiny-llama-spm",
                     "tiny-qwen2.bf16.gguf": "tiny-qwen2", "tiny-qwen2/model": "tiny-qwen2",
                     "tiny-qwen3.bf16.gguf": "tiny-qwen3", "tiny-qwen3/model": "tiny-qwen3"]
        guard let folder = known[name] else { return nil }
        return (RepositoryPaths.golden as NSString).appendingPathComponent(folder)
    }
}

extension VerifyGranularity: ExpressibleByArgument {}

/// Where the checkout's folders are: from NPULLAMA_ROOT, the current folder, or this source file.
enum RepositoryPaths {
    static var root: String {
        if let root = ProcessInfo.processInfo.environment["NPULLAMA_ROOT"] { return root }
        let cwd = FileManager.default.currentDirectoryPath
        if FileManager.default.fileExists(atPath: cwd + "/Golden") { return cwd }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    }
    static var golden: String { root + "/Golden" }
}
