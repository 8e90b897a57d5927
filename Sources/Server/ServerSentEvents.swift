// Server-sent events as OpenAI streams them: `data: {json}` blocks, then `data: [DONE]`.
import HTTPTypes
import Hummingbird

enum ServerSentEvents {
    /// One event: `data: <json>` and a blank line. JSON text holds no raw newline, so one `data:` line suffices.
    static func event(_ json: JSONValue) -> ByteBuffer {
        ByteBuffer(string: "data: " + json.serialized() + "\n\n")
    }

    static let done = ByteBuffer(string: "data: [DONE]\n\n")

    /// Headers of a stream: no caching or proxy buffering, so each token reaches the client as it is made.
    static var headers: HTTPFields {
        var fields = HTTPFields()
        fields[.contentType] = "text/event-stream; charset=utf-8"
        fields[.cacheControl] = "no-cache"
        fields[HTTPField.Name("X-Accel-Buffering")!] = "no"
        return fields
    }
}
