// llama.cpp's regex lists run as `unicode_regex_split` does: each step splits every piece the last one made.

extension PieceSplitter {
    /// The end byte offsets of the pieces of `text[range]` after all `steps`.
    static func pieceEnds(_ text: ClassifiedUTF8, _ steps: [SplitStep], _ range: Range<Int>) -> [Int] {
        guard !range.isEmpty else { return [] }
        // Code points of the range and the byte offset each starts at (plus the end).
        var scalars: [UInt32] = []
        var starts: [Int] = []
        scalars.reserveCapacity(range.count)
        var i = range.lowerBound
        while i < range.upperBound {
            let (v, n) = text.codePoint(at: i)
            scalars.append(v)
            starts.append(i)
            i += n
        }
        starts.append(range.upperBound)
        var indexOfByte = [Int32](repeating: -1, count: range.count + 1)
        for (k, b) in starts.enumerated() { indexOfByte[b - range.lowerBound] = Int32(k) }

        var lengths = [scalars.count]   // pieces, in code points
        var subjects: [RegexDialect: RegexSubject] = [:]
        for step in steps {
            var next: [Int] = []
            next.reserveCapacity(lengths.count * 2)
            var at = 0
            for length in lengths {
                let piece = at..<(at + length)
                switch step {
                case .gpt2, .llama3Like:
                    let splitter = PieceSplitter(text, kind: .gpt2, range: starts[piece.lowerBound]..<starts[piece.upperBound])
                    var last = piece.lowerBound, pos = starts[piece.lowerBound]
                    while pos < starts[piece.upperBound] {
                        let e: Int
                        if case .llama3Like(let digits) = step {
                            e = splitter.llama3(pos, starts[piece.upperBound], digits: digits, foldLongS: false)
                        } else {
                            e = splitter.gpt2(pos, starts[piece.upperBound])
                        }
                        let k = Int(indexOfByte[e - range.lowerBound])
                        next.append(k - last)
                        last = k
                        pos = e
                    }
                case .regex(let regex):
                    if subjects[regex.dialect] == nil {
                        subjects[regex.dialect] = UnicodeCategory.subject(scalars, dialect: regex.dialect)
                    }
                    var subject = subjects[regex.dialect]!
                    subject.anchorStart = piece.lowerBound
                    regex.split(subject, piece, into: &next)
                }
                at += length
            }
            lengths = next
        }
        var ends: [Int] = []
        ends.reserveCapacity(lengths.count)
        var at = 0
        for length in lengths where length > 0 {
            at += length
            ends.append(starts[at])
        }
        return ends
    }
}

extension ClassifiedUTF8 {
    /// The code point starting at `i` and its byte length (the bytes must be valid UTF-8).
    @inline(__always)
    func codePoint(at i: Int) -> (UInt32, Int) {
        let b0 = UInt32(bytes[i])
        if b0 < 0x80 { return (b0, 1) }
        if b0 < 0xE0 { return ((b0 & 0x1F) << 6 | UInt32(bytes[i + 1] & 0x3F), 2) }
        if b0 < 0xF0 {
            return ((b0 & 0x0F) << 12 | UInt32(bytes[i + 1] & 0x3F) << 6 | UInt32(bytes[i + 2] & 0x3F), 3)
        }
        return ((b0 & 0x07) << 18 | UInt32(bytes[i + 1] & 0x3F) << 12 | UInt32(bytes[i + 2] & 0x3F) << 6
                | UInt32(bytes[i + 3] & 0x3F), 4)
    }
}
