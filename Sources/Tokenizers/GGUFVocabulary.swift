// A GGUF vocabulary (`tokenizer.ggml.*`) read as llama.cpp's `llama_vocab::impl::load` reads it: kinds, attributes, special ids.
import LlamaCore

/// llama.cpp's per-token attributes (`llama_token_attr`), from `tokenizer.ggml.token_type` and its name rules.
struct TokenAttributes: OptionSet, Sendable {
    let rawValue: UInt16
    static let unknown = TokenAttributes(rawValue: 1 << 0)
    static let unused = TokenAttributes(rawValue: 1 << 1)
    static let normal = TokenAttributes(rawValue: 1 << 2)
    static let control = TokenAttributes(rawValue: 1 << 3)
    static let userDefined = TokenAttributes(rawValue: 1 << 4)
    static let byte = TokenAttributes(rawValue: 1 << 5)
    static let lstrip = TokenAttributes(rawValue: 1 << 7)
    static let rstrip = TokenAttributes(rawValue: 1 << 8)

    /// From a GGUF token type (llama.cpp `llama_token_type`: 1 normal, 2 unknown, 3 control, 4 user-defined,
    /// 5 unused, 6 byte; anything else undefined, i.e. no attribute).
    init(tokenType: Int) {
        switch tokenType {
        case 1: self = .normal
        case 2: self = .unknown
        case 3: self = .control
        case 4: self = .userDefined
        case 5: self = .unused
        case 6: self = .byte
        default: self = []
        }
    }

    init(rawValue: UInt16) { self.rawValue = rawValue }

    /// Tokens matched on their text before tokenization (`cache_special_tokens`).
    var isMatchedWhole: Bool { !intersection([.control, .userDefined, .unknown]).isEmpty }
    /// Tokens matched only when special tokens are parsed.
    var needsParseSpecial: Bool { !intersection([.control, .unknown]).isEmpty }
}

struct GGUFVocabulary {
    enum Model: String { case sentencePiece = "llama", bytePair = "gpt2" }

    let model: Model
    let file: String
    /// Token texts (an empty text is renamed `[EMPTY_<id>]` as llama.cpp does).
    let tokens: [String]
    let scores: [Float]
    var attributes: [TokenAttributes]
    let merges: [(String, String)]
    let pre: LlamaPreTokenizer?
    let preName: String?
    var bosID: Int?
    var eosID: Int?
    var unknownID: Int?
    var paddingID: Int?
    var addBOS: Bool
    var addEOS: Bool
    var addSpacePrefix: Bool
    /// Tokens that end generation (`special_eog_ids`).
    var endOfGeneration: Set<Int>

    /// Models llama.cpp knows but this project does not tokenize, with what they are.
    static let refusedModels: [String: String] = [
        "bert": "WordPiece (BERT)", "t5": "Unigram (T5)", "rwkv": "RWKV", "plamo2": "PLaMo-2",
        "no_vocab": "no vocabulary", "none": "no vocabulary",
    ]

    init(_ m: [String: GGUFValue], file: String) throws(ModelFileError) {
        self.file = file
        func missing(_ key: String) -> ModelFileError { ModelFileError(.missingKey, file: file, "metadata key \(key) is missing") }
        func bad(_ key: String, _ what: String) -> ModelFileError { ModelFileError(.badMetadata, file: file, "metadata key \(key): \(what)") }
        func array(_ key: String) throws(ModelFileError) -> [GGUFValue] {
            guard let v = m[key] else { throw missing(key) }
            guard let a = v.arrayValue else { throw bad(key, "expected an array") }
            return a
        }
        func bool(_ key: String) throws(ModelFileError) -> Bool? {
            guard let v = m[key] else { return nil }
            guard let b = v.boolValue else { throw bad(key, "expected a bool") }
            return b
        }

        guard let modelName = m["tokenizer.ggml.model"]?.stringValue else { throw missing("tokenizer.ggml.model") }
        if let what = Self.refusedModels[modelName] {
            throw bad("tokenizer.ggml.model", "\"\(modelName)\" (\(what)) is not supported; supported: \"llama\" (SentencePiece BPE) and \"gpt2\" (byte-level BPE)")
        }
        guard let model = Model(rawValue: modelName) else {
            throw bad("tokenizer.ggml.model", "\"\(modelName)\" is not a tokenizer llama.cpp knows")
        }
        self.model = model

        var tokens: [String] = []
        let rawTokens = try array("tokenizer.ggml.tokens")
        guard !rawTokens.isEmpty else { throw bad("tokenizer.ggml.tokens", "the vocabulary is empty") }
        guard rawTokens.count < Int(Int32.max) else { throw bad("tokenizer.ggml.tokens", "too many tokens") }
        tokens.reserveCapacity(rawTokens.count)
        // Keyed by bytes: Swift's String equality would merge canonically equivalent texts (ί U+1F77, ί U+03AF).
        var seen: [[UInt8]: Int] = [:]
        seen.reserveCapacity(rawTokens.count)
        for (i, v) in rawTokens.enumerated() {
            guard var s = v.stringValue else { throw bad("tokenizer.ggml.tokens", "element \(i) is not a string") }
            if s.isEmpty { s = "[EMPTY_\(i)]" }
            if let other = seen.updateValue(i, forKey: Array(s.utf8)) {
                // llama.cpp asserts id_to_token.size() == token_to_id.size().
                throw bad("tokenizer.ggml.tokens", "token \(i) \"\(s)\" repeats token \(other)")
            }
            tokens.append(s)
        }
        let n = tokens.count
        self.tokens = tokens

        var scores = [Float](repeating: 0, count: n)
        if let v = m["tokenizer.ggml.scores"] {
            guard let a = v.arrayValue, a.count == n else { throw bad("tokenizer.ggml.scores", "expected \(n) numbers, one per token") }
            for (i, e) in a.enumerated() {
                guard let d = e.doubleValue else { throw bad("tokenizer.ggml.scores", "element \(i) is not a number") }
                scores[i] = Float(d)
            }
        }
        self.scores = scores

        var attributes = [TokenAttributes](repeating: .normal, count: n)
        if let v = m["tokenizer.ggml.token_type"] {
            guard let a = v.arrayValue, a.count == n else { throw bad("tokenizer.ggml.token_type", "expected \(n) integers, one per token") }
            for (i, e) in a.enumerated() {
                guard let t = e.intValue else { throw bad("tokenizer.ggml.token_type", "element \(i) is not an integer") }
                attributes[i] = TokenAttributes(tokenType: t)
            }
        }

        preName = m["tokenizer.ggml.pre"]?.stringValue
        var addBOS = false, addEOS = false, addSpacePrefix = false
        var bos: Int?, eos: Int?, unk: Int?
        switch model {
        case .sentencePiece:
            pre = nil
            merges = []
            (bos, eos, unk) = (1, 2, 0)
            (addSpacePrefix, addBOS) = (true, true)
        case .bytePair:
            let pre: LlamaPreTokenizer?
            do { pre = try LlamaPreTokenizer.named(preName) } catch {
                throw bad("tokenizer.ggml.pre", "\"\(preName ?? "")\": \(error.description)")
            }
            guard let pre else {
                let why = preName.flatMap { LlamaPreTokenizer.unsupported[$0] } ?? "llama.cpp does not know it"
                throw bad("tokenizer.ggml.pre", "pre-tokenizer \"\(preName ?? "")\" is not supported: \(why)")
            }
            self.pre = pre
            addBOS = pre.addBOS
            (bos, eos) = pre.noBOS ? (nil, 11) : (11, 11)
            var merges: [(String, String)] = []
            let raw = try array("tokenizer.ggml.merges")
            merges.reserveCapacity(raw.count)
            for (i, e) in raw.enumerated() {
                guard let s = e.stringValue else { throw bad("tokenizer.ggml.merges", "element \(i) is not a string") }
                // llama.cpp looks for the separating space from the second character on.
                guard let space = s.dropFirst().firstIndex(of: " ") else {
                    throw bad("tokenizer.ggml.merges", "element \(i) \"\(s)\" is not \"left right\"")
                }
                merges.append((String(s[..<space]), String(s[s.index(after: space)...])))
            }
            self.merges = merges
        }
        if let v = try bool("tokenizer.ggml.add_space_prefix") { addSpacePrefix = v }

        var eot: Int?, eom: Int?, pad: Int?
        func special(_ key: String, _ id: inout Int?) throws(ModelFileError) {
            guard let v = m[key] else { return }
            guard let i = v.intValue, i >= 0 else { throw bad(key, "expected a non-negative integer") }
            if i < n { id = i }   // llama.cpp: "bad special token", the default stays
        }
        try special("tokenizer.ggml.bos_token_id", &bos)
        try special("tokenizer.ggml.eos_token_id", &eos)
        try special("tokenizer.ggml.eot_token_id", &eot)
        try special("tokenizer.ggml.eom_token_id", &eom)
        try special("tokenizer.ggml.unknown_token_id", &unk)
        try special("tokenizer.ggml.padding_token_id", &pad)
        if let v = try bool("tokenizer.ggml.add_bos_token") { addBOS = v }
        if let v = try bool("tokenizer.ggml.add_eos_token") { addEOS = v }
        bosID = bos.flatMap { $0 < n ? $0 : nil }
        eosID = eos.flatMap { $0 < n ? $0 : nil }
        unknownID = unk.flatMap { $0 < n ? $0 : nil }
        paddingID = pad
        self.addBOS = addBOS
        self.addEOS = addEOS
        self.addSpacePrefix = addSpacePrefix

        // End of generation, found by text as llama.cpp does; such tokens become control tokens.
        let eotNames = ["<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<EOT>", "_<EOT>",
                        "<｜end▁of▁sentence｜>", "<end_of_utterance>"]
        let eogNames = ["<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<end_of_turn>", "<|endoftext|>",
                        "<|eom_id|>", "<EOT>", "_<EOT>", "<|end_of_text|>", "<end_of_utterance>"]
        if eot == nil, let id = eotNames.lazy.compactMap({ seen[Array($0.utf8)] }).first {
            eot = id
            attributes[id] = .control
        }
        if eom == nil, let id = seen[Array("<|eom_id|>".utf8)] {
            eom = id
            attributes[id] = .control
        }
        // Fill-in-the-middle tokens (prefix, suffix, middle; then pad, repo, file separator, which end generation).
        let fim: [[String]] = [
            ["<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>", "<|code_prefix|>"],
            ["<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>", "<|code_suffix|>"],
            ["<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>", "<|code_middle|>"],
            ["<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>"],
            ["<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"],
            ["<|file_sep|>"],
        ]
        var eog = Set<Int>()
        for (k, names) in fim.enumerated() {
            if let id = names.lazy.compactMap({ seen[Array($0.utf8)] }).first {
                if k >= 3 { eog.insert(id) }
                if !attributes[id].contains(.control) { attributes[id] = .control }
            }
        }
        for name in eogNames {
            if let id = seen[Array(name.utf8)] {
                eog.insert(id)
                if !attributes[id].contains(.control) { attributes[id] = .control }
            }
        }
        for name in ["<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"] {
            if let id = seen[Array(name.utf8)] { attributes[id] = .userDefined }
        }
        for id in [eosID, eot, eom].compactMap({ $0 }) { eog.insert(id) }
        if eog.contains(where: { tokens[$0] == "<|return|>" }), eog.contains(where: { tokens[$0] == "<|call|>" }),
           let end = eog.first(where: { tokens[$0] == "<|end|>" }) {
            eog.remove(end)
            attributes[end] = .userDefined
        }
        endOfGeneration = eog

        // Phi-3 (by general.name, as llama.cpp): special tokens strip the whitespace after them.
        let name = (m["general.name"]?.stringValue ?? "").lowercased()
        if name.contains("phi-3") || name.contains("phi3") {
            for i in 0..<n where attributes[i].isMatchedWhole { attributes[i].insert(.rstrip) }
            if let id = seen[Array("</s>".utf8)] { attributes[id].insert(.rstrip) }
            for t in ["<unk>", "<s>", "<|endoftext|>"] { if let id = seen[Array(t.utf8)] { attributes[id].remove(.rstrip) } }
        }
        self.attributes = attributes
    }

    /// The tokens matched on their text, longest first (llama.cpp `cache_special_tokens`; its unstable
    /// sort's order among tokens of one length is taken as id order).
    var specialTokensLongestFirst: [Int] {
        let ids = tokens.indices.filter { attributes[$0].isMatchedWhole }
        return ids.sorted { tokens[$0].utf8.count != tokens[$1].utf8.count ? tokens[$0].utf8.count > tokens[$1].utf8.count : $0 < $1 }
    }

    /// The llama.cpp partition of special and user-defined tokens for this vocabulary.
    var partition: LlamaTokenPartition {
        LlamaTokenPartition(specialTokensLongestFirst.map {
            LlamaTokenPartition.Entry(id: $0, text: Array(tokens[$0].utf8), attributes: attributes[$0])
        })
    }
}
