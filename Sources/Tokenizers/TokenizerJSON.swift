// Reads an HF tokenizer.json (BPE model, byte-level pre-tokenizer) into a BytePairDescription.
import Foundation
import LlamaCore

enum TokenizerJSON {
    static let llama3Pattern =
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    /// Special tokens taken as end-of-sequence when present (tokenizer.json itself does not say).
    static let knownEOS: Set<String> = ["<|end_of_text|>", "<|eot_id|>", "<|eom_id|>", "<|endoftext|>", "<|im_end|>", "</s>"]

    static func describe(_ data: [UInt8], file: String) throws(ModelFileError) -> BytePairDescription {
        func bad(_ key: String, _ what: String) -> ModelFileError { ModelFileError(.badValue, file: file, "\(key): \(what)") }
        func unsupported(_ key: String, _ value: Any?) -> ModelFileError {
            ModelFileError(.badValue, file: file, "\(key): \(compact(value)) is not supported")
        }
        let parsed: Any
        do { parsed = try JSONSerialization.jsonObject(with: Data(data)) } catch {
            throw ModelFileError(.badHeader, file: file, "not valid JSON (\(error.localizedDescription))")
        }
        guard let root = parsed as? [String: Any] else { throw ModelFileError(.badHeader, file: file, "top level is not a JSON object") }
        guard let model = root["model"] as? [String: Any] else { throw bad("model", "missing or not an object") }
        guard (model["type"] as? String) == "BPE" else { throw unsupported("model.type", model["type"]) }
        guard let vocab = model["vocab"] as? [String: Any] else { throw bad("model.vocab", "missing or not an object") }
        for key in ["continuing_subword_prefix", "end_of_word_suffix"] {
            if let v = model[key], !isNull(v), (v as? String) != "" { throw unsupported("model.\(key)", v) }
        }
        if let v = model["dropout"], !isNull(v) { throw unsupported("model.dropout", v) }
        if (model["byte_fallback"] as? Bool) == true { throw unsupported("model.byte_fallback", true) }
        if let v = root["normalizer"], !isNull(v) { throw unsupported("normalizer", v) }
        if let v = root["decoder"], !isNull(v), !isByteLevel(v) { throw unsupported("decoder", v) }

        var vocabulary = [String?](repeating: nil, count: vocab.count)
        for (token, value) in vocab {
            guard let id = value as? Int, id >= 0 else { throw bad("model.vocab[\"\(token)\"]", "id is not a non-negative integer") }
            if id >= vocabulary.count { vocabulary.append(contentsOf: repeatElement(nil, count: id + 1 - vocabulary.count)) }
            if vocabulary[id] != nil { throw bad("model.vocab", "id \(id) is given to two tokens") }
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
        for (i, item) in ((root["added_tokens"] as? [Any]) ?? []).enumerated() {
            let key = "added_tokens[\(i)]"
            guard let t = item as? [String: Any], let id = t["id"] as? Int, id >= 0, let content = t["content"] as? String,
                  !content.isEmpty else { throw bad(key, "expected an object with id and content") }
            for flag in ["lstrip", "rstrip", "single_word"] where (t[flag] as? Bool) == true {
                throw unsupported("\(key).\(flag)", true)
            }
            added.append(AddedToken(id: id, content: content, special: (t["special"] as? Bool) ?? false))
        }

        let pre = root["pre_tokenizer"]
        guard let preTokenizer = recognize(pre) else { throw unsupported("pre_tokenizer", pre) }

        var unknownID: Int?
        if let unk = model["unk_token"] as? String {
            guard let id = vocab[unk] as? Int else { throw bad("model.unk_token", "\"\(unk)\" is not in the vocabulary") }
            unknownID = id
        }
        let bos = try bosFromTemplate(root["post_processor"], added: added, vocab: vocab, file: file)
        let eos = Set(added.filter { $0.special && knownEOS.contains($0.content) }.map(\.id))
        return BytePairDescription(
            vocabulary: vocabulary.map { $0! }, merges: merges, preTokenizer: preTokenizer,
            ignoreMerges: (model["ignore_merges"] as? Bool) ?? false, added: added,
            bosID: bos, padID: nil, eosIDs: eos, addBOS: bos != nil, unknownID: unknownID)
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
        if a["type"] as? String == "Split", (a["pattern"] as? [String: Any])?["Regex"] as? String == llama3Pattern,
           a["behavior"] as? String == "Isolated", (a["invert"] as? Bool) != true, byteLevel(b, regex: false) {
            return .llama3
        }
        return nil
    }

    private static func byteLevel(_ step: [String: Any], regex: Bool) -> Bool {
        step["type"] as? String == "ByteLevel" && (step["add_prefix_space"] as? Bool) != true
            && ((step["use_regex"] as? Bool) ?? true) == regex
    }

    private static func isByteLevel(_ v: Any) -> Bool { (v as? [String: Any])?["type"] as? String == "ByteLevel" }

    private static func isNull(_ v: Any) -> Bool { v is NSNull }

    /// BOS from a TemplateProcessing post-processor (alone or in a Sequence) whose single template
    /// starts with a special token.
    private static func bosFromTemplate(_ post: Any?, added: [AddedToken], vocab: [String: Any],
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

    private static func compact(_ v: Any?) -> String {
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
