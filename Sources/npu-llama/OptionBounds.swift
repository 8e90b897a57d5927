// Numeric options: each parsed against its allowed range at parse time, so nothing is opened or allocated for a bad value.
import ArgumentParser
import Foundation

/// A numeric option's name and allowed range. `parse` is the option's ArgumentParser transform: a value that is not a
/// number, not finite, or outside the range fails with one line naming the option and the range. Options declared
/// with it use `parsing: .unconditional`, so "-1" is read as the value it is and not as a missing one.
struct OptionBounds<Value: Comparable & LosslessStringConvertible & Sendable>: Sendable {
    let option: String
    let range: ClosedRange<Value>
    /// A lower bound the value must exceed (for "more than 0"), checked besides `range`.
    var above: Value?
    /// What the range means, e.g. "1 = off".
    var note: String?

    init(_ option: String, _ range: ClosedRange<Value>, above: Value? = nil, note: String? = nil) {
        self.option = option
        self.range = range
        self.above = above
        self.note = note
    }

    /// "a whole number in 0…131072 (note)" or "a number more than 0 and at most 10 (note)".
    var allowed: String {
        let isFloat = Value.self == Float.self || Value.self == Double.self
        func show(_ v: Value) -> String { isFloat ? String(format: "%.10g", Double("\(v)") ?? 0) : "\(v)" }
        let span = above.map { "more than \(show($0)) and at most \(show(range.upperBound))" }
            ?? "in \(show(range.lowerBound))…\(show(range.upperBound))"
        return "\(isFloat ? "a number" : "a whole number") \(span)" + (note.map { " (\($0))" } ?? "")
    }

    func failure(_ text: String) -> OptionValueError {
        OptionValueError(message: "\(option) must be \(allowed); got '\(text)'")
    }

    /// The option's value, or an error naming the option and its range.
    func parse(_ text: String) throws -> Value {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let value = Value(trimmed) else {
            // A whole number too large for the type is "outside the range", not "not a number".
            throw failure(text)
        }
        try check(value, text: text)
        return value
    }

    /// Checks a value (a parsed one, or one computed from defaults).
    func check(_ value: Value, text: String? = nil) throws {
        if let f = value as? any BinaryFloatingPoint, !(Double(f).isFinite) { throw failure(text ?? "\(value)") }
        guard range.contains(value), above.map({ value > $0 }) ?? true else { throw failure(text ?? "\(value)") }
    }
}

/// A bad option value: its message is the whole sentence (ArgumentParser prefixes the value and option).
struct OptionValueError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// The ranges of every numeric option, in one place. Sizes have hard ceilings that hold for any model; what
/// depends on the model (its context) is checked once the model's config is read, before weights are converted.
enum Bounds {
    /// The longest context any option may ask for (the largest Llama 3 context); the model's own maximum is
    /// checked after it is opened.
    static let maxContext = 131_072
    static let context = OptionBounds<Int>("--context", 1...maxContext, note: "and at most the model's maximum")
    static let maxTokens = OptionBounds<Int>("--max-tokens", 0...maxContext)
    static let chatMaxTokens = OptionBounds<Int>("--max-tokens", 1...maxContext)
    static let promptTokens = OptionBounds<Int>("--prompt-tokens", 1...maxContext, note: "and at most the model's context")
    static let genTokens = OptionBounds<Int>("--gen-tokens", 1...maxContext, note: "and at most the model's context")
    static let repetitions = OptionBounds<Int>("--repetitions", 1...1000)
    static let decodeSteps = OptionBounds<Int>("--decode-steps", 0...maxContext)
    static let kernelContext = OptionBounds<Int>("--ctx", 1...maxContext, note: "and at most the model's maximum")
    static let chunk = OptionBounds<Int>("--chunk", 1...8192)
    // Sampling (llama.cpp's meanings; see LlamaCore.SamplingParameters).
    static let temperature = OptionBounds<Float>("--temperature", 0...100, note: "0 = greedy")
    static let topK = OptionBounds<Int>("--top-k", 0...Int(Int32.max), note: "0 = off")
    static let topP = OptionBounds<Float>("--top-p", 0...1, note: "1 = off")
    static let minP = OptionBounds<Float>("--min-p", 0...1, note: "0 = off")
    static let repeatPenalty = OptionBounds<Float>("--repeat-penalty", 0...10, above: 0, note: "1 = off")
    static let repeatLastN = OptionBounds<Int>("--repeat-last-n", -1...maxContext, note: "0 = off, -1 = the whole context")
    static let presencePenalty = OptionBounds<Float>("--presence-penalty", -2...2, note: "0 = off")
    static let frequencyPenalty = OptionBounds<Float>("--frequency-penalty", -2...2, note: "0 = off")
    static let seed = OptionBounds<UInt64>("--seed", 0...UInt64.max)
    // serve
    static let port = OptionBounds<Int>("--port", 0...65535, note: "0 = any free port")
    static let queue = OptionBounds<Int>("--queue", 0...10_000)
    static let timeout = OptionBounds<Double>("--timeout", 0...31_536_000, above: 0, note: "seconds")
    static let maxBody = OptionBounds<Int>("--max-body", 1024...(1 << 30), note: "bytes")

    /// A context for a model: at most the model's maximum.
    static func checkContext(_ value: Int, option: String = "--context", modelMaximum: Int) throws {
        guard value >= 1, value <= modelMaximum else {
            throw UserFacingError(message: "\(option) \(value) is outside 1…\(modelMaximum) (the model's maximum context)",
                                  hint: nil, code: ExitCodes.usage)
        }
    }
}
