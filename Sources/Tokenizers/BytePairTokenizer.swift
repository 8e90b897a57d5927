// A GPT-2 style byte-level BPE tokenizer loaded from GGUF metadata or an HF tokenizer.json.
import LlamaCore

/// Byte-level BPE with merge ranks from a merges list, as HF `tokenizers` runs it (tokenizer.json) or as
/// llama.cpp runs it (GGUF "gpt2": its pre-tokenizers, special-token partition and token attributes).
public final class BytePairTokenizer: EngineBackedTokenizer {
    let engine: BPEEngine
    public let vocabularySize: Int
    public let bosID: Int?
    public let eosIDs: Set<Int>
    public let addsBOSByDefault: Bool
    /// The padding token (GGUF `tokenizer.ggml.padding_token_id`), if declared.
    public let padID: Int?
    /// The Jinja chat template the file carries (GGUF `tokenizer.chat_template`), if any.
    public let chatTemplate: String?
    /// What kind of tokenizer this is and where it came from, for `inspect`.
    public let kind: String

    /// From GGUF metadata (`tokenizer.ggml.model` "gpt2"); `file` names the GGUF in errors.
    public convenience init(ggufMetadata: [String: GGUFValue], file: String) throws(ModelFileError) {
        let v = try GGUFVocabulary(ggufMetadata, file: file)
        guard v.model == .bytePair else {
            throw ModelFileError(.badMetadata, file: file, "metadata key tokenizer.ggml.model: \"\(v.model.rawValue)\" is not byte-level BPE (\"gpt2\")")
        }
        try self.init(vocabulary: v, chatTemplate: ggufMetadata["tokenizer.chat_template"]?.stringValue)
    }

    convenience init(vocabulary v: GGUFVocabulary, chatTemplate: String?) throws(ModelFileError) {
        try self.init(GGUFTokenizerMetadata.describe(v), file: v.file, mergesKey: "tokenizer.ggml.merges",
                      chatTemplate: chatTemplate,
                      kind: "byte-level BPE (GGUF \"gpt2\", pre-tokenizer \"\(v.preName ?? "default")\", as llama.cpp)")
    }

    /// From an HF `tokenizer.json` with a BPE model and a byte-level pre-tokenizer.
    public convenience init(tokenizerJSON path: String) throws(ModelFileError) {
        try self.init(tokenizerJSON: FileBytes.read(path), file: path)
    }

    /// From the contents of an HF `tokenizer.json`; `file` names it in errors.
    public convenience init(tokenizerJSON data: [UInt8], file: String) throws(ModelFileError) {
        try self.init(byteLevel: TokenizerJSON.describe(data, file: file), file: file)
    }

    convenience init(byteLevel d: BytePairDescription, file: String) throws(ModelFileError) {
        try self.init(d, file: file, mergesKey: "model.merges", chatTemplate: nil,
                      kind: "byte-level BPE (HF tokenizer.json, pre-tokenizer \"\(TokenizerJSON.name(d.preTokenizer))\"\(d.normalizeNFC ? ", NFC" : ""), as HF tokenizers)")
    }

    init(_ d: BytePairDescription, file: String, mergesKey: String, chatTemplate: String?, kind: String) throws(ModelFileError) {
        engine = try d.assemble(file: file, mergesKey: mergesKey)
        vocabularySize = engine.vocabularySize
        bosID = d.bosID
        padID = d.padID
        eosIDs = d.eosIDs
        addsBOSByDefault = d.addBOS
        self.chatTemplate = chatTemplate
        self.kind = kind
    }
}
