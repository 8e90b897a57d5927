// A byte-level BPE vocabulary as HF tokenizer.json and GGUF describe it, and its checked assembly.
import LlamaCore

/// Vocabulary spelled in GPT-2's byte alphabet, merges as spelled pairs, plus settings.
struct BytePairDescription {
    /// Spelling of each id in the model vocabulary (ids are positions).
    var vocabulary: [String]
    /// Merge rules in priority order (index = rank).
    var merges: [(String, String)]
    var preTokenizer: PreTokenizer
    var ignoreMerges: Bool
    /// Tokens matched on their text before pre-tokenization; may extend the vocabulary past `vocabulary.count`.
    var added: [AddedToken]
    var bosID: Int?
    var padID: Int?
    var eosIDs: Set<Int>
    var addBOS: Bool
    var unknownID: Int?
    /// A GGUF vocabulary: llama.cpp's token attributes decide each token's decoded bytes and which tokens are
    /// matched whole (longest first) instead of `added`.
    var llama: GGUFVocabulary? = nil
    /// HF `NFC` normalizer (Qwen2): each stretch of text between added tokens is NFC-normalized first.
    var normalizeNFC = false

    /// Checks consistency and builds the tables. `file` and `mergesKey` name the source in errors.
    func assemble(file: String, mergesKey: String) throws(ModelFileError) -> BPEEngine {
        var spellings = vocabulary
        for t in added where t.id >= spellings.count {
            spellings.append(contentsOf: repeatElement("", count: t.id + 1 - spellings.count))
            spellings[t.id] = t.content
        }
        // Keyed by bytes: Swift's String equality would merge canonically equivalent spellings.
        var ids: [[UInt8]: Int32] = [:]
        ids.reserveCapacity(vocabulary.count)
        for (i, s) in vocabulary.enumerated() where ids[Array(s.utf8)] == nil { ids[Array(s.utf8)] = Int32(i) }
        var rules: [(left: Int32, right: Int32, rank: UInt32, merged: Int32)] = []
        rules.reserveCapacity(merges.count)
        for (rank, (a, b)) in merges.enumerated() {
            let where_ = "\(mergesKey)[\(rank)] \"\(a) \(b)\""
            guard let l = ids[Array(a.utf8)] else { throw ModelFileError(.inconsistent, file: file, "\(where_): \"\(a)\" is not in the vocabulary") }
            guard let r = ids[Array(b.utf8)] else { throw ModelFileError(.inconsistent, file: file, "\(where_): \"\(b)\" is not in the vocabulary") }
            guard let m = ids[Array(a.utf8) + Array(b.utf8)] else {
                throw ModelFileError(.inconsistent, file: file, "\(where_): the merged token \"\(a + b)\" is not in the vocabulary")
            }
            rules.append((l, r, UInt32(rank), m))
        }
        for (name, id) in [("BOS", bosID), ("padding", padID), ("unknown", unknownID)] + eosIDs.map({ ("EOS", $0) }) {
            if let id, id < 0 || id >= spellings.count {
                throw ModelFileError(.outOfRange, file: file, "\(name) token id \(id) is outside the vocabulary 0..<\(spellings.count)")
            }
        }
        let tokens = TokenBytes(spellings.map(ByteLevelAlphabet.bytes(ofSpelling:)))
        guard let llama else {
            return BPEEngine(tokens: tokens, mergeable: 0..<vocabulary.count, merges: MergeTable(rules),
                             preTokenizer: preTokenizer, wholePieceFirst: ignoreMerges, unknownID: unknownID, added: added,
                             normalizeNFC: normalizeNFC)
        }
        // llama.cpp `token_to_piece` for BPE: normal tokens through the byte alphabet, special and user-defined
        // ones as their text, the rest (unused, byte, undefined) as nothing.
        let output = TokenBytes(spellings.indices.map { i in
            let a = llama.attributes[i]
            if a.isMatchedWhole { return Array(spellings[i].utf8) }
            return a.contains(.normal) ? tokens.bytes(i).map { $0 } : []
        })
        let mergeable = spellings.indices.filter { !llama.attributes[$0].isMatchedWhole }
        return BPEEngine(tokens: tokens, output: output, mergeable: mergeable, merges: MergeTable(rules),
                         preTokenizer: preTokenizer, wholePieceFirst: ignoreMerges, unknownID: nil,
                         added: .llama(llama.partition))
    }
}
