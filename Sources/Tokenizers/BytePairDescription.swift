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

    /// Checks consistency and builds the tables. `file` and `mergesKey` name the source in errors.
    func assemble(file: String, mergesKey: String) throws(ModelFileError) -> BPEEngine {
        var spellings = vocabulary
        for t in added where t.id >= spellings.count {
            spellings.append(contentsOf: repeatElement("", count: t.id + 1 - spellings.count))
            spellings[t.id] = t.content
        }
        var ids: [String: Int32] = [:]
        ids.reserveCapacity(vocabulary.count)
        for (i, s) in vocabulary.enumerated() where ids[s] == nil { ids[s] = Int32(i) }
        var rules: [(left: Int32, right: Int32, rank: UInt32, merged: Int32)] = []
        rules.reserveCapacity(merges.count)
        for (rank, (a, b)) in merges.enumerated() {
            let where_ = "\(mergesKey)[\(rank)] \"\(a) \(b)\""
            guard let l = ids[a] else { throw ModelFileError(.inconsistent, file: file, "\(where_): \"\(a)\" is not in the vocabulary") }
            guard let r = ids[b] else { throw ModelFileError(.inconsistent, file: file, "\(where_): \"\(b)\" is not in the vocabulary") }
            guard let m = ids[a + b] else {
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
        return BPEEngine(tokens: tokens, mergeable: 0..<vocabulary.count, merges: MergeTable(rules),
                         preTokenizer: preTokenizer, wholePieceFirst: ignoreMerges, unknownID: unknownID, added: added)
    }
}
