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

/// JSONSerialization stores JSON true/false as a char-typed NSNumber.
func isJSONBool(_ n: NSNumber) -> Bool {
    String(cString: n.objCType) == "c"
}

/// Typed, key-naming access to a JSON object.
struct JSONKeys {
    let json: [String: Any]
    let file: String
    let prefix: String
    init(_ json: [String: Any], file: String, prefix: String = "") {
        self.json = json
        self.file = file
        self.prefix = prefix
    }

    func wrongType(_ key: String, _ expected: String) -> ModelFileError {
        ModelFileError(.badValue, file: file, "\(prefix)\(key) must be \(expected)")
    }
    func missing(_ key: String) -> ModelFileError {
        ModelFileError(.missingKey, file: file, "required key \(prefix)\(key) is missing")
    }
    private func present(_ key: String) -> Any? {
        guard let v = json[key], !(v is NSNull) else { return nil }
        return v
    }
    func int(_ key: String) throws -> Int? {
        guard let v = present(key) else { return nil }
        guard let n = jsonInt(v) else { throw wrongType(key, "an integer") }
        return n
    }
    func requiredInt(_ key: String) throws -> Int {
        guard let v = try int(key) else { throw missing(key) }
        return v
    }
    func double(_ key: String) throws -> Double? {
        guard let v = present(key) else { return nil }
        guard let n = v as? NSNumber, !isJSONBool(n), n.doubleValue.isFinite else { throw wrongType(key, "a number") }
        return n.doubleValue
    }
    func requiredDouble(_ key: String) throws -> Double {
        guard let v = try double(key) else { throw missing(key) }
        return v
    }
    func string(_ key: String) throws -> String? {
        guard let v = present(key) else { return nil }
        guard let s = v as? String else { throw wrongType(key, "a string") }
        return s
    }
    func bool(_ key: String) throws -> Bool? {
        guard let v = present(key) else { return nil }
        guard let n = v as? NSNumber, isJSONBool(n) else { throw wrongType(key, "true or false") }
        return n.boolValue
    }
    func object(_ key: String) throws -> [String: Any]? {
        guard let v = present(key) else { return nil }
        guard let o = v as? [String: Any] else { throw wrongType(key, "an object") }
        return o
    }
}
