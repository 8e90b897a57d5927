// `npu-llama inspect`: what a model file holds — architecture, tensor groups, sizes, tokenizer, template.
import ArgumentParser
import Foundation
import LlamaCore
import Tokenizers

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Describe a model: config, tensors by group, sizes, tokenizer and chat template.")

    @Argument(help: "HF folder, .gguf file, or a short name.")
    var path: String
    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        do { try inspect() } catch { fail(error) }
    }

    /// Bytes a tensor takes once uploaded to the NPU: Q4_1 / Q4_0 blocks stay as they are; all else is bf16.
    static func uploadedBytes(_ info: TensorInfo) -> Int {
        info.dtype == .q4_1 || info.dtype == .q4_0 ? (info.dtype.byteCount(elements: info.elementCount) ?? 0) : info.elementCount * 2
    }

    func inspect() throws {
        if let tokenizerFile = Self.tokenizerOnlyFile(path) { return try inspectTokenizer(tokenizerFile) }
        let model = try ModelResolution.open(path)
        let c = model.config
        var groups: [String: (count: Int, params: Int, dtypes: [String: Int], stored: Int, uploaded: Int)] = [:]
        for name in model.tensors.tensorNames {
            guard let info = model.tensors.info(name) else { continue }
            let group = name.replacingOccurrences(of: #"^blk\.\d+\."#, with: "blk.*.", options: .regularExpression)
            var g = groups[group] ?? (0, 0, [:], 0, 0)
            g.count += 1
            g.params += info.elementCount
            g.dtypes[info.dtype.rawValue, default: 0] += 1
            g.stored += info.dtype.byteCount(elements: info.elementCount) ?? 0
            g.uploaded += Self.uploadedBytes(info)
            groups[group] = g
        }
        let params = groups.values.reduce(0) { $0 + $1.params }
        let onDisk = model.format == .gguf ? fileSize(model.path)
            : ((try? FileManager.default.contentsOfDirectory(atPath: model.path)) ?? [])
                .filter { $0.hasSuffix(".safetensors") }.reduce(0) { $0 + fileSize(model.path + "/" + $1) }
        let uploaded = groups.values.reduce(0) { $0 + $1.uploaded }
        let loadedTokenizer = Result { try loadTokenizer(for: model) }
        let tokenizer = try? loadedTokenizer.get()
        var templateLine = "none (generate --chat, chat and serve's chat endpoint need --chat-format NAME)"
        var template: ModelChatTemplate?
        do {
            template = try tokenizer.flatMap { try modelChatTemplate(model, tokenizer: $0) }
            if let t = template { templateLine = "\(t.origin), \(t.template.source.unicodeScalars.count) characters, compiles" }
        } catch {
            templateLine = "present but not usable: \(error)"
        }
        if json {
            let record: [String: Any] = [
                "path": model.path, "format": model.format.rawValue, "architecture": c.family.rawValue,
                "layers": c.layerCount, "hidden": c.hiddenSize, "ffn": c.intermediateSize, "heads": c.headCount,
                "kv_heads": c.kvHeadCount, "head_dim": c.headDim, "vocab": c.vocabSize, "max_context": c.maxContext,
                "rope_theta": c.ropeTheta, "rope_pairing": c.ropePairing.rawValue, "tied_embeddings": c.tiedEmbeddings,
                "parameters": params, "bytes_on_disk": onDisk, "bytes_after_upload": uploaded,
                "tokenizer": tokenizer.map { String(describing: type(of: $0)) } ?? NSNull(),
                "tokenizer_kind": tokenizer?.kind ?? NSNull(),
                "tokenizer_error": loadedTokenizer.errorText ?? NSNull(),
                "chat_template": template?.template.source ?? NSNull(),
                "chat_template_origin": template?.origin ?? NSNull(),
                "chat_template_status": templateLine,
                "tensor_groups": groups.mapValues { ["count": $0.count, "parameters": $0.params, "dtypes": $0.dtypes, "bytes": $0.stored, "bytes_after_upload": $0.uploaded] },
            ]
            print(String(decoding: try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys, .prettyPrinted]), as: UTF8.self))
            return
        }
        print("model:        \(model.path) (\(model.format.rawValue))")
        print("architecture: \(c.family.rawValue) — \(c.layerCount) layers, hidden \(c.hiddenSize), ffn \(c.intermediateSize), heads \(c.headCount)/\(c.kvHeadCount) (GQA \(c.groupSize):1), head_dim \(c.headDim)")
        print("vocab \(c.vocabSize), context \(c.maxContext), rope θ \(c.ropeTheta) \(c.ropePairing.rawValue) pairing, scaling \(describe(c.ropeScaling)), eps \(c.rmsNormEps), \(c.tiedEmbeddings ? "tied" : "untied") LM head")
        print(String(format: "parameters:   %.1f M", Double(params) / 1e6))
        print("size:         \(megabytes(onDisk)) on disk, \(megabytes(uploaded)) after upload to the NPU (bf16; Q4_1 and Q4_0 kept as is)")
        print("tokenizer:    \(tokenizer.map { "\($0.kind), \($0.vocabularySize) tokens" } ?? "none: \(loadedTokenizer.errorText ?? "")")")
        if model.tensors.tensorNames.isEmpty { print("tensors:      none (a vocabulary-only file)") }
        print("chat template: \(templateLine)")
        print("\ntensor group                      count   params       dtypes                bytes       after upload")
        for (name, g) in groups.sorted(by: { $0.key < $1.key }) {
            let dtypes = g.dtypes.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: " ")
            print(pad(name, 34) + pad("\(g.count)", 8) + pad(String(format: "%.2fM", Double(g.params) / 1e6), 13)
                  + pad(dtypes, 22) + pad(megabytes(g.stored), 12) + megabytes(g.uploaded))
        }
    }
}

extension Inspect {
    /// A tokenizer file given alone (tokenizer.json, tokenizer.model, or a GGUF without tensors such as
    /// llama.cpp's test vocabularies, of any architecture), which `inspect` describes by itself.
    static func tokenizerOnlyFile(_ path: String) -> String? {
        let p = (path as NSString).expandingTildeInPath
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: p, isDirectory: &isDirectory), !isDirectory.boolValue else { return nil }
        if p.hasSuffix(".json") || p.hasSuffix(".model") { return p }
        if p.hasSuffix(".gguf"), let g = try? GGUFFile(path: p), g.tensors.isEmpty { return p }
        return nil
    }

    func inspectTokenizer(_ path: String) throws {
        let t = try TokenizerLoader.load(path: path)
        if json {
            let record: [String: Any] = ["path": path, "tokenizer": "\(type(of: t))", "tokenizer_kind": t.kind,
                                         "vocabulary_size": t.vocabularySize, "bos": t.bosID ?? NSNull(),
                                         "eos": t.eosIDs.sorted(), "adds_bos": t.addsBOSByDefault]
            print(String(decoding: try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys, .prettyPrinted]), as: UTF8.self))
            return
        }
        print("tokenizer:    \(path)\(path.hasSuffix(".gguf") ? " (GGUF without tensors: vocabulary only)" : "")")
        print("kind:         \(t.kind)")
        print("vocabulary:   \(t.vocabularySize) tokens; BOS \(t.bosID.map(String.init) ?? "none")\(t.addsBOSByDefault ? " (added by default)" : ""); end of generation \(t.eosIDs.sorted())")
    }
}

extension Result {
    /// The failure's description, or nil on success.
    var errorText: String? {
        if case .failure(let e) = self { return "\(e)" }
        return nil
    }
}

func describe(_ scaling: RopeScaling) -> String {
    switch scaling {
    case .none: return "none"
    case .linear(let f): return "linear ×\(f)"
    case let .llama3(f, low, high, original): return "llama3 (factor \(f), low \(low), high \(high), original \(original))"
    case .perDimension(let factors): return "per-dimension (rope_freqs, \(factors.count) factors)"
    }
}

func fileSize(_ path: String) -> Int {
    ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue ?? 0
}

func megabytes(_ bytes: Int) -> String { String(format: "%.1f MB", Double(bytes) / 1e6) }

func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s + " " : s + String(repeating: " ", count: n - s.count) }

