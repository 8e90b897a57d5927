// The endpoints around generation: GET /health, /metrics, /openapi.json, /v1/models and /v1/models/{model}.
import Hummingbird

struct ServiceEndpoints: Sendable {
    let scheduler: DeviceScheduler
    let metrics: ServerMetrics

    /// Always answers at once, whatever the device is doing (it never waits for the device).
    func health() -> Response {
        let state = scheduler.state
        return JSONResponse.ok(.object([
            ("status", .string("ok")), ("model", .string(scheduler.served.id)), ("device", .string(scheduler.served.deviceLabel)),
            ("context_length", .int(scheduler.served.contextLength)), ("busy", .bool(state.running)),
            ("queue_depth", .int(state.waiting)), ("queue_capacity", .int(scheduler.capacity)),
        ]))
    }

    func prometheus() -> Response {
        let state = scheduler.state
        let text = metrics.render(waiting: state.waiting, running: state.running, capacity: scheduler.capacity,
                                  device: scheduler.served.deviceLabel)
        var fields = HTTPFields()
        fields[.contentType] = PrometheusText.contentType
        return Response(status: .ok, headers: fields, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    func openAPI() throws -> Response {
        guard let data = OpenAPIDocument.data else { throw OpenAIError.internalError("the OpenAPI document is missing from the build") }
        var fields = HTTPFields()
        fields[.contentType] = "application/json"
        return Response(status: .ok, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    var modelObject: JSONValue {
        .object([("id", .string(scheduler.served.id)), ("object", .string("model")), ("created", .int(scheduler.served.created)),
                 ("owned_by", .string("npu-llama"))])
    }

    func models() -> Response {
        JSONResponse.ok(.object([("object", .string("list")), ("data", .array([modelObject]))]))
    }

    func model(_ id: String) throws -> Response {
        guard id == scheduler.served.id else { throw OpenAIError.modelNotFound(id, served: scheduler.served.id) }
        return JSONResponse.ok(modelObject)
    }
}
