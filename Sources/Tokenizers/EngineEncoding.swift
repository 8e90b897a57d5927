// The encode entry points shared by the public tokenizers: BOS, String and raw-byte input.

extension BPEEngine {
    func encode(_ text: String, bos: Int?, addBOS: Bool, allowSpecial: Bool) throws(TokenizerError) -> [Int] {
        var out: [Int] = []
        if addBOS {
            guard let bos else { throw .noBOSToken }
            out.append(bos)
        }
        var text = text
        text.withUTF8 { encode($0, allowSpecial: allowSpecial, into: &out) }
        return out
    }

    func encode(bytes: [UInt8], bos: Int?, addBOS: Bool, allowSpecial: Bool,
                invalidUTF8: InvalidUTF8Policy) throws(TokenizerError) -> [Int] {
        let bad = bytes.withUnsafeBufferPointer { UTF8Repair.firstInvalidOffset($0) }
        if let bad {
            switch invalidUTF8 {
            case .fail: throw .invalidUTF8(byteOffset: bad)
            case .replace:
                return try encode(UTF8Repair.decode(bytes), bos: bos, addBOS: addBOS, allowSpecial: allowSpecial)
            }
        }
        var out: [Int] = []
        if addBOS {
            guard let bos else { throw .noBOSToken }
            out.append(bos)
        }
        bytes.withUnsafeBufferPointer { encode($0, allowSpecial: allowSpecial, into: &out) }
        return out
    }
}
