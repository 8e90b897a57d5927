// Reads a request body (413 past the limit) and decodes its JSON, turning every decoding failure into a 400 naming the field.
import Foundation
import Hummingbird
import NIOCore

enum RequestDecoding {
    /// The whole body, refused with 413 as soon as it is known to be larger than `limit` (Content-Length first,
    /// then while reading, for chunked bodies).
    static func body(of request: inout Request, limit: Int) async throws -> ByteBuffer {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw OpenAIError.bodyTooLarge(limit: limit)
        }
        do {
            return try await request.collectBody(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw OpenAIError.bodyTooLarge(limit: limit)
        }
    }

    /// Decodes `T` from JSON. Malformed JSON, a wrong type, a missing field or a bad value each become a 400
    /// `invalid_request_error` whose `param` is the field's path (`messages.0.content`).
    static func decode<T: Decodable>(_ type: T.Type, from buffer: ByteBuffer) throws -> T {
        let data = Data(buffer.readableBytesView)
        guard !data.isEmpty else {
            throw OpenAIError.invalid("The request body is empty: send a JSON object (Content-Type: application/json)")
        }
        // A body that is not JSON at all is told apart from JSON of the wrong shape.
        let parsed: Any
        do {
            parsed = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])
        } catch {
            throw OpenAIError.invalid("The request body is not valid JSON: \(describe(error))", code: "invalid_json")
        }
        guard parsed is [String: Any] else {
            throw OpenAIError.invalid("The request body must be a JSON object", code: "invalid_json")
        }
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch let error as DecodingError {
            throw openAIError(error)
        } catch let error as OpenAIError {
            throw error
        }
    }

    static func openAIError(_ error: DecodingError) -> OpenAIError {
        switch error {
        case .typeMismatch(let type, let context):
            let path = self.path(context.codingPath)
            return .invalid("Invalid type for '\(path)': expected \(typeName(type))", param: path, code: "invalid_type")
        case .valueNotFound(let type, let context):
            let path = self.path(context.codingPath)
            return .invalid("Invalid value for '\(path)': expected \(typeName(type)), got null", param: path, code: "invalid_type")
        case .keyNotFound(let key, let context):
            let path = self.path(context.codingPath + [key])
            return .invalid("Missing required parameter: '\(path)'", param: path, code: "missing_required_parameter")
        case .dataCorrupted(let context):
            let path = self.path(context.codingPath)
            return .invalid("Invalid value for '\(path)': \(context.debugDescription)", param: path.isEmpty ? nil : path, code: "invalid_value")
        @unknown default:
            return .invalid("The request body could not be decoded")
        }
    }

    /// `messages.0.content`, as OpenAI names nested fields.
    static func path(_ keys: [any CodingKey]) -> String {
        keys.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
    }

    static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Bool.Type: return "a boolean"
        case is Int.Type, is Int64.Type: return "an integer"
        case is Double.Type, is Float.Type: return "a number"
        case is [Any].Type: return "an array"
        case is [String: Any].Type: return "an object"
        default:
            let name = String(describing: type)
            if name.hasPrefix("Array") { return "an array" }
            if name.hasPrefix("Dictionary") { return "an object" }
            return "a valid value"
        }
    }

    /// The parser's complaint without Foundation's internal error domain text.
    static func describe(_ error: any Error) -> String {
        let ns = error as NSError
        return (ns.userInfo[NSDebugDescriptionErrorKey] as? String) ?? ns.localizedDescription
    }
}
