// Unicode NFC normalization of UTF-8 text (HF tokenizers' `NFC` normalizer, used by Qwen2's tokenizer.json).
import Foundation

enum NFC {
    /// The NFC form of valid UTF-8 `text`, or nil when it is already NFC by the quick check used here:
    /// ASCII text and text without combining-capable bytes is left alone without calling Foundation.
    static func normalizedIfChanged(_ text: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        // Every scalar below U+0300 is NFC-stable and never composes with a preceding scalar
        // (the first combining marks and the first canonical decompositions start at U+0300 / U+00C0, and
        // U+00C0–U+02FF are precomposed forms which NFC keeps). Lead bytes below 0xCC encode scalars below U+0300.
        guard text.contains(where: { $0 >= 0xCC }) else { return nil }
        let s = String(decoding: text, as: UTF8.self)
        let n = s.precomposedStringWithCanonicalMapping
        let bytes = Array(n.utf8)
        return bytes.elementsEqual(text) ? nil : bytes
    }
}
