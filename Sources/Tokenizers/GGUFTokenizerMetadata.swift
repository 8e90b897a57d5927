// A GGUF byte-level BPE vocabulary (`tokenizer.ggml.model` "gpt2") as llama.cpp runs it, as a BytePairDescription.
import LlamaCore

enum GGUFTokenizerMetadata {
    /// The byte-level BPE description of a "gpt2" GGUF vocabulary (llama.cpp's pre-tokenizer, special-token
    /// partition, token attributes and end-of-generation set).
    static func describe(_ v: GGUFVocabulary) -> BytePairDescription {
        let pre = v.pre ?? LlamaPreTokenizer(splitter: .gpt2)
        return BytePairDescription(
            vocabulary: v.tokens, merges: v.merges, preTokenizer: pre.splitter, ignoreMerges: pre.ignoreMerges,
            added: [], bosID: v.bosID, padID: v.paddingID, eosIDs: v.endOfGeneration, addBOS: v.addBOS,
            unknownID: nil, llama: v)
    }
}
