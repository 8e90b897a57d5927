// SentencePiece-style BPE (Llama 2, TinyLlama, Mistral) from an HF tokenizer.json, as HF tokenizers runs it.
import LlamaCore

/// HF tokenizers' pipeline for a BPE model with byte fallback: added tokens are cut out leftmost-longest; each
/// stretch of text between them goes through the normalizers (Prepend, Replace) and the Metaspace pre-tokenizer
/// (spaces become ▁, a ▁ is put in front per `prepend_scheme`, optional split before each ▁); each word is split into
/// characters, a character without a token becomes its `<0xNN>` byte tokens (or the unknown token, fused when
/// `fuse_unk`), and adjacent symbols merge by merge rank, lowest first, leftmost on ties (tokenizers
/// `models/bpe/word.rs`). Decoding runs the file's decoder chain on the token texts.
public final class SentencePieceJSONTokenizer: Tokenizer {
    public let vocabularySize: Int
    public let bosID: Int?
    public let eosIDs: Set<Int>
    public let addsBOSByDefault: Bool
    public let unknownID: Int?
    /// What kind of tokenizer this is and where it came from, for `inspect`.
    public let kind: String
    let texts: TokenBytes
    let index: ByteStringIndex
    let merges: MergeTable
    let byteTokens: [Int32]
    let added: SpecialTokenMatcher
    let normalizer: [SentencePieceJSONDescription.NormalizerStep]
    let metaspace: SentencePieceJSONDescription.Metaspace?
    let decoder: TokenDecoderChain
    let byteFallback: Bool
    let fuseUnknown: Bool
    let ignoreMerges: Bool
    /// Adjacent character pairs inside model tokens (packed UTF-8), when words may be split where no such pair
    /// is (see `SentencePieceTokenizer.pairs`); nil when that would not be exact (merges of byte or unknown
    /// tokens, missing byte tokens, fused unknowns, whole-word lookups).
    let pairs: Set<UInt64>?

    /// From the contents of an HF `tokenizer.json`; `file` names it in errors.
    public convenience init(tokenizerJSON data: [UInt8], file: String) throws(ModelFileError) {
        try self.init(SentencePieceJSONDescription(TokenizerJSON.model(data, file: file), file: file), file: file)
    }

    init(_ d: SentencePieceJSONDescription, file: String) throws(ModelFileError) {
        let m = d.model
        var spellings = m.vocabulary
        for t in m.added where t.id >= spellings.count {
            spellings.append(contentsOf: repeatElement("", count: t.id + 1 - spellings.count))
        }
        for t in m.added { spellings[t.id] = t.content }
        let n = spellings.count
        vocabularySize = n
        texts = TokenBytes(spellings.map { Array($0.utf8) })
        let modelCount = m.vocabulary.count
        index = ByteStringIndex(texts, ids: 0..<modelCount)
        var rules: [(left: Int32, right: Int32, rank: UInt32, merged: Int32)] = []
        rules.reserveCapacity(m.merges.count)
        for (rank, (a, b)) in m.merges.enumerated() {
            let at = "model.merges[\(rank)] \"\(a) \(b)\""
            guard let l = index.lookup(Array(a.utf8), in: texts) else {
                throw ModelFileError(.inconsistent, file: file, "\(at): \"\(a)\" is not in the vocabulary")
            }
            guard let r = index.lookup(Array(b.utf8), in: texts) else {
                throw ModelFileError(.inconsistent, file: file, "\(at): \"\(b)\" is not in the vocabulary")
            }
            guard let j = index.lookup(Array(a.utf8) + Array(b.utf8), in: texts) else {
                throw ModelFileError(.inconsistent, file: file, "\(at): the merged token \"\(a + b)\" is not in the vocabulary")
            }
            rules.append((Int32(l), Int32(r), UInt32(rank), Int32(j)))
        }
        merges = MergeTable(rules)
        var byteTokens = [Int32](repeating: -1, count: 256)
        let hex = Array("0123456789ABCDEF".utf8)
        for b in 0..<256 {
            // tokenizers formats the byte as `<{b:#04X}>`: "<0x" and two upper-case hex digits.
            if let id = index.lookup([0x3C, 0x30, 0x78, hex[b >> 4], hex[b & 15], 0x3E], in: texts) { byteTokens[b] = Int32(id) }
        }
        self.byteTokens = byteTokens
        added = SpecialTokenMatcher(m.added)
        normalizer = d.normalizer
        metaspace = d.metaspace
        decoder = d.decoder
        byteFallback = m.byteFallback
        fuseUnknown = m.fuseUnknown
        ignoreMerges = m.ignoreMerges
        unknownID = m.unknownID
        let special = Set(byteTokens + [Int32(m.unknownID ?? -1)])
        if m.byteFallback && !m.ignoreMerges && !byteTokens.contains(-1) && !rules.contains(where: { special.contains($0.left) || special.contains($0.right) }) {
            var pairs = Set<UInt64>()
            for t in m.vocabulary {
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
        } else {
            pairs = nil
        }
        bosID = d.bosID
        addsBOSByDefault = d.bosID != nil
        for (name, id) in [("BOS", d.bosID), ("unknown", m.unknownID)] + d.eosIDs.map({ ("EOS", $0) }) {
            if let id, id < 0 || id >= n {
                throw ModelFileError(.outOfRange, file: file, "\(name) token id \(id) is outside the vocabulary 0..<\(n)")
            }
        }
        eosIDs = d.eosIDs
        let layout = metaspace.map { "Metaspace, prepend_scheme \"\($0.prepend.rawValue)\"\($0.split ? ", split" : "")" }
            ?? (normalizer.isEmpty ? "no pre-tokenizer" : "Prepend/Replace normalizers")
        kind = "SentencePiece-style BPE (HF tokenizer.json, \(layout)\(byteFallback ? ", byte fallback" : ""), as HF tokenizers)"
    }

    // MARK: encode

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
        let scratch = MergeScratch()
        for segment in added.segments(text, allowSpecial: allowSpecial) {
            switch segment {
            case .token(let id): out.append(id)
            case .text(let range):
                let normalized = normalize(UnsafeBufferPointer(rebasing: text[range]), atStart: range.lowerBound == 0)
                normalized.withUnsafeBufferPointer { words($0, scratch: scratch, into: &out) }
            }
        }
    }

    /// The normalizers, then Metaspace's replacement and prepend (tokenizers `Metaspace::pre_tokenize`).
    func normalize(_ text: UnsafeBufferPointer<UInt8>, atStart: Bool) -> [UInt8] {
        var t = Array(text)
        for step in normalizer {
            switch step {
            case .prepend(let p): if !t.isEmpty { t = p + t }
            case .replace(let pattern, let content): t = TokenDecoderChain.replacing(t, pattern, content)
            }
        }
        if let ms = metaspace, !t.isEmpty {
            t = TokenDecoderChain.replacing(t, [0x20], ms.replacement)
            let prepend = ms.prepend == .always || (ms.prepend == .first && atStart)
            if prepend && !t.starts(with: ms.replacement) { t = ms.replacement + t }
        }
        return t
    }

    /// Splits before each replacement character when Metaspace `split`, and tokenizes each word.
    private func words(_ t: UnsafeBufferPointer<UInt8>, scratch: MergeScratch, into out: inout [Int]) {
        guard let ms = metaspace, ms.split, let r0 = ms.replacement.first else {
            word(t, scratch: scratch, into: &out)
            return
        }
        let r = ms.replacement
        var start = 0, i = 0
        while i < t.count {
            if t[i] == r0 && i + r.count <= t.count && t[i..<(i + r.count)].elementsEqual(r) && i > start {
                word(UnsafeBufferPointer(rebasing: t[start..<i]), scratch: scratch, into: &out)
                start = i
            }
            i += 1
        }
        word(UnsafeBufferPointer(rebasing: t[start..<t.count]), scratch: scratch, into: &out)
    }

    /// A word in pieces no token spans (see `pairs`), each merged alone: the same ids as merging it whole.
    private func word(_ w: UnsafeBufferPointer<UInt8>, scratch: MergeScratch, into out: inout [Int]) {
        guard let pairs, w.count > 64 else { return wholeWord(w, scratch: scratch, into: &out) }
        var chunkStart = 0, i = 0, previous: UInt32 = 0
        let b = UnsafeMutableBufferPointer(mutating: w)
        while i < w.count {
            let (c, len) = Self.character(b, at: i)
            if i > chunkStart && !pairs.contains(UInt64(previous) << 32 | UInt64(c)) {
                wholeWord(UnsafeBufferPointer(rebasing: w[chunkStart..<i]), scratch: scratch, into: &out)
                chunkStart = i
            }
            previous = c
            i += len
        }
        wholeWord(UnsafeBufferPointer(rebasing: w[chunkStart..<w.count]), scratch: scratch, into: &out)
    }

    /// The UTF-8 character at `i` packed in a UInt32, and its length.
    @inline(__always)
    static func character(_ b: UnsafeMutableBufferPointer<UInt8>, at i: Int) -> (UInt32, Int) {
        SentencePieceTokenizer.character(b, at: i)
    }

    /// tokenizers `BPE::tokenize` of one word: whole word when `ignore_merges`, else characters merged by rank.
    private func wholeWord(_ w: UnsafeBufferPointer<UInt8>, scratch: MergeScratch, into out: inout [Int]) {
        guard let base = w.baseAddress, !w.isEmpty else { return }
        let n = w.count
        texts.storage.withUnsafeBufferPointer { storage in
            texts.offsets.withUnsafeBufferPointer { offsets in
                index.withSlots { slots in
                    let sb = storage.baseAddress ?? UnsafePointer(bitPattern: 1)!
                    if ignoreMerges, let id = index.lookup(base, n, storage: sb, offsets: offsets, slots: slots) {
                        out.append(id)
                        return
                    }
                    scratch.reserve(n)
                    var count = 0, i = 0, lastUnknown = false
                    while i < n {
                        let lead = base[i]
                        let len = min(lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4, n - i)
                        defer { i += len }
                        if let id = index.lookup(base + i, len, storage: sb, offsets: offsets, slots: slots) {
                            scratch.ids[count] = Int32(id); count += 1
                            lastUnknown = false
                            continue
                        }
                        if byteFallback && (0..<len).allSatisfy({ byteTokens[Int(base[i + $0])] >= 0 }) {
                            for k in 0..<len { scratch.ids[count] = byteTokens[Int(base[i + k])]; count += 1 }
                            lastUnknown = false
                            continue
                        }
                        guard let unk = unknownID else { continue }   // no unknown token: the character is dropped
                        if !(fuseUnknown && lastUnknown) { scratch.ids[count] = Int32(unk); count += 1 }
                        lastUnknown = true
                    }
                    count = merges.withView { BytePairMerge.merge(scratch, count: count, merges: $0) }
                    for k in 0..<count { out.append(Int(scratch.ids[k])) }
                }
            }
        }
    }

    // MARK: decode

    private func tokenTexts(_ ids: [Int]) throws(TokenizerError) -> [[UInt8]] {
        var out: [[UInt8]] = []
        out.reserveCapacity(ids.count)
        for id in ids {
            guard id >= 0 && id < vocabularySize else { throw .tokenIDOutOfRange(id: id, vocabularySize: vocabularySize) }
            out.append(Array(texts.bytes(id)))
        }
        return out
    }

    /// The text of `ids` as tokenizers' `decode(ids, skip_special_tokens=False)` gives it.
    public func decode(_ ids: [Int]) throws -> String {
        String(decoding: decoder.decode(try tokenTexts(ids), startOfText: true, lossy: true), as: UTF8.self)
    }

    public func decodeBytes(_ ids: [Int]) throws -> [UInt8] { try decodeBytes(ids, startOfText: true) }

    /// Raw bytes: byte-fallback runs stay bytes (for streaming); a continuation keeps its leading space.
    public func decodeBytes(_ ids: [Int], startOfText: Bool) throws -> [UInt8] {
        decoder.decode(try tokenTexts(ids), startOfText: startOfText, lossy: false)
    }

    public func piece(_ id: Int) -> String? {
        guard id >= 0 && id < vocabularySize else { return nil }
        return UTF8Repair.decode(decoder.decode([Array(texts.bytes(id))], startOfText: false, lossy: false))
    }

    public func specialTokenID(_ text: String) -> Int? { added.id(ofSpecial: text) }
}
