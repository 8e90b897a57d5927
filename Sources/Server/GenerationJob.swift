// One admitted request: what to run, its deadline, its cancellation flag, and the events the device sends its handler.
import Foundation

public final class GenerationJob: @unchecked Sendable {
    public let request: GenerationRequest
    /// Arrival order (1, 2, ...): the device runs jobs in this order.
    public let sequence: Int
    public let arrival: ContinuousClock.Instant
    public let deadline: ContinuousClock.Instant
    /// Seconds from arrival to the deadline.
    public let timeout: Double
    private let stream: AsyncStream<GenerationEvent>
    private let continuation: AsyncStream<GenerationEvent>.Continuation
    private let lock = NSLock()
    private var cancelled = false
    private var done = false
    private var iterator: AsyncStream<GenerationEvent>.Iterator?
    private var closeActions: [@Sendable () -> Void] = []

    init(request: GenerationRequest, sequence: Int, arrival: ContinuousClock.Instant, deadline: ContinuousClock.Instant, timeout: Double) {
        self.request = request
        self.timeout = timeout
        self.sequence = sequence
        self.arrival = arrival
        self.deadline = deadline
        // Unbounded: a slow reader never holds the device; what waits is at most one answer's tokens.
        (stream, continuation) = AsyncStream.makeStream(of: GenerationEvent.self, bufferingPolicy: .unbounded)
    }

    /// Set when the client went away or gave up; the device stops at the next token.
    public var isCancelled: Bool { lock.withLock { cancelled } }

    /// Marks the job cancelled; true the first time, if the device has not finished it yet.
    func markCancelled() -> Bool {
        lock.withLock {
            defer { cancelled = true }
            return !cancelled && !done
        }
    }

    func send(_ event: GenerationEvent) { continuation.yield(event) }

    /// The device is done with the job (finished, failed or dropped): no more events.
    func close() {
        let actions = lock.withLock {
            done = true
            defer { closeActions.removeAll() }
            return closeActions
        }
        continuation.finish()
        for action in actions { action() }
    }

    /// Runs `action` when the job closes (its deadline timer is cancelled so).
    func onClose(_ action: @escaping @Sendable () -> Void) {
        let closed = lock.withLock {
            if !done { closeActions.append(action) }
            return done
        }
        if closed { action() }
    }

    /// The next event for the one handler that reads this job (nil once the device is done with it).
    public func next() async -> GenerationEvent? {
        var it = lock.withLock { iterator ?? stream.makeAsyncIterator() }
        let event = await it.next()
        lock.withLock { iterator = it }
        return event
    }
}
