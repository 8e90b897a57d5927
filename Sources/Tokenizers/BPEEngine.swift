// The shared byte-level BPE encoder/decoder behind the tiktoken and HF/GGUF tokenizers.

/// How tokens spelled in the input are found before BPE.
enum AddedTokenRule: Sendable {
    /// HF tokenizers / tiktoken: leftmost, then longest.
    case leftmostLongest(SpecialTokenMatcher)
    /// llama.cpp: longest token first over the whole text.
    case llama(LlamaTokenPartition)

    func segments(_ text: UnsafeBufferPointer<UInt8>, allowSpecial: Bool) -> [InputSegment] {
        switch self {
        case .leftmostLongest(let m): return m.segments(text, allowSpecial: allowSpecial)
        case .llama(let p): return p.segments(text, parseSpecial: allowSpecial)
        }
    }

    func id(ofSpecial text: String) -> Int? {
        switch self {
        case .leftmostLongest(let m): return m.id(ofSpecial: text)
        case .llama(let p): return p.id(of: text)
        }
    }
}

/// Immutable tables plus the encode and decode loops. The public tokenizers configure one of these.
final class BPEEngine: Sendable {
    /// Bytes of every id as the merges see it (for byte-level vocabularies the spelling mapped back to bytes).
    let tokens: TokenBytes
    /// Bytes of every id when decoding (llama.cpp: special tokens as their text, unused ones as nothing).
    let output: TokenBytes
    /// Bytes → id for the tokens a piece may become whole (used when `wholePieceFirst`).
    let pieceIndex: ByteStringIndex
    let merges: MergeTable
    /// Token of each single byte, or -1.
    let byteIDs: [Int32]
    let preTokenizer: PreTokenizer
    /// Emit a piece found in the vocabulary as one token without merging (tiktoken; HF `ignore_merges`).
    let wholePieceFirst: Bool
    /// Token for a byte with no token of its own; nil drops the byte (HF BPE without `unk_token`).
    let unknownID: Int32?
    let added: AddedTokenRule
    /// NFC-normalize each stretch of text between added tokens before splitting it (HF `NFC` normalizer).
    let normalizeNFC: Bool

    convenience init(tokens: TokenBytes, mergeable: some Sequence<Int>, merges: MergeTable, preTokenizer: PreTokenizer,
                     wholePieceFirst: Bool, unknownID: Int?, added: [AddedToken], normalizeNFC: Bool = false) {
        self.init(tokens: tokens, output: tokens, mergeable: mergeable, merges: merges, preTokenizer: preTokenizer,
                  wholePieceFirst: wholePieceFirst, unknownID: unknownID, added: .leftmostLongest(SpecialTokenMatcher(added)),
                  normalizeNFC: normalizeNFC)
    }

    init(tokens: TokenBytes, output: TokenBytes, mergeable: some Sequence<Int>, merges: MergeTable,
         preTokenizer: PreTokenizer, wholePieceFirst: Bool, unknownID: Int?, added: AddedTokenRule,
         normalizeNFC: Bool = false) {
        self.normalizeNFC = normalizeNFC
        self.tokens = tokens
        self.output = output
        self.pieceIndex = ByteStringIndex(tokens, ids: wholePieceFirst ? Array(mergeable) : [])
        var byteIDs = [Int32](repeating: -1, count: 256)
        let singles = ByteStringIndex(tokens, ids: Array(mergeable).filter { tokens.bytes($0).count == 1 })
        for b in 0..<256 {
            if let id = singles.lookup([UInt8(b)], in: tokens) { byteIDs[b] = Int32(id) }
        }
        self.byteIDs = byteIDs
        self.merges = merges
        self.preTokenizer = preTokenizer
        self.wholePieceFirst = wholePieceFirst
        self.unknownID = unknownID.map(Int32.init)
        self.added = added
    }

    var vocabularySize: Int { output.count }

    // MARK: encode

    /// Encodes valid UTF-8, appending ids to `out`.
    func encode(_ text: UnsafeBufferPointer<UInt8>, allowSpecial: Bool, into out: inout [Int]) {
        out.reserveCapacity(out.count + text.count / 3 + 4)
        let scratch = MergeScratch()
        ScalarClass.table.withUnsafeBufferPointer { classes in
            let classified = ClassifiedUTF8(bytes: text, classes: classes)
            for segment in added.segments(text, allowSpecial: allowSpecial) {
                switch segment {
                case .text(let range):
                    if normalizeNFC, let normalized = NFC.normalizedIfChanged(UnsafeBufferPointer(rebasing: text[range])) {
                        normalized.withUnsafeBufferPointer { n in
                            encodeOrdinary(ClassifiedUTF8(bytes: n, classes: classes), 0..<n.count, scratch, &out)
                        }
                    } else {
                        encodeOrdinary(classified, range, scratch, &out)
                    }
                case .token(let id): out.append(id)
                }
            }
        }
    }

    private func encodeOrdinary(_ text: ClassifiedUTF8, _ range: Range<Int>, _ scratch: MergeScratch,
                                _ out: inout [Int]) {
        tokens.storage.withUnsafeBufferPointer { storage in
            tokens.offsets.withUnsafeBufferPointer { offsets in
                pieceIndex.withSlots { slots in
                    byteIDs.withUnsafeBufferPointer { byteIDs in
                        merges.withView { merges in
                            let sb = storage.baseAddress ?? UnsafePointer(bitPattern: 1)!
                            let base = text.bytes.baseAddress!
                            var splitter = PieceSplitter(text, kind: preTokenizer, range: range)
                            var start = range.lowerBound
                            while let end = splitter.next() {
                                let n = end - start
                                if n == 1 {
                                    let id = byteIDs[Int(base[start])]
                                    if id >= 0 { out.append(Int(id)) } else if let u = unknownID { out.append(Int(u)) }
                                } else if wholePieceFirst,
                                          let id = pieceIndex.lookup(base + start, n, storage: sb, offsets: offsets,
                                                                     slots: slots) {
                                    out.append(id)
                                } else {
                                    scratch.reserve(n)
                                    var count = 0
                                    for k in start..<end {
                                        let id = byteIDs[Int(base[k])]
                                        if id >= 0 { scratch.ids[count] = id; count += 1 } else if let u = unknownID {
                                            scratch.ids[count] = u; count += 1
                                        }
                                    }
                                    count = BytePairMerge.merge(scratch, count: count, merges: merges)
                                    for k in 0..<count { out.append(Int(scratch.ids[k])) }
                                }
                                start = end
                            }
                        }
                    }
                }
            }
        }
    }

    // MARK: decode

    func decodeBytes(_ ids: [Int]) throws(TokenizerError) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(ids.count * 4)
        let n = output.count
        for id in ids {
            guard id >= 0 && id < n else { throw .tokenIDOutOfRange(id: id, vocabularySize: n) }
            out.append(contentsOf: output.bytes(id))
        }
        return out
    }

    func piece(_ id: Int) -> String? {
        guard id >= 0 && id < output.count else { return nil }
        return UTF8Repair.decode(Array(output.bytes(id)))
    }
}
