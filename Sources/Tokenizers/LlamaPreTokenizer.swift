// llama.cpp's pre-tokenizers by `tokenizer.ggml.pre` name: each name's regex list and settings (llama.cpp src/llama-vocab.cpp).

/// What a `tokenizer.ggml.pre` name means to llama.cpp (`llama_vocab::impl::load`, `llm_tokenizer_bpe`).
struct LlamaPreTokenizer {
    var splitter: PreTokenizer
    /// A piece that is a whole token is emitted without merging (`ignore_merges`).
    var ignoreMerges = false
    /// BOS is added unless `tokenizer.ggml.add_bos_token` says otherwise.
    var addBOS = false
    /// `special_bos_id` is cleared (chatglm).
    var noBOS = false

    /// Names llama.cpp refuses ("unknown pre-tokenizer type") or whose splitter we do not reproduce.
    static let unsupported: [String: String] = [
        "kimi-k2": "llama.cpp splits it with a custom Han-aware routine that is not reproduced",
        "superbpe": "its digit-group lookahead split produces empty pieces that are not reproduced",
    ]

    /// The pre-tokenizer for `name` (nil: the file has no `tokenizer.ggml.pre`, which llama.cpp treats
    /// as "default"). Throws for a name llama.cpp does not know or we do not reproduce.
    static func named(_ name: String?) throws(RegexSyntaxError) -> LlamaPreTokenizer? {
        let name = name ?? "default"
        if let steps = try regexSteps(name) {
            let flags = settings(name)
            return LlamaPreTokenizer(splitter: .steps(name: name, steps), ignoreMerges: flags.ignoreMerges, addBOS: flags.addBOS)
        }
        switch name {
        case "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2":
            return LlamaPreTokenizer(splitter: .llama3Like(digits: 3, foldLongS: false), ignoreMerges: true, addBOS: true)
        case "dbrx", "smaug-bpe":
            return LlamaPreTokenizer(splitter: .llama3Like(digits: 3, foldLongS: false))
        case "glm4", "chatglm-bpe":
            return LlamaPreTokenizer(splitter: .llama3Like(digits: 3, foldLongS: false), noBOS: true)
        case "qwen2", "deepseek-r1-qwen", "stablelm2", "hunyuan", "megrez":
            // llama.cpp runs Qwen2's regex through std::regex on its collapsed text; the hand-written splitter
            // is the same function (PreTokenizerTests checks it against PieceRegex on the test vocabularies' texts).
            return LlamaPreTokenizer(splitter: .llama3Like(digits: 1, foldLongS: false))
        case "starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva-7b":
            return LlamaPreTokenizer(splitter: .gpt2SingleDigits)
        case "gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "a.x-4.0", "mellum",
             "jina-v1-en", "jina-v2-code", "roberta-bpe", "mpt", "olmo", "jais", "trillion", "exaone4":
            return LlamaPreTokenizer(splitter: .gpt2)
        default:
            return nil
        }
    }

    /// Flags a regex-list pre-type sets besides its splitter.
    static func settings(_ name: String) -> (ignoreMerges: Bool, addBOS: Bool) {
        switch name {
        case "tekken": return (true, true)
        case "chameleon": return (false, true)
        default: return (false, false)
        }
    }

    /// A pattern as llama.cpp runs it: std::regex on the collapsed text when it names a `\p{…}` category,
    /// else std::wregex on code points.
    static func step(_ pattern: String) throws(RegexSyntaxError) -> SplitStep {
        let collapsed = ["\\p{N}", "\\p{L}", "\\p{P}", "\\p{M}", "\\p{S}"].contains { pattern.contains($0) }
        return .regex(try PieceRegex(pattern, dialect: collapsed ? .llamaCollapsed : .llamaWide))
    }

    /// The regex lists of the pre-types llama.cpp runs through std::regex (patterns as in llama-vocab.cpp).
    static func regexSteps(_ name: String) throws(RegexSyntaxError) -> [SplitStep]? {
        switch name {
        case "default": return [
            try step("[\\p{P}\\$\\+<=>\\^~\\|]+"),
            .gpt2,
            try step("\\p{N}+"),
            try step("[0-9][0-9][0-9]"),
        ]
        case "deepseek-llm": return [
            try step("[\r\n]"),
            try step("\\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-ώᾀ-ᾴᾶ-ᾼιῂ-ῄῆ-ῌῐ-ΐῖ-Ίῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤΩℨK-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃]+"),
            try step("\\s?[!-/:-~！-／：-～‘-‟　-。]+"),
            try step("\\s+$"),
            try step("[一-龥ࠀ-一가-퟿]+"),
            try step("\\p{N}+"),
        ]
        case "deepseek-v3", "hunyuan-dense": return [
            try step("\\p{N}{1,3}"),
            try step("[一-龥぀-ゟ゠-ヿ]+"),
            try step("[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| ?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+"),
        ]
        case "deepseek-coder": return [
            try step("[\r\n]"),
            try step("\\s?\\p{L}+"),
            try step("\\s?\\p{P}+"),
            try step("[一-龥ࠀ-一가-퟿]+"),
            try step("\\p{N}"),
        ]
        case "falcon": return [
            try step("[\\p{P}\\$\\+<=>\\^~\\|`]+"),
            .gpt2,
            try step("[0-9][0-9][0-9]"),
        ]
        case "poro-chat", "bloom", "gpt3-finnish": return [
            try step(" ?[^(\\s|.,!?…。，、।۔،)]+"),
        ]
        case "viking": return [
            try step(" ?[^(\\s|.,!?…。，、।۔،)]+"),
            try step("\\p{N}"),
        ]
        case "tekken": return [
            try step("[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"),
        ]
        case "chameleon": return [
            try step("<sentinel:[0-9]+>"),
            try step("(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z"),
            try step("([\\t\\n]|    |  )"),
            try step("\\p{N}"),
            try step("[\\p{P}!-/:-@\\[-`{-~]"),
            .gpt2,
        ]
        case "gpt-4o", "llama4": return [
            try step("[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))*((?=[\\p{L}])([^A-Z]))+(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|[^\\r\\n\\p{L}\\p{N}]?((?=[\\p{L}])([^a-z]))+((?=[\\p{L}])([^A-Z]))*(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"),
        ]
        case "bailingmoe": return [
            try step("'(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+"),
        ]
        case "seed-coder": return [
            try step("(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1}| ?[^\\s\\p{L}\\p{N}\\r\\n]+|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"),
        ]
        default: return nil
        }
    }
}
