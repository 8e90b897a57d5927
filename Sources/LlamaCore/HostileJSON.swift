// Parsing JSON from files we do not trust, and strict typed access to the values Foundation returns.

import Foundation

/// Parses `bytes` as JSON with Foundation; any failure becomes `.badHeader` naming `file` and `what`.
func parseJSON(_ bytes: UnsafeRawBufferPointer, file: String, what: String) throws -> Any {
    do {
        return try JSONSerialization.jsonObject(with: Data(bytes), options: [])
    } catch {
        let reason = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? "\(error)"
        throw ModelFileError(.badHeader, file: file, "\(what) is not valid JSON: \(reason)")
    }
}

/// A JSON integer as Int: nil for booleans, non-integral or out-of-range numbers, and non-numbers
/// (Foundation hands out NSNumber for all of these, and `as? Int` would accept `true` and `2.0`).
public func jsonInt(_ value: Any) -> Int? {
    guard let n = value as? NSNumber, !(n is NSDecimalNumber) else { return nil }
    switch String(cString: n.objCType) {
    case "c", "C", "B", "f", "d": return nil       // bool (a char) or floating point
    case "Q", "L", "I", "S": return Int(exactly: n.uint64Value)
    default: return Int(exactly: n.int64Value)
    }
}

/// A JSON string, nil for anything else.
func jsonString(_ value: Any) -> String? { value as? String }

/// What a JSON value is, for error messages.
public func jsonKind(_ value: Any) -> String {
    switch value {
    case is String: return "a string"
    case is NSNull: return "null"
    case is [Any]: return "an array"
    case is [String: Any]: return "an object"
    case let n as NSNumber:
        let t = String(cString: n.objCType)
        return t == "c" || t == "B" ? "a boolean" : jsonInt(n) != nil ? "an integer" : "a number (\(n))"
    default: return "\(type(of: value))"
    }
}
