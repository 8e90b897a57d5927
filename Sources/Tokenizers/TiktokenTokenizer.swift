// The Llama 3 tokenizer from a tiktoken BPE file (`tokenizer.model`: one "base64(token) rank" per line).
import LlamaCore

/// A tiktoken-style tokenizer: byte-level BPE where a token's rank is its id and its merge priority,
/// the Llama 3 pre-tokenizer regex, and special tokens numbered after the base vocabulary.
/// Encodes as `tiktoken.Encoding.encode_ordinary` (or `encode(allowed_special="all")` with `allowSpecial`).
public final class TiktokenTokenizer: EngineBackedTokenizer {
    let engine: BPEEngine
    public let vocabularySize: Int
    public let bosID: Int?
    public let eosIDs: Set<Int>
    public let addsBOSByDefault = true
    public let kind = "byte-level BPE (tiktoken BPE file, Llama 3 pattern and special tokens, as tiktoken)"
    /// Number of ranked (mergeable) tokens; special tokens start at this id.
    public let baseVocabularySize: Int

    /// Llama 3's 256 special tokens in id order from 128000 (llama-models `llama3/tokenizer.py`).
    public static let llama3SpecialTokens: [String] = {
        let named = ["<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>",
                     "<|reserved_special_token_1|>", "<|finetune_right_pad_id|>", "<|step_id|>",
                     "<|start_header_id|>", "<|end_header_id|>", "<|eom_id|>", "<|eot_id|>",
                     "<|python_tag|>", "<|image|>"]
        return named + (0..<(256 - named.count)).map { "<|reserved_special_token_\($0 + 2)|>" }
    }()

    /// Loads a tiktoken BPE file with Llama 3's special tokens.
    public convenience init(path: String) throws(ModelFileError) {
        try self.init(modelFile: FileBytes.read(path), file: path)
    }

    /// Builds from the contents of a tiktoken BPE file; `file` names it in errors.
    public init(modelFile: [UInt8], file: String,
                specialTokens: [String] = TiktokenTokenizer.llama3SpecialTokens) throws(ModelFileError) {
        let ranked = try Self.parse(modelFile, file: file)
        let n = ranked.count
        baseVocabularySize = n
        let tokens = TokenBytes(ranked + specialTokens.map { Array($0.utf8) })
        let index = ByteStringIndex(tokens, ids: 0..<n)
        for b in 0..<256 where index.lookup([UInt8(b)], in: tokens) == nil {
            throw ModelFileError(.inconsistent, file: file,
                                 "byte 0x\(String(b, radix: 16)) has no token; tiktoken needs all 256 bytes")
        }
        engine = BPEEngine(tokens: tokens, mergeable: 0..<n, merges: Self.mergeRules(tokens, index, n),
                           preTokenizer: .llama3, wholePieceFirst: true, unknownID: nil,
                           added: specialTokens.enumerated().map { AddedToken(id: n + $0, content: $1, special: true) })
        vocabularySize = tokens.count
        let id = { (s: String) in specialTokens.firstIndex(of: s).map { n + $0 } }
        bosID = id("<|begin_of_text|>")
        eosIDs = Set(["<|end_of_text|>", "<|eom_id|>", "<|eot_id|>"].compactMap(id))
    }

    /// Lines `base64 rank`; ranks must be exactly 0..<count, each token and rank once.
    static func parse(_ data: [UInt8], file: String) throws(ModelFileError) -> [[UInt8]] {
        var byRank: [[UInt8]?] = []
        var seen = Set<[UInt8]>()
        var lineNumber = 0
        var start = 0
        while start < data.count {
            var end = start
            while end < data.count && data[end] != UInt8(ascii: "\n") { end += 1 }
            lineNumber += 1
            var line = data[start..<end]
            start = end + 1
            if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
            if line.isEmpty { continue }
            let bad = { (what: String) in ModelFileError(.badValue, file: file, "line \(lineNumber): \(what)") }
            guard let space = line.firstIndex(of: UInt8(ascii: " ")) else {
                throw bad("expected \"<base64 token> <rank>\", found no space")
            }
            guard let token = Base64.decode(line[line.startIndex..<space]), !token.isEmpty else {
                throw bad("token is not valid base64")
            }
            let rankText = line[(space + 1)...]
            guard !rankText.isEmpty, rankText.count <= 9, rankText.allSatisfy({ $0 >= 48 && $0 <= 57 }) else {
                throw bad("rank \"\(String(decoding: rankText, as: UTF8.self))\" is not a non-negative integer")
            }
            let rank = rankText.reduce(0) { $0 * 10 + Int($1 - 48) }
            if rank >= byRank.count { byRank.append(contentsOf: repeatElement(nil, count: rank + 1 - byRank.count)) }
            guard byRank[rank] == nil else { throw bad("rank \(rank) appears twice") }
            guard seen.insert(token).inserted else { throw bad("token appears twice") }
            byRank[rank] = token
        }
        guard !byRank.isEmpty else { throw ModelFileError(.badValue, file: file, "no tokens in file") }
        var out: [[UInt8]] = []
        out.reserveCapacity(byRank.count)
        for (rank, token) in byRank.enumerated() {
            guard let token else {
                throw ModelFileError(.inconsistent, file: file, "ranks are not 0..<\(byRank.count): rank \(rank) is missing")
            }
            out.append(token)
        }
        return out
    }

    /// tiktoken merges two adjacent parts whenever their concatenation is a token, by that token's rank:
    /// so every split of a token into two tokens is a merge rule with the token's rank.
    static func mergeRules(_ tokens: TokenBytes, _ index: ByteStringIndex, _ n: Int)
        -> MergeTable {
        var rules: [(left: Int32, right: Int32, rank: UInt32, merged: Int32)] = []
        rules.reserveCapacity(n * 2)
        tokens.storage.withUnsafeBufferPointer { s in
            tokens.offsets.withUnsafeBufferPointer { o in
                index.withSlots { slots in
                    let base = s.baseAddress!
                    for id in 0..<n {
                        let start = Int(o[id]), len = Int(o[id + 1]) - start
                        guard len >= 2 else { continue }
                        for k in 1..<len {
                            guard let l = index.lookup(base + start, k, storage: base, offsets: o, slots: slots),
                                  let r = index.lookup(base + start + k, len - k, storage: base, offsets: o, slots: slots)
                            else { continue }
                            rules.append((Int32(l), Int32(r), UInt32(id), Int32(id)))
                        }
                    }
                }
            }
        }
        return MergeTable(rules)
    }
}
