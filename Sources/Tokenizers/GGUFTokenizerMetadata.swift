// Reads a GPT-2 style byte-level BPE tokenizer out of GGUF metadata (llama.cpp's `tokenizer.ggml.*` keys).
import LlamaCore

enum GGUFTokenizerMetadata {
    /// llama.cpp `tokenizer.ggml.pre` names, by the regex they stand for.
    static func preTokenizer(_ name: String?) -> PreTokenizer? {
        switch name ?? "default" {
        case "default", "gpt2", "gpt-2", "mpt", "olmo", "jais": return .gpt2
        case "smollm", "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva": return .gpt2SingleDigits
        case "llama3", "llama-v3", "llama-bpe", "falcon3", "smaug-bpe", "dbrx", "pixtral": return .llama3
        default: return nil
        }
    }

    static func describe(_ m: [String: GGUFValue], file: String) throws(ModelFileError) -> BytePairDescription {
        func missing(_ key: String) -> ModelFileError { ModelFileError(.missingKey, file: file, "metadata key \(key) is missing") }
        func bad(_ key: String, _ what: String) -> ModelFileError { ModelFileError(.badMetadata, file: file, "metadata key \(key): \(what)") }
        func strings(_ key: String) throws(ModelFileError) -> [String] {
            guard let v = m[key] else { throw missing(key) }
            guard let a = v.arrayValue else { throw bad(key, "expected an array of strings") }
            var out: [String] = []
            out.reserveCapacity(a.count)
            for (i, e) in a.enumerated() {
                guard let s = e.stringValue else { throw bad(key, "element \(i) is not a string") }
                out.append(s)
            }
            return out
        }
        func optionalID(_ key: String) throws(ModelFileError) -> Int? {
            guard let v = m[key] else { return nil }
            guard let i = v.intValue else { throw bad(key, "expected an integer") }
            return i
        }

        let model = m["tokenizer.ggml.model"]?.stringValue
        guard let model else { throw missing("tokenizer.ggml.model") }
        guard model == "gpt2" else {
            throw bad("tokenizer.ggml.model", "\"\(model)\" is not supported (only \"gpt2\" byte-level BPE)")
        }
        let preName = m["tokenizer.ggml.pre"]?.stringValue
        guard let pre = preTokenizer(preName) else {
            throw bad("tokenizer.ggml.pre", "pre-tokenizer \"\(preName ?? "")\" is not supported")
        }
        let tokens = try strings("tokenizer.ggml.tokens")
        var merges: [(String, String)] = []
        for (i, s) in try strings("tokenizer.ggml.merges").enumerated() {
            guard let space = s.firstIndex(of: " ") else { throw bad("tokenizer.ggml.merges", "element \(i) \"\(s)\" is not \"left right\"") }
            merges.append((String(s[..<space]), String(s[s.index(after: space)...])))
        }
        var types = [Int](repeating: 1, count: tokens.count)
        if let v = m["tokenizer.ggml.token_type"] {
            guard let a = v.arrayValue, a.count == tokens.count else {
                throw bad("tokenizer.ggml.token_type", "expected \(tokens.count) integers, one per token")
            }
            for (i, e) in a.enumerated() {
                guard let t = e.intValue else { throw bad("tokenizer.ggml.token_type", "element \(i) is not an integer") }
                types[i] = t
            }
        }
        // 3 = CONTROL: special; 4 = USER_DEFINED: always matched whole (llama.cpp, transformers).
        let added = tokens.indices.compactMap { i -> AddedToken? in
            types[i] == 3 ? AddedToken(id: i, content: tokens[i], special: true)
                : types[i] == 4 ? AddedToken(id: i, content: tokens[i], special: false) : nil
        }
        var eos: [Int] = []
        for key in ["tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id"] {
            if let id = try optionalID(key) { eos.append(id) }
        }
        var addBOS = false
        if let v = m["tokenizer.ggml.add_bos_token"] {
            guard let b = v.boolValue else { throw bad("tokenizer.ggml.add_bos_token", "expected a bool") }
            addBOS = b
        }
        return BytePairDescription(
            vocabulary: tokens, merges: merges, preTokenizer: pre, ignoreMerges: pre == .llama3, added: added,
            bosID: try optionalID("tokenizer.ggml.bos_token_id"),
            padID: try optionalID("tokenizer.ggml.padding_token_id"), eosIDs: Set(eos), addBOS: addBOS,
            unknownID: nil)
    }
}
