// One device, one request at a time in arrival order: the bounded queue (429 when full), deadlines, cancellation
// within one token, and KV prefix reuse between requests.
import Foundation
import LlamaCore
import Scheduler

/// Owns the backend. Handlers `submit` validated requests; one worker thread runs them through `Generator`, in the
/// order they arrived, and reports each token to the job's handler. The backend is touched by that thread only.
public final class DeviceScheduler: @unchecked Sendable {
    public let served: ServedModel
    public let capacity: Int
    public let requestTimeout: Double
    let metrics: ServerMetrics

    private let generator: Generator
    private let condition = NSCondition()
    private var waiting: [GenerationJob] = []
    private var running: GenerationJob?
    private var stopping = false
    private var arrivals = 0
    /// Recent seconds per request on the device (exponential average), for Retry-After.
    private var serviceSeconds = 1.0
    private var worker: Thread?
    private let workerDone = DispatchSemaphore(value: 0)
    /// The ids the backend's KV cache holds (worker thread only).
    private var prefixCache = PrefixCache()
    private let clock = ContinuousClock()

    /// `capacity`: requests that may wait while one runs. `requestTimeout`: seconds from arrival to each deadline.
    public init(backend: Backend, served: ServedModel, capacity: Int, requestTimeout: Double, metrics: ServerMetrics) {
        self.generator = Generator(backend: backend)
        self.served = served
        self.capacity = capacity
        self.requestTimeout = requestTimeout
        self.metrics = metrics
        let thread = Thread { self.workLoop() }   // the server lives as long as its device thread
        thread.name = "npu-llama device"
        thread.stackSize = 16 << 20
        worker = thread
        thread.start()
    }

    /// Requests waiting (not counting the one running) and whether one runs.
    public var state: (waiting: Int, running: Bool) {
        condition.withLock { (waiting.count, running != nil) }
    }

    /// Queues `request` behind those already waiting, or throws 429 (queue full, with Retry-After) or 503 (stopping).
    /// `timeout`: seconds to this request's deadline (default: the server's).
    public func submit(_ request: GenerationRequest, timeout: Double? = nil) throws -> GenerationJob {
        let now = clock.now
        let timeout = timeout ?? requestTimeout
        let job: GenerationJob = try condition.withLock {
            if stopping { throw OpenAIError.shuttingDown }
            // A free device takes a request even with --queue 0; otherwise up to `capacity` wait.
            guard waiting.count < capacity || (running == nil && waiting.isEmpty) else {
                let seconds = Int((serviceSeconds * Double(waiting.count + 1)).rounded(.up))
                throw OpenAIError.queueFull(capacity: capacity, retryAfter: max(1, seconds))
            }
            arrivals += 1
            let job = GenerationJob(request: request, sequence: arrivals, arrival: now,
                                    deadline: now + .milliseconds(Int64(timeout * 1000)), timeout: timeout)
            waiting.append(job)
            condition.signal()
            return job
        }
        // A request still waiting at its deadline is answered 503 then, not when the device frees up.
        let expiry = ExpiryTimer(DispatchWorkItem { [weak self, weak job] in
            if let self, let job { self.expire(job) }
        })
        job.onClose { expiry.item.cancel() }   // a finished job's timer does not linger for its whole timeout
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: expiry.item)
        return job
    }

    /// The client is gone or gave up: a waiting job leaves the queue now; a running one stops at its next token.
    public func cancel(_ job: GenerationJob) {
        guard job.markCancelled() else { return }
        let removed: Bool = condition.withLock {
            guard let i = waiting.firstIndex(where: { $0 === job }) else { return false }
            waiting.remove(at: i)
            return true
        }
        metrics.recordCancelled()
        if removed {
            job.send(.failed(OpenAIError(status: .init(code: 499), message: "cancelled", type: "cancelled")))
            job.close()
        }
    }

    func expire(_ job: GenerationJob) {
        let removed: Bool = condition.withLock {
            guard let i = waiting.firstIndex(where: { $0 === job }) else { return false }
            waiting.remove(at: i)
            return true
        }
        if removed {
            metrics.recordDeadlineExceeded()
            job.send(.failed(.deadlineExceeded(seconds: job.timeout)))
            job.close()
        }
    }

    /// Refuses new requests, answers the waiting ones 503, and returns once the running one has finished.
    public func shutdown() {
        let dropped: [GenerationJob] = condition.withLock {
            stopping = true
            defer { waiting.removeAll() }
            condition.broadcast()
            return waiting
        }
        for job in dropped {
            job.send(.failed(.shuttingDown))
            job.close()
        }
        workerDone.wait()
        workerDone.signal()
    }

    private func workLoop() {
        while true {
            condition.lock()
            while waiting.isEmpty && !stopping { condition.wait() }
            if waiting.isEmpty {
                condition.unlock()
                break
            }
            let job = waiting.removeFirst()
            running = job
            condition.unlock()

            let started = clock.now
            run(job)
            let seconds = Self.seconds(clock.now - started)
            condition.withLock {
                running = nil
                serviceSeconds = 0.7 * serviceSeconds + 0.3 * seconds
            }
        }
        workerDone.signal()
    }

    /// Runs one job on the device: prefix reuse, generation, one event per token, the summary.
    private func run(_ job: GenerationJob) {
        defer { job.close() }
        let r = job.request
        let start = clock.now
        if job.isCancelled { return }
        if start >= job.deadline {
            metrics.recordDeadlineExceeded()
            job.send(.failed(.deadlineExceeded(seconds: job.timeout)))
            return
        }
        let cached = prefixCache.reusableCount(for: r.promptIDs)
        job.send(.started(cachedTokens: cached))

        enum Ended { case cancelled, stopSequence, deadline }
        var ended: Ended?
        var text = TokenTextStream(tokenizer: served.tokenizer, stopSequences: r.stopSequences)
        var pendingLogprob: TokenLogprob?
        let tokenizer = served.tokenizer
        let onLogits: (([Float], Int) -> Void)? = r.topLogprobs.map { k in
            { logits, id in pendingLogprob = TokenLogprob(logits: logits, chosen: id, top: k, tokenizer: tokenizer) }
        }
        let result: GenerationResult
        do {
            result = try generator.generate(
                promptIDs: r.promptIDs, cachedPrefix: cached, maxTokens: r.maxTokens, sampling: r.sampling,
                stopTokenIDs: r.stopTokenIDs,
                onToken: { id in
                    if job.isCancelled { ended = .cancelled; return false }
                    let (piece, stopped) = text.feed(id)
                    job.send(.token(TokenOutput(id: id, text: piece, logprob: pendingLogprob)))
                    pendingLogprob = nil
                    if stopped { ended = .stopSequence; return false }
                    if clock.now >= job.deadline { ended = .deadline; return false }
                    return true
                },
                onLogits: onLogits)
        } catch {
            prefixCache.invalidate()
            metrics.recordDeviceFailure()
            job.send(.failed(.deviceFailed("\(error)")))
            return
        }
        prefixCache.record(prompt: r.promptIDs, generated: result.generatedIDs)

        let (reason, detail): (FinishReason, String)
        switch ended {
        case .cancelled?:   // the handler is gone: nothing to tell (counted when cancelled); its tokens were made
            metrics.recordCancelledGeneration(promptTokens: r.promptIDs.count, cachedTokens: cached,
                                              completionTokens: result.generatedIDs.count)
            return
        case .stopSequence?: (reason, detail) = (.stop, StopReason.stopSequence.rawValue)
        case .deadline?: (reason, detail) = (.length, "deadline")
        case nil:
            switch result.stopReason {
            case .stopToken, .stopSequence: (reason, detail) = (.stop, result.stopReason.rawValue)
            case .maxTokens, .contextFull, .cancelled: (reason, detail) = (.length, result.stopReason.rawValue)
            }
        }
        if reason == .length && detail == "deadline" { metrics.recordDeadlineExceeded() }
        let summary = GenerationSummary(
            finishReason: reason, detail: detail, tailText: text.finish(), promptTokens: r.promptIDs.count,
            completionTokens: result.generatedIDs.count, cachedTokens: cached,
            queueSeconds: Self.seconds(start - job.arrival), timeToFirstTokenSeconds: result.timeToFirstToken,
            decodeTokensPerSecond: result.decodeTokensPerSecond)
        metrics.recordGeneration(summary)
        job.send(.finished(summary))
    }

    static func seconds(_ d: Duration) -> Double {
        Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }
}

/// A job's deadline timer, cancelled from whichever thread closes the job (DispatchWorkItem's cancel is thread-safe).
private final class ExpiryTimer: @unchecked Sendable {
    let item: DispatchWorkItem
    init(_ item: DispatchWorkItem) { self.item = item }
}
