// The one-device queue: arrival order, 429 with Retry-After when full, cancellation (queued: at once; running: within
// one token), deadlines (waiting: 503; running: finish_reason length), shutdown.
import Foundation
import LlamaCore
@testable import Server
import XCTest

final class DeviceSchedulerTests: XCTestCase {
    func makeScheduler(capacity: Int, delay: TimeInterval, timeout: Double = 600) throws -> (DeviceScheduler, PacedBackend, ServerMetrics) {
        let backend = PacedBackend(try TestModels.randomBackend(), delay: delay)
        let metrics = ServerMetrics()
        return (DeviceScheduler(backend: backend, served: TestModels.byteServed(), capacity: capacity, requestTimeout: timeout, metrics: metrics),
                backend, metrics)
    }

    func request(_ text: String, maxTokens: Int) -> GenerationRequest {
        GenerationRequest(promptIDs: Array(text.utf8).map(Int.init), maxTokens: maxTokens)
    }

    func testRunsInArrivalOrderAndRefusesPastTheQueue() async throws {
        let (scheduler, _, metrics) = try makeScheduler(capacity: 2, delay: 0.02)
        let running = try scheduler.submit(request("first", maxTokens: 6))
        // Wait until the device has taken it, so the queue holds exactly what follows.
        while scheduler.state.waiting > 0 || !scheduler.state.running { try await Task.sleep(for: .milliseconds(5)) }
        let second = try scheduler.submit(request("second", maxTokens: 2))
        let third = try scheduler.submit(request("third", maxTokens: 2))
        XCTAssertEqual(scheduler.state.waiting, 2)
        XCTAssertThrowsError(try scheduler.submit(request("fourth", maxTokens: 2))) { error in
            let e = error as? OpenAIError
            XCTAssertEqual(e?.status.code, 429)
            XCTAssertEqual(e?.code, "queue_full")
            let retry = e?.headers.first { $0.0 == .retryAfter }.flatMap { Int($0.1) }
            XCTAssertNotNil(retry)
            XCTAssertGreaterThanOrEqual(retry ?? 0, 1)
        }
        XCTAssertEqual([running.sequence, second.sequence, third.sequence], [1, 2, 3])
        // Every admitted job finishes, in order: each starts after the previous one's last event.
        let order = OrderLog()
        async let a: Void = { _ = await drain(running); order.append(1) }()
        async let b: Void = { _ = await drain(second); order.append(2) }()
        async let c: Void = { _ = await drain(third); order.append(3) }()
        _ = await (a, b, c)
        XCTAssertEqual(order.values, [1, 2, 3])
        XCTAssertTrue(metrics.render(waiting: 0, running: false, capacity: 2, device: "x").contains("npu_llama_generated_tokens_total 10"))
        scheduler.shutdown()
    }

    func testCancellingARunningJobFreesTheDeviceWithinOneToken() async throws {
        let (scheduler, backend, metrics) = try makeScheduler(capacity: 2, delay: 0.05)
        let job = try scheduler.submit(request("a long answer", maxTokens: 200))
        var tokens = 0
        while let event = await job.next() {
            if case .token = event { tokens += 1 }
            if tokens == 3 { break }
        }
        let stepsAtCancel = backend.stepCount
        scheduler.cancel(job)
        let next = try scheduler.submit(request("next", maxTokens: 1))
        let result = await drain(next)
        XCTAssertNotNil(result.summary)
        // The device ran at most the one step in flight for the cancelled job, then the next job's prefill.
        XCTAssertLessThanOrEqual(backend.stepCount - stepsAtCancel, 2, "steps after cancel")
        XCTAssertTrue(metrics.render(waiting: 0, running: false, capacity: 2, device: "x").contains("npu_llama_requests_cancelled_total 1"))
        scheduler.shutdown()
    }

    /// --queue 0: the free device takes a request; while it runs, the next is refused.
    func testQueueZeroServesOneAtATime() async throws {
        let (scheduler, _, _) = try makeScheduler(capacity: 0, delay: 0.02)
        let first = try scheduler.submit(request("one", maxTokens: 10))
        while !scheduler.state.running { try await Task.sleep(for: .milliseconds(2)) }
        XCTAssertThrowsError(try scheduler.submit(request("two", maxTokens: 1))) { XCTAssertEqual(($0 as? OpenAIError)?.status.code, 429) }
        _ = await drain(first)
        while scheduler.state.running { try await Task.sleep(for: .milliseconds(2)) }
        let third = await drain(try scheduler.submit(request("three", maxTokens: 1)))
        XCTAssertEqual(third.tokens.count, 1)
        scheduler.shutdown()
    }

    /// Nobody reads the first job's events: the device still finishes it and runs the next (a slow client's tokens
    /// wait in its job's buffer; they never hold the device).
    func testAnUnreadJobDoesNotHoldTheDevice() async throws {
        let (scheduler, _, _) = try makeScheduler(capacity: 2, delay: 0)
        let unread = try scheduler.submit(request("nobody reads this", maxTokens: 60))
        let next = await drain(try scheduler.submit(request("next", maxTokens: 3)))
        XCTAssertEqual(next.tokens.count, 3)
        let late = await drain(unread)
        XCTAssertEqual(late.tokens.count, 60, "every token was kept for the late reader")
        XCTAssertEqual(late.summary?.finishReason, .length)
        scheduler.shutdown()
    }

    func testCancellingAQueuedJobRemovesItAtOnce() async throws {
        let (scheduler, _, _) = try makeScheduler(capacity: 1, delay: 0.02)
        let running = try scheduler.submit(request("busy", maxTokens: 20))
        while !scheduler.state.running { try await Task.sleep(for: .milliseconds(5)) }
        let queued = try scheduler.submit(request("waiting", maxTokens: 2))
        XCTAssertEqual(scheduler.state.waiting, 1)
        scheduler.cancel(queued)
        XCTAssertEqual(scheduler.state.waiting, 0)
        _ = try scheduler.submit(request("room again", maxTokens: 1))   // the freed place is usable
        let result = await drain(queued)
        XCTAssertNil(result.cached, "it never started")
        scheduler.cancel(running)
        scheduler.shutdown()
    }

    func testAWaitingRequestIsAnswered503AtItsDeadline() async throws {
        let (scheduler, _, metrics) = try makeScheduler(capacity: 2, delay: 0.05)
        let running = try scheduler.submit(request("slow", maxTokens: 40))   // ~2 s on the paced device
        while !scheduler.state.running { try await Task.sleep(for: .milliseconds(5)) }
        let waiting = try scheduler.submit(request("behind it", maxTokens: 2), timeout: 0.3)
        let clock = ContinuousClock()
        let t0 = clock.now
        let w = await drain(waiting)
        let waited = clock.now - t0
        XCTAssertEqual(w.error?.status.code, 503)
        XCTAssertEqual(w.error?.code, "deadline_exceeded")
        XCTAssertNotNil(w.error?.headers.first { $0.0 == .retryAfter })
        XCTAssertLessThan(waited, .seconds(1), "answered at its deadline, not when the device frees up")
        XCTAssertEqual(scheduler.state.waiting, 0)
        let r = await drain(running)
        XCTAssertEqual(r.tokens.count, 40)
        XCTAssertTrue(metrics.render(waiting: 0, running: false, capacity: 2, device: "x").contains("npu_llama_requests_deadline_exceeded_total 1"))
        scheduler.shutdown()
    }

    func testARunningRequestEndsWithLengthAtItsDeadline() async throws {
        let (scheduler, _, _) = try makeScheduler(capacity: 2, delay: 0.05, timeout: 0.5)
        let clock = ContinuousClock()
        let t0 = clock.now
        let r = await drain(try scheduler.submit(request("slow", maxTokens: 500)))
        XCTAssertEqual(r.summary?.finishReason, .length)
        XCTAssertEqual(r.summary?.detail, "deadline")
        XCTAssertGreaterThan(r.tokens.count, 2)
        XCTAssertLessThan(r.tokens.count, 500)
        XCTAssertLessThan(clock.now - t0, .milliseconds(900), "stopped within a token of its deadline")
        scheduler.shutdown()
    }

    func testShutdownAnswersTheWaiting503() async throws {
        let (scheduler, _, _) = try makeScheduler(capacity: 3, delay: 0.02)
        let running = try scheduler.submit(request("running", maxTokens: 5))
        while !scheduler.state.running { try await Task.sleep(for: .milliseconds(5)) }
        let waiting = try scheduler.submit(request("waiting", maxTokens: 5))
        let finished = Task { await drain(running) }
        scheduler.shutdown()
        let w = await drain(waiting)
        XCTAssertEqual(w.error?.code, "shutting_down")
        let r = await finished.value
        XCTAssertEqual(r.tokens.count, 5, "the running request finishes")
        XCTAssertThrowsError(try scheduler.submit(request("late", maxTokens: 1))) {
            XCTAssertEqual(($0 as? OpenAIError)?.status.code, 503)
        }
    }
}

final class OrderLog: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [Int] = []
    func append(_ v: Int) { lock.withLock { list.append(v) } }
    var values: [Int] { lock.withLock { list } }
}
