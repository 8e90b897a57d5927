// The Unicode classes the pre-tokenizer regexes test: \p{L}, \p{N}, \s, with \r and \n apart.

/// Class of one scalar for the pre-tokenizer regexes.
enum ScalarClass: UInt8 {
    /// Neither letter, number nor whitespace (`[^\s\p{L}\p{N}]`).
    case other = 0
    /// General category L* (`\p{L}`).
    case letter = 1
    /// General category Nd, Nl, No (`\p{N}`).
    case number = 2
    /// White_Space other than \r and \n (`\s`).
    case space = 3
    /// \r or \n.
    case newline = 4

    var isWhitespace: Bool { rawValue >= 3 }

    static func of(_ scalar: Unicode.Scalar) -> ScalarClass {
        if scalar == "\r" || scalar == "\n" { return .newline }
        let p = scalar.properties
        if p.isWhitespace { return .space }
        switch p.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return .letter
        case .decimalNumber, .letterNumber, .otherNumber: return .number
        default: return .other
        }
    }

    /// Scalars below this have their class in `table`; above it it is computed.
    static let tableLimit: UInt32 = 0x30000

    /// Classes of all scalars below `tableLimit` (BMP and planes 1–2), built once on first use.
    static let table: [ScalarClass] = {
        var t = [ScalarClass](repeating: .other, count: Int(tableLimit))
        for v in 0..<tableLimit {
            if let s = Unicode.Scalar(v) { t[Int(v)] = of(s) }
        }
        return t
    }()
}

/// Reads scalars and their classes from valid UTF-8.
struct ClassifiedUTF8 {
    let bytes: UnsafeBufferPointer<UInt8>
    let classes: UnsafeBufferPointer<ScalarClass>

    /// Class and byte length of the scalar starting at `i` (the bytes must be valid UTF-8).
    @inline(__always)
    func scalar(at i: Int) -> (ScalarClass, Int) {
        let b0 = UInt32(bytes[i])
        if b0 < 0x80 { return (classes[Int(b0)], 1) }
        let v: UInt32, n: Int
        if b0 < 0xE0 {
            v = (b0 & 0x1F) << 6 | UInt32(bytes[i + 1] & 0x3F); n = 2
        } else if b0 < 0xF0 {
            v = (b0 & 0x0F) << 12 | UInt32(bytes[i + 1] & 0x3F) << 6 | UInt32(bytes[i + 2] & 0x3F); n = 3
        } else {
            v = (b0 & 0x07) << 18 | UInt32(bytes[i + 1] & 0x3F) << 12 | UInt32(bytes[i + 2] & 0x3F) << 6
                | UInt32(bytes[i + 3] & 0x3F); n = 4
        }
        if v < ScalarClass.tableLimit { return (classes[Int(v)], n) }
        return (ScalarClass.of(Unicode.Scalar(v) ?? "\u{FFFD}"), n)
    }
}
