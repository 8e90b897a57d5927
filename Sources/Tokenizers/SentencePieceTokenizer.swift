// SentencePiece BPE (Llama 2, TinyLlama, Mistral, Phi-3 vocabularies) from GGUF "llama" metadata, as llama.cpp runs it.
import Foundation
import LlamaCore

/// llama.cpp's SPM tokenizer (`llm_tokenizer_spm_session`): special and user-defined tokens are cut out longest
/// first; each stretch of text gets a ▁ prefix when it starts the input or follows a special token
/// (`add_space_prefix`), has its spaces escaped as ▁, and is merged by token score; a character without a token
/// becomes its UTF-8 bytes as `<0xNN>` tokens. Decoding follows `token_to_piece`: ▁ is a space, byte tokens
/// their byte, special tokens their text; the first token of a text loses one leading space.
public final class SentencePieceTokenizer: Tokenizer {
    public let vocabularySize: Int
    public let bosID: Int?
    public let eosIDs: Set<Int>
    public let addsBOSByDefault: Bool
    /// Whether llama.cpp appends EOS (`tokenizer.ggml.add_eos_token`); reported, not applied by `encode`.
    public let addsEOSByDefault: Bool
    public let unknownID: Int?
    public let padID: Int?
    public let chatTemplate: String?
    public let kind: String
    let addSpacePrefix: Bool
    let texts: TokenBytes
    let index: ByteStringIndex
    let scores: [Float]
    let byteTokens: [Int32]
    let output: TokenBytes
    let partition: LlamaTokenPartition
    /// Every pair of adjacent characters inside some token (packed UTF-8, see `characterPair`). Where two adjacent
    /// characters of the text are no such pair, no token can span them, so the text splits there into pieces merged
    /// independently, with the same result as merging it whole (a merge only ever affects its neighbours), and
    /// with small queues instead of one the size of the text.
    let pairs: Set<UInt64>

    /// From GGUF metadata (`tokenizer.ggml.model` "llama"); `file` names the GGUF in errors.
    public convenience init(ggufMetadata: [String: GGUFValue], file: String) throws(ModelFileError) {
        let v = try GGUFVocabulary(ggufMetadata, file: file)
        guard v.model == .sentencePiece else {
            throw ModelFileError(.badMetadata, file: file, "metadata key tokenizer.ggml.model: \"\(v.model.rawValue)\" is not SentencePiece (\"llama\")")
        }
        try self.init(vocabulary: v, chatTemplate: ggufMetadata["tokenizer.chat_template"]?.stringValue)
    }

    init(vocabulary v: GGUFVocabulary, chatTemplate: String?) throws(ModelFileError) {
        let n = v.tokens.count
        vocabularySize = n
        bosID = v.bosID
        eosIDs = v.endOfGeneration
        addsBOSByDefault = v.addBOS
        addsEOSByDefault = v.addEOS
        unknownID = v.unknownID
        padID = v.paddingID.flatMap { $0 < n ? $0 : nil }
        addSpacePrefix = v.addSpacePrefix
        self.chatTemplate = chatTemplate
        kind = "SentencePiece BPE (GGUF \"llama\", as llama.cpp)"
        texts = TokenBytes(v.tokens.map { Array($0.utf8) })
        index = ByteStringIndex(texts, ids: 0..<n)
        scores = v.scores
        // llama.cpp byte_to_token: "<0xNN>", else the byte as a one-byte token; a byte with neither maps to
        // the unknown token (llama.cpp would throw).
        var byteTokens = [Int32](repeating: -1, count: 256)
        let hex = Array("0123456789ABCDEF".utf8)
        for b in 0..<256 {
            let name: [UInt8] = [0x3C, 0x30, 0x78, hex[b >> 4], hex[b & 15], 0x3E]
            if let id = index.lookup(name, in: texts) ?? index.lookup([UInt8(b)], in: texts) {
                byteTokens[b] = Int32(id)
            } else if let unk = v.unknownID {
                byteTokens[b] = Int32(unk)
            } else {
                throw ModelFileError(.inconsistent, file: v.file,
                                     "byte 0x\(String(b, radix: 16)) has no <0x\(String(format2: b))> token and there is no unknown token")
            }
        }
        self.byteTokens = byteTokens
        output = TokenBytes(v.tokens.indices.map { i in
            let a = v.attributes[i], text = v.tokens[i]
            if a.isMatchedWhole { return Array(text.utf8) }
            if a.contains(.normal) { return Array(text.replacingAll("▁", with: " ").utf8) }
            if a.contains(.byte) {
                let u = Array(text.utf8)
                let digits = u.count >= 5 ? String(decoding: u[3..<5], as: UTF8.self) : ""
                return [UInt8(truncatingIfNeeded: Int(digits, radix: 16) ?? 0)]
            }
            return []
        })
        partition = v.partition
        var pairs = Set<UInt64>()
        for t in v.tokens {
            var u = Array(t.utf8)
            u.withUnsafeMutableBufferPointer { b in
                var i = 0, previous: UInt32? = nil
                while i < b.count {
                    let (c, len) = Self.character(b, at: i)
                    if let p = previous { pairs.insert(UInt64(p) << 32 | UInt64(c)) }
                    previous = c
                    i += len
                }
            }
        }
        self.pairs = pairs
    }

    /// The UTF-8 character at `i` (its length by the lead byte, as llama.cpp's `unicode_len_utf8`) packed in a UInt32.
    @inline(__always)
    static func character(_ b: UnsafeMutableBufferPointer<UInt8>, at i: Int) -> (UInt32, Int) {
        let lead = b[i]
        let len = min(lead < 0xC0 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4, b.count - i)
        var c: UInt32 = 0
        for k in 0..<len { c = c << 8 | UInt32(b[i + k]) }
        return (c, len)
    }

    public func encode(_ text: String, addBOS: Bool, allowSpecial: Bool) throws -> [Int] {
        var out: [Int] = []
        if addBOS {
            guard let bosID else { throw TokenizerError.noBOSToken }
            out.append(bosID)
        }
        var text = text
        text.withUTF8 { encode($0, allowSpecial: allowSpecial, into: &out) }
        return out
    }

    public func encode(bytes: [UInt8], addBOS: Bool, allowSpecial: Bool, invalidUTF8: InvalidUTF8Policy) throws -> [Int] {
        if let bad = bytes.withUnsafeBufferPointer({ UTF8Repair.firstInvalidOffset($0) }) {
            switch invalidUTF8 {
            case .fail: throw TokenizerError.invalidUTF8(byteOffset: bad)
            case .replace: return try encode(UTF8Repair.decode(bytes), addBOS: addBOS, allowSpecial: allowSpecial)
            }
        }
        return try encode(String(decoding: bytes, as: UTF8.self), addBOS: addBOS, allowSpecial: allowSpecial)
    }

    func encode(_ text: UnsafeBufferPointer<UInt8>, allowSpecial: Bool, into out: inout [Int]) {
        let scratch = SentencePieceScratch()
        var escaped: [UInt8] = []
        var previousSpecial = true
        for segment in partition.segments(text, parseSpecial: allowSpecial) {
            switch segment {
            case .token(let id):
                out.append(id)
                previousSpecial = true
            case .text(let range):
                escaped.removeAll(keepingCapacity: true)
                escaped.reserveCapacity(range.count * 3 + 3)
                if addSpacePrefix && previousSpecial { escaped += [0xE2, 0x96, 0x81] }
                for i in range {
                    if text[i] == 0x20 { escaped += [0xE2, 0x96, 0x81] } else { escaped.append(text[i]) }
                }
                escaped.withUnsafeMutableBufferPointer { b in
                    var chunkStart = 0, i = 0, previous: UInt32 = 0
                    while i < b.count {
                        let (c, len) = Self.character(b, at: i)
                        if i > chunkStart && !pairs.contains(UInt64(previous) << 32 | UInt64(c)) {
                            SentencePieceMerge.tokenize(UnsafeBufferPointer(rebasing: b[chunkStart..<i]), index: index, tokens: texts,
                                                        scores: scores, byteTokens: byteTokens, scratch: scratch, into: &out)
                            chunkStart = i
                        }
                        previous = c
                        i += len
                    }
                    SentencePieceMerge.tokenize(UnsafeBufferPointer(rebasing: b[chunkStart..<b.count]), index: index, tokens: texts,
                                                scores: scores, byteTokens: byteTokens, scratch: scratch, into: &out)
                }
                previousSpecial = false
            }
        }
    }

    public func decode(_ ids: [Int]) throws -> String { UTF8Repair.decode(try decodeBytes(ids, startOfText: true)) }
    public func decodeBytes(_ ids: [Int]) throws -> [UInt8] { try decodeBytes(ids, startOfText: true) }

    public func decodeBytes(_ ids: [Int], startOfText: Bool) throws -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(ids.count * 4)
        let n = output.count
        for (k, id) in ids.enumerated() {
            guard id >= 0 && id < n else { throw TokenizerError.tokenIDOutOfRange(id: id, vocabularySize: n) }
            let piece = output.bytes(id)
            // llama_detokenize: the first piece loses one leading space when the vocabulary prefixes one.
            if k == 0 && startOfText && addSpacePrefix && piece.first == 0x20 {
                out.append(contentsOf: piece.dropFirst())
            } else {
                out.append(contentsOf: piece)
            }
        }
        return out
    }

    public func piece(_ id: Int) -> String? {
        guard id >= 0 && id < output.count else { return nil }
        return UTF8Repair.decode(Array(output.bytes(id)))
    }

    public func specialTokenID(_ text: String) -> Int? { partition.id(of: text) }
}

extension String {
    init(format2 b: Int) {
        let hex = Array("0123456789ABCDEF")
        self = String([hex[b >> 4], hex[b & 15]])
    }

    func replacingAll(_ a: String, with b: String) -> String {
        guard contains(a) else { return self }
        return components(separatedBy: a).joined(separator: b)
    }
}
