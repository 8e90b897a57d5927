// HF tokenizers' decoders for SentencePiece-style vocabularies (Replace, ByteFallback, Fuse, Strip, Metaspace), run on token bytes.

/// One decoder of a tokenizer.json `decoder` (alone or in a `Sequence`), as HF tokenizers' `decode_chain` runs it
/// on the list of token strings (tokenizers `decoders/*.rs`).
enum TokenDecoderStep: Sendable, Equatable {
    /// Every occurrence of `pattern` in each token becomes `content`.
    case replace(pattern: [UInt8], content: [UInt8])
    /// Runs of `<0xNN>` tokens become their bytes; a run that is not UTF-8 becomes one U+FFFD per byte.
    case byteFallback
    /// All tokens joined into one.
    case fuse
    /// Each token loses up to `start` leading and `stop` trailing copies of `content` (one character).
    case strip(content: [UInt8], start: Int, stop: Int)
    /// `replacement` becomes a space; in the first token it is dropped instead unless the scheme is "never".
    case metaspace(replacement: [UInt8], dropInFirst: Bool)
}

struct TokenDecoderChain: Sendable, Equatable {
    var steps: [TokenDecoderStep]

    /// The decoded bytes of `tokens`. `startOfText` false decodes a continuation: the first token is not the
    /// text's first (Metaspace keeps its spaces; after a Fuse, Strip leaves the start alone).
    /// `lossy` applies ByteFallback's U+FFFD rule; otherwise byte runs stay raw bytes (for streaming).
    func decode(_ tokens: [[UInt8]], startOfText: Bool, lossy: Bool) -> [UInt8] {
        var tokens = tokens
        var fused = false
        for step in steps {
            switch step {
            case .replace(let pattern, let content):
                for i in tokens.indices { tokens[i] = Self.replacing(tokens[i], pattern, content) }
            case .byteFallback:
                tokens = Self.byteFallback(tokens, lossy: lossy)
            case .fuse:
                tokens = [tokens.flatMap { $0 }]
                fused = true
            case .strip(let content, let start, let stop):
                for i in tokens.indices {
                    let keepStart = i == 0 && fused && !startOfText
                    tokens[i] = Self.stripped(tokens[i], content, start: keepStart ? 0 : start, stop: stop)
                }
            case .metaspace(let replacement, let dropInFirst):
                for i in tokens.indices {
                    let drop = i == 0 && dropInFirst && startOfText
                    tokens[i] = Self.replacing(tokens[i], replacement, drop ? [] : [0x20])
                }
            }
        }
        return tokens.flatMap { $0 }
    }

    /// The byte of a `<0xNN>` token (exactly six bytes, two hex digits of either case), or nil.
    static func fallbackByte(_ t: [UInt8]) -> UInt8? {
        guard t.count == 6, t[0] == 0x3C, t[1] == 0x30, t[2] == 0x78, t[5] == 0x3E,
              let hi = hexValue(t[3]), let lo = hexValue(t[4]) else { return nil }
        return hi << 4 | lo
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x41...0x46: return c - 0x41 + 10
        case 0x61...0x66: return c - 0x61 + 10
        default: return nil
        }
    }

    private static func byteFallback(_ tokens: [[UInt8]], lossy: Bool) -> [[UInt8]] {
        var out: [[UInt8]] = []
        out.reserveCapacity(tokens.count)
        var run: [UInt8] = []
        func flush() {
            guard !run.isEmpty else { return }
            let valid = run.withUnsafeBufferPointer { UTF8Repair.firstInvalidOffset($0) } == nil
            if valid || !lossy { out.append(run) } else {
                out.append(contentsOf: repeatElement([0xEF, 0xBF, 0xBD], count: run.count))
            }
            run.removeAll()
        }
        for t in tokens {
            if let b = fallbackByte(t) { run.append(b) } else { flush(); out.append(t) }
        }
        flush()
        return out
    }

    static func replacing(_ t: [UInt8], _ pattern: [UInt8], _ content: [UInt8]) -> [UInt8] {
        guard !pattern.isEmpty, t.count >= pattern.count else { return t }
        var out: [UInt8] = []
        out.reserveCapacity(t.count)
        var i = 0
        let n = pattern.count
        while i < t.count {
            if t[i] == pattern[0] && i + n <= t.count && t[i..<(i + n)].elementsEqual(pattern) {
                out.append(contentsOf: content)
                i += n
            } else {
                out.append(t[i])
                i += 1
            }
        }
        return out
    }

    private static func stripped(_ t: [UInt8], _ c: [UInt8], start: Int, stop: Int) -> [UInt8] {
        guard !c.isEmpty else { return t }
        var lo = 0, hi = t.count, k = 0
        while k < start && hi - lo >= c.count && t[lo..<(lo + c.count)].elementsEqual(c) { lo += c.count; k += 1 }
        k = 0
        while k < stop && hi - lo >= c.count && t[(hi - c.count)..<hi].elementsEqual(c) { hi -= c.count; k += 1 }
        return Array(t[lo..<hi])
    }
}
