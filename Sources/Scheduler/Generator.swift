// The generation loop: chunked prefill, then one decode step per token, with sampling and stops.
import Foundation
import LlamaCore

/// Why generation ended.
public enum StopReason: String, Sendable, Codable {
    case stopToken = "stop-token"
    /// A stop sequence appeared in the text (set by the caller that watches the text).
    case stopSequence = "stop-sequence"
    case maxTokens = "max-tokens"
    /// The KV cache is full: generation ends there (policy: no sliding window, no silent truncation).
    case contextFull = "context-full"
    case cancelled
}

/// What one generation produced, with its timings (wall clock on the backend that ran it).
public struct GenerationResult: Sendable {
    public var promptIDs: [Int]
    public var generatedIDs: [Int]
    public var stopReason: StopReason
    public var prefillSeconds: Double
    public var decodeSeconds: Double
    public var backendLabel: String

    /// Seconds from the start to the first generated token (prefill + sampling).
    public var timeToFirstToken: Double { prefillSeconds }
    public var prefillTokensPerSecond: Double { prefillSeconds > 0 ? Double(promptIDs.count) / prefillSeconds : 0 }
    /// Decode steps are the tokens after the first (the first comes from prefill's logits).
    public var decodeTokensPerSecond: Double {
        let steps = max(generatedIDs.count - 1, 0)
        return decodeSeconds > 0 ? Double(steps) / decodeSeconds : 0
    }
}

/// Drives a backend: prefill of the prompt in chunks of `maxBatch`, then decode token by token.
public final class Generator {
    public let backend: Backend

    public init(backend: Backend) { self.backend = backend }

    /// Runs the prompt through the model from position `start` (a cache holding 0..<start) and
    /// returns the last row's logits.
    public func prefill(_ ids: [Int], start: Int = 0) throws -> [Float] {
        guard !ids.isEmpty else { throw GenerationError.emptyPrompt }
        guard start + ids.count <= backend.contextLength else {
            throw StepError.contextFull(position: start, tokens: ids.count, contextLength: backend.contextLength)
        }
        var logits: [Float] = []
        var offset = 0
        while offset < ids.count {
            let chunk = Array(ids[offset..<min(offset + backend.maxBatch, ids.count)])
            logits = try backend.step(tokens: chunk, start: start + offset, logitRows: .last, observer: nil)
            offset += chunk.count
        }
        return logits
    }

    /// Generates up to `maxTokens` tokens after `promptIDs`. `onToken` sees each new id as it is
    /// chosen and returns false to stop. A stop token ends generation and is included in the ids.
    /// `cachedPrefix`: how many leading prompt tokens the backend's cache already holds (a chat
    /// continuing its conversation); only the rest is prefilled.
    /// `onLogits`, when given, sees the logits row each token is chosen from and that token (before `onToken`); greedy
    /// decode then brings the logits back instead of a device-side argmax (same token: lowest index on ties).
    public func generate(promptIDs: [Int], cachedPrefix: Int = 0, maxTokens: Int, sampling: SamplingParameters = .greedy,
                         stopTokenIDs: Set<Int> = [], onToken: (Int) -> Bool = { _ in true },
                         onLogits: (([Float], Int) -> Void)? = nil) throws -> GenerationResult {
        precondition(cachedPrefix >= 0 && cachedPrefix < max(promptIDs.count, 1), "the cached prefix must leave a token to run")
        var sampler = Sampler(sampling)
        // The penalties count the prompt too, as llama.cpp's main and server feed it to their sampler.
        sampler.accept(contentsOf: promptIDs)
        let clock = ContinuousClock()
        let t0 = clock.now
        var logits = try prefill(Array(promptIDs[cachedPrefix...]), start: cachedPrefix)
        var generated: [Int] = []
        var reason = StopReason.maxTokens
        var prefillSeconds = 0.0
        var position = promptIDs.count
        let tDecode: ContinuousClock.Instant
        if maxTokens > 0 {
            let first = sampler.sample(logits)
            sampler.accept(first)
            onLogits?(logits, first)
            generated.append(first)
            prefillSeconds = seconds(clock.now - t0)
            tDecode = clock.now
            if stopTokenIDs.contains(first) { reason = .stopToken }
            else if !onToken(first) { reason = .cancelled }
            else {
                while generated.count < maxTokens {
                    guard position < backend.contextLength else { reason = .contextFull; break }
                    let next: Int
                    if sampling.isPlainArgmax && onLogits == nil {
                        next = try backend.nextTokenGreedy(after: generated.last!, position: position)
                    } else {
                        logits = try backend.step(tokens: [generated.last!], start: position, logitRows: .last, observer: nil)
                        next = sampler.sample(logits)
                        sampler.accept(next)
                        onLogits?(logits, next)
                    }
                    position += 1
                    generated.append(next)
                    if stopTokenIDs.contains(next) { reason = .stopToken; break }
                    if !onToken(next) { reason = .cancelled; break }
                }
            }
        } else {
            prefillSeconds = seconds(clock.now - t0)
            tDecode = clock.now
        }
        return GenerationResult(promptIDs: promptIDs, generatedIDs: generated, stopReason: reason,
                                prefillSeconds: prefillSeconds, decodeSeconds: seconds(clock.now - tDecode),
                                backendLabel: backend.label)
    }
}

public enum GenerationError: Error, CustomStringConvertible, Equatable {
    case emptyPrompt
    public var description: String {
        switch self {
        case .emptyPrompt: return "the prompt is empty: give at least one token"
        }
    }
}

func seconds(_ d: Duration) -> Double {
    Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
}
