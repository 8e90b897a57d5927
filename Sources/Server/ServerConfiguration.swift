// What `npu-llama serve` was started with: address, queue, deadline, body limit, API key, CORS.

public struct ServerConfiguration: Sendable {
    /// Address to bind; loopback unless the user says otherwise.
    public var host: String = "127.0.0.1"
    /// Port; 0 picks a free one (the running line names it).
    public var port: Int = 8080
    /// Requests that may wait for the device while one runs; one more is answered 429 with Retry-After.
    public var queueCapacity: Int = 8
    /// Each request's deadline from its arrival, in seconds: past it a waiting request is answered 503 and a
    /// running one stops at its next token with finish_reason "length".
    public var requestTimeout: Double = 600
    /// Largest request body accepted; larger is answered 413.
    public var maxBodyBytes: Int = 1 << 20
    /// When set, /v1/* requires `Authorization: Bearer <apiKey>` (401 otherwise).
    public var apiKey: String?
    /// Answer CORS preflights and add Access-Control-Allow-Origin: * (off by default).
    public var cors: Bool = false
    /// A connection that sends nothing for this long while no request of it is running is closed (slow or
    /// stalled clients cannot hold a connection forever).
    public var idleTimeout: Double = 60

    public init() {}
}
