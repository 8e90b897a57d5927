// Reads an HF tokenizer.json: its BPE model and added tokens, then the byte-level layout as a BytePairDescription.
import Foundation
import LlamaCore

enum TokenizerJSON {
    static let llama3Pattern =
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    /// Qwen2's Split regex as its tokenizer.json spells it (the Llama 3 one with single digits).
    static let qwen2Pattern =
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    /// GPT-2's regex (tokenizers `ByteLevel` with `use_regex`), as a Split pattern.
    static let gpt2Pattern = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#

    /// The Split regexes we reproduce, by the name of the llama.cpp pre-type that uses the same regex.
    static let splitPatterns: [(name: String, pattern: String, splitter: PreTokenizer)] = [
        ("llama3", llama3Pattern, .llama3),
        ("qwen2", qwen2Pattern, .llama3Like(digits: 1, foldLongS: true)),
        ("gpt-2", gpt2Pattern, .gpt2),
    ]

    /// Special tokens taken as end-of-sequence when present (tokenizer.json itself does not say).
    static let knownEOS: Set<String> = ["<|end_of_text|>", "<|eot_id|>", "<|eom_id|>", "<|endoftext|>", "<|im_end|>", "</s>"]

    /// The parts of a tokenizer.json every layout shares: the BPE model and the added tokens.
    struct Model {
        var root: [String: Any]
        /// Model vocabulary by id (ids are positions).
        var vocabulary: [String]
        var vocab: [String: Any]
        var merges: [(String, String)]
        var added: [AddedToken]
        /// Added tokens whose `normalized` flag is true (matched on normalized text by HF).
        var normalizedAdded: [String]
        var unknownID: Int?
        var ignoreMerges: Bool
        var byteFallback: Bool
        var fuseUnknown: Bool
    }

    static func bad(_ file: String, _ key: String, _ what: String) -> ModelFileError {
        ModelFileError(.badValue, file: file, "\(key): \(what)")
    }

    static func unsupported(_ file: String, _ key: String, _ value: Any?) -> ModelFileError {
        ModelFileError(.badValue, file: file, "\(key): \(compact(value)) is not supported")
    }

    /// Parses the JSON and its BPE model (vocabulary, merges in string or pair form, settings) and added tokens.
    static func model(_ data: [UInt8], file: String) throws(ModelFileError) -> Model {
        func bad(_ key: String, _ what: String) -> ModelFileError { Self.bad(file, key, what) }
        let parsed: Any
        do { parsed = try JSONSerialization.jsonObject(with: Data(data)) } catch {
            throw ModelFileError(.badHeader, file: file, "not valid JSON (\(error.localizedDescription))")
        }
        guard let root = parsed as? [String: Any] else { throw ModelFileError(.badHeader, file: file, "top level is not a JSON object") }
        guard let model = root["model"] as? [String: Any] else { throw bad("model", "missing or not an object") }
        guard (model["type"] as? String) == "BPE" else {
            let what = ["WordPiece": "WordPiece (BERT)", "Unigram": "Unigram (T5, SentencePiece unigram)", "WordLevel": "WordLevel"]
            let type = model["type"] as? String
            throw ModelFileError(.badValue, file: file, "model.type: \(compact(model["type"]))\(type.flatMap { what[$0] }.map { " (\($0))" } ?? "") is not supported; supported: \"BPE\" (byte-level, or SentencePiece-style with byte fallback)")
        }
        guard let vocab = model["vocab"] as? [String: Any] else { throw bad("model.vocab", "missing or not an object") }
        for key in ["continuing_subword_prefix", "end_of_word_suffix"] {
            if let v = model[key], !isNull(v), (v as? String) != "" { throw unsupported(file, "model.\(key)", v) }
        }
        if let v = model["dropout"], !isNull(v) { throw unsupported(file, "model.dropout", v) }

        // Keys byte-exact, from our own scan (the dictionary above may have merged canonically equal keys).
        let scanned: [(key: String, id: Int)]?
        do { scanned = try JSONVocabScanner.vocab(data) } catch { throw bad("model.vocab", "\(error.what) at byte \(error.offset)") }
        guard let entries = scanned else { throw bad("model.vocab", "missing or not an object") }
        var vocabulary = [String?](repeating: nil, count: entries.count)
        var seen = Set<[UInt8]>()
        seen.reserveCapacity(entries.count)
        for (token, id) in entries {
            guard id < entries.count else { throw bad("model.vocab", "id \(id) leaves ids below it unused (\(entries.count) tokens)") }
            if vocabulary[id] != nil { throw bad("model.vocab", "id \(id) is given to two tokens") }
            guard seen.insert(Array(token.utf8)).inserted else { throw bad("model.vocab", "token \"\(token)\" appears twice") }
            vocabulary[id] = token
        }
        if let hole = vocabulary.firstIndex(where: { $0 == nil }) { throw bad("model.vocab", "no token has id \(hole)") }

        guard let rawMerges = model["merges"] as? [Any] else { throw bad("model.merges", "missing or not an array") }
        var merges: [(String, String)] = []
        merges.reserveCapacity(rawMerges.count)
        for (i, m) in rawMerges.enumerated() {
            if let s = m as? String, let space = s.firstIndex(of: " ") {
                merges.append((String(s[..<space]), String(s[s.index(after: space)...])))
            } else if let p = m as? [Any], p.count == 2, let a = p[0] as? String, let b = p[1] as? String {
                merges.append((a, b))
            } else {
                throw bad("model.merges[\(i)]", "expected \"left right\" or [left, right]")
            }
        }

        var added: [AddedToken] = []
        var normalizedAdded: [String] = []
        for (i, item) in ((root["added_tokens"] as? [Any]) ?? []).enumerated() {
            let key = "added_tokens[\(i)]"
            guard let t = item as? [String: Any], let id = t["id"] as? Int, id >= 0, id < Int(Int32.max),
                  let content = t["content"] as? String, !content.isEmpty else {
                throw bad(key, "expected an object with id and content")
            }
            for flag in ["lstrip", "rstrip", "single_word"] where (t[flag] as? Bool) == true {
                throw unsupported(file, "\(key).\(flag)", true)
            }
            let special = (t["special"] as? Bool) ?? false
            if (t["normalized"] as? Bool) ?? !special { normalizedAdded.append(content) }
            added.append(AddedToken(id: id, content: content, special: special))
        }
        // Added tokens follow the model vocabulary (an id past them would leave unused ids).
        if let big = added.map(\.id).max(), big >= vocabulary.count + added.count {
            throw bad("added_tokens", "id \(big) leaves unused ids after the \(vocabulary.count) model tokens and \(added.count) added tokens")
        }

        var unknownID: Int?
        if let unk = model["unk_token"] as? String {
            guard let id = vocab[unk] as? Int else { throw bad("model.unk_token", "\"\(unk)\" is not in the vocabulary") }
            unknownID = id
        }
        return Model(root: root, vocabulary: vocabulary.map { $0! }, vocab: vocab, merges: merges, added: added,
                     normalizedAdded: normalizedAdded, unknownID: unknownID,
                     ignoreMerges: (model["ignore_merges"] as? Bool) ?? false,
                     byteFallback: (model["byte_fallback"] as? Bool) ?? false,
                     fuseUnknown: (model["fuse_unk"] as? Bool) ?? false)
    }

    /// Whether the file is laid out as a SentencePiece-style BPE (Llama 2, Mistral): byte fallback, Metaspace,
    /// ▁ normalizers or decoders; otherwise it must be byte-level.
    static func isSentencePieceStyle(_ m: Model) -> Bool {
        if m.byteFallback { return true }
        let types = stepTypes(m.root["normalizer"]) + stepTypes(m.root["pre_tokenizer"]) + stepTypes(m.root["decoder"])
        return types.contains { ["Metaspace", "Prepend", "ByteFallback", "Fuse", "Strip", "Replace"].contains($0) }
    }

    /// The `type` of a component and of the members of a `Sequence`.
    static func stepTypes(_ v: Any?) -> [String] {
        guard let o = v as? [String: Any], let type = o["type"] as? String else { return [] }
        guard type == "Sequence" else { return [type] }
        let list = (o["normalizers"] ?? o["pretokenizers"] ?? o["decoders"] ?? o["processors"]) as? [Any] ?? []
        return list.flatMap { stepTypes($0) }
    }

    /// A byte-level tokenizer.json (GPT-2 style: ByteLevel pre-tokenizer and decoder) as a BytePairDescription.
    static func describe(_ data: [UInt8], file: String) throws(ModelFileError) -> BytePairDescription {
        try describeByteLevel(model(data, file: file), file: file)
    }

    static func describeByteLevel(_ m: Model, file: String) throws(ModelFileError) -> BytePairDescription {
        let root = m.root
        if m.byteFallback { throw unsupported(file, "model.byte_fallback", true) }
        var nfc = false
        if let v = root["normalizer"], !isNull(v) {
            guard (v as? [String: Any])?["type"] as? String == "NFC" else { throw unsupported(file, "normalizer", v) }
            nfc = true
            if let t = m.normalizedAdded.first {
                throw bad(file, "added_tokens", "\"\(t)\" is matched on normalized text (\"normalized\": true), which is not supported with a normalizer")
            }
        }
        if let v = root["decoder"], !isNull(v), !isByteLevel(v) { throw unsupported(file, "decoder", v) }
        let pre = root["pre_tokenizer"]
        guard let preTokenizer = recognize(pre) else {
            if let regex = splitRegex(pre) {
                throw bad(file, "pre_tokenizer", "the Split regex \(compact(regex)) is not one we reproduce (known: \(splitPatterns.map(\.name).joined(separator: ", ")))")
            }
            throw unsupported(file, "pre_tokenizer", pre)
        }
        let bos = try bosFromTemplate(root["post_processor"], added: m.added, vocab: m.vocab, file: file)
        let eos = Set(m.added.filter { $0.special && knownEOS.contains($0.content) }.map(\.id))
        return BytePairDescription(
            vocabulary: m.vocabulary, merges: m.merges, preTokenizer: preTokenizer,
            ignoreMerges: m.ignoreMerges, added: m.added,
            bosID: bos, padID: nil, eosIDs: eos, addBOS: bos != nil, unknownID: m.unknownID, normalizeNFC: nfc)
    }

    /// The name of a recognized pre-tokenizer (the llama.cpp pre-type with the same splitting), for `inspect`.
    static func name(_ p: PreTokenizer) -> String {
        switch p {
        case .gpt2: return "gpt-2"
        case .gpt2SingleDigits: return "gpt-2 + single digits (smollm)"
        default: return splitPatterns.first { $0.splitter == p }?.name ?? "\(p)"
        }
    }

    /// The pre-tokenizers we reproduce exactly.
    static func recognize(_ pre: Any?) -> PreTokenizer? {
        guard let pre = pre as? [String: Any], let type = pre["type"] as? String else { return nil }
        if type == "ByteLevel" { return byteLevel(pre, regex: true) ? .gpt2 : nil }
        guard type == "Sequence", let steps = pre["pretokenizers"] as? [[String: Any]], steps.count == 2 else { return nil }
        let (a, b) = (steps[0], steps[1])
        if a["type"] as? String == "Digits", a["individual_digits"] as? Bool == true, byteLevel(b, regex: true) {
            return .gpt2SingleDigits
        }
        if a["type"] as? String == "Split", let pattern = (a["pattern"] as? [String: Any])?["Regex"] as? String,
           let known = splitPatterns.first(where: { $0.pattern == pattern }),
           a["behavior"] as? String == "Isolated", (a["invert"] as? Bool) != true, byteLevel(b, regex: false) {
            return known.splitter
        }
        return nil
    }

    /// The Split regex of a byte-level pre-tokenizer, for naming it in an error.
    static func splitRegex(_ pre: Any?) -> String? {
        guard let steps = (pre as? [String: Any])?["pretokenizers"] as? [[String: Any]] else { return nil }
        return steps.lazy.compactMap { ($0["pattern"] as? [String: Any])?["Regex"] as? String }.first
    }

    private static func byteLevel(_ step: [String: Any], regex: Bool) -> Bool {
        step["type"] as? String == "ByteLevel" && (step["add_prefix_space"] as? Bool) != true
            && ((step["use_regex"] as? Bool) ?? true) == regex
    }

    private static func isByteLevel(_ v: Any) -> Bool { (v as? [String: Any])?["type"] as? String == "ByteLevel" }

    static func isNull(_ v: Any) -> Bool { v is NSNull }

    /// BOS from a TemplateProcessing post-processor (alone or in a Sequence) whose single template
    /// starts with a special token.
    static func bosFromTemplate(_ post: Any?, added: [AddedToken], vocab: [String: Any],
                                file: String) throws(ModelFileError) -> Int? {
        guard let post = post as? [String: Any] else { return nil }
        let steps = post["type"] as? String == "Sequence" ? (post["processors"] as? [[String: Any]] ?? []) : [post]
        for step in steps where step["type"] as? String == "TemplateProcessing" {
            guard let single = step["single"] as? [[String: Any]], let first = single.first,
                  let special = first["SpecialToken"] as? [String: Any], let name = special["id"] as? String else { return nil }
            if let table = step["special_tokens"] as? [String: Any], let entry = table[name] as? [String: Any],
               let ids = entry["ids"] as? [Int], ids.count == 1 {
                return ids[0]
            }
            if let t = added.first(where: { $0.content == name }) { return t.id }
            if let id = vocab[name] as? Int { return id }
            throw ModelFileError(.inconsistent, file: file, "post_processor: template token \"\(name)\" has no id")
        }
        return nil
    }

    static func compact(_ v: Any?) -> String {
        guard let v, !(v is NSNull) else { return "null" }
        if let s = v as? String { return "\"\(s)\"" }
        if JSONSerialization.isValidJSONObject(v),
           let d = try? JSONSerialization.data(withJSONObject: v, options: [.sortedKeys]) {
            let s = String(decoding: d, as: UTF8.self)
            return s.count > 200 ? String(s.prefix(200)) + "…" : s
        }
        return "\(v)"
    }
}
