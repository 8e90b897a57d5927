// A 200 application/json response from a JSONValue.
import Hummingbird

enum JSONResponse {
    static func ok(_ json: JSONValue) -> Response {
        var fields = HTTPFields()
        fields[.contentType] = "application/json"
        return Response(status: .ok, headers: fields, body: .init(byteBuffer: ByteBuffer(string: json.serialized())))
    }
}
