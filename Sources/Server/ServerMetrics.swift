// The server's counters and histograms, rendered as Prometheus text at GET /metrics.
import Foundation

/// Requests by endpoint and status, tokens in and out (and reused from the KV cache), rejections, cancellations,
/// deadlines, and histograms of queue wait, time to first token and decode speed. Thread-safe.
public final class ServerMetrics: @unchecked Sendable {
    private let lock = NSLock()
    private var requests: [String: [Int: Int]] = [:]
    private var promptTokens = 0
    private var cachedPromptTokens = 0
    private var generatedTokens = 0
    private var rejected = 0
    private var cancelled = 0
    private var deadlines = 0
    private var deviceFailures = 0
    private var queueWait = PrometheusHistogram(bounds: [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300])
    private var timeToFirstToken = PrometheusHistogram(bounds: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60])
    private var decodeSpeed = PrometheusHistogram(bounds: [1, 2, 5, 10, 20, 30, 50, 75, 100, 150, 200, 500])

    public init() {}

    /// Endpoints counted by name; anything else (unknown paths) as "other", so fuzzed paths cannot grow the label set.
    static let endpoints: Set<String> = ["/v1/chat/completions", "/v1/completions", "/v1/models", "/health", "/metrics", "/openapi.json"]

    func recordRequest(path: String, status: Int) {
        let endpoint = Self.endpoints.contains(path) ? path : (path.hasPrefix("/v1/models/") ? "/v1/models/{model}" : "other")
        lock.withLock { requests[endpoint, default: [:]][status, default: 0] += 1 }
        if status == 429 { lock.withLock { rejected += 1 } }
    }

    func recordGeneration(_ s: GenerationSummary) {
        lock.withLock {
            promptTokens += s.promptTokens
            cachedPromptTokens += s.cachedTokens
            generatedTokens += s.completionTokens
            queueWait.observe(s.queueSeconds)
            timeToFirstToken.observe(s.timeToFirstTokenSeconds)
            if s.completionTokens >= 2 { decodeSpeed.observe(s.decodeTokensPerSecond) }
        }
    }

    /// Tokens of a request whose client left while it ran: counted in and out, with no timings.
    func recordCancelledGeneration(promptTokens: Int, cachedTokens: Int, completionTokens: Int) {
        lock.withLock {
            self.promptTokens += promptTokens
            cachedPromptTokens += cachedTokens
            generatedTokens += completionTokens
        }
    }

    func recordCancelled() { lock.withLock { cancelled += 1 } }
    func recordDeadlineExceeded() { lock.withLock { deadlines += 1 } }
    func recordDeviceFailure() { lock.withLock { deviceFailures += 1 } }

    /// The exposition text; the gauges are read from the scheduler at scrape time.
    public func render(waiting: Int, running: Bool, capacity: Int, device: String) -> String {
        lock.withLock {
            var out: [String] = []
            out += PrometheusText.header("npu_llama_requests_total", "counter", "HTTP requests answered, by endpoint and status code.")
            for endpoint in requests.keys.sorted() {
                for status in requests[endpoint]!.keys.sorted() {
                    out.append("npu_llama_requests_total{endpoint=\"\(PrometheusText.label(endpoint))\",status=\"\(status)\"} \(requests[endpoint]![status]!)")
                }
            }
            func counter(_ name: String, _ help: String, _ value: Int) {
                out += PrometheusText.header(name, "counter", help)
                out.append("\(name) \(value)")
            }
            func gauge(_ name: String, _ help: String, _ value: Int) {
                out += PrometheusText.header(name, "gauge", help)
                out.append("\(name) \(value)")
            }
            counter("npu_llama_prompt_tokens_total", "Prompt tokens of the requests run (tokens in).", promptTokens)
            counter("npu_llama_prompt_tokens_cached_total", "Prompt tokens whose K/V was reused from the previous request instead of prefilled.", cachedPromptTokens)
            counter("npu_llama_generated_tokens_total", "Tokens generated (tokens out).", generatedTokens)
            counter("npu_llama_requests_rejected_total", "Requests answered 429 because the queue was full.", rejected)
            counter("npu_llama_requests_cancelled_total", "Requests whose client went away before they finished.", cancelled)
            counter("npu_llama_requests_deadline_exceeded_total", "Requests that reached their deadline (503 while waiting, finish_reason length while running).", deadlines)
            counter("npu_llama_device_failures_total", "Requests the device failed to run.", deviceFailures)
            gauge("npu_llama_queue_depth", "Requests waiting for the device.", waiting)
            gauge("npu_llama_queue_capacity", "Requests that may wait (--queue).", capacity)
            out += PrometheusText.header("npu_llama_device_busy", "gauge", "1 while a request runs on the device.")
            out.append("npu_llama_device_busy{device=\"\(PrometheusText.label(device))\"} \(running ? 1 : 0)")
            out += PrometheusText.header("npu_llama_queue_wait_seconds", "histogram", "Seconds from arrival to the device starting a request.")
            out += queueWait.lines("npu_llama_queue_wait_seconds")
            out += PrometheusText.header("npu_llama_time_to_first_token_seconds", "histogram", "Seconds from the device starting a request to its first token (prefill).")
            out += timeToFirstToken.lines("npu_llama_time_to_first_token_seconds")
            out += PrometheusText.header("npu_llama_decode_tokens_per_second", "histogram", "Decode speed of each request of 2 or more tokens (wall clock on the serving device).")
            out += decodeSpeed.lines("npu_llama_decode_tokens_per_second")
            return out.joined(separator: "\n") + "\n"
        }
    }
}
