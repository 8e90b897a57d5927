// `npu-llama chat`: an interactive conversation in the model's chat format, history kept in the KV cache.
import ArgumentParser
import Dispatch
import Foundation
import LlamaCore
import Scheduler
import Tokenizers

/// Set by Ctrl-C (SIGINT); read by the generation loop.
final class InterruptFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var raised = false
    func raise() { lock.lock(); raised = true; lock.unlock() }
    func take() -> Bool { lock.lock(); defer { raised = false; lock.unlock() }; return raised }
}

struct Chat: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Chat with a model. /reset clears the history, /system TEXT sets the system message, /quit leaves; Ctrl-C stops an answer.")

    @OptionGroup var options: ModelOptions
    @OptionGroup var sampling: SamplingOptions
    @Option(help: "System message.")
    var system: String?
    @Option(name: .customLong("max-tokens"), parsing: .unconditional, help: "Most tokens per answer.",
            transform: Bounds.chatMaxTokens.parse)
    var maxTokens: Int = 256
    @Option(parsing: .unconditional, help: "KV cache length in tokens: the whole conversation (default: the model's, at most 4096).",
            transform: Bounds.context.parse)
    var context: Int?
    @OptionGroup var chatOptions: ChatOptions

    func run() throws {
        do { try chat() } catch { fail(error) }
    }

    func chat() throws {
        let (device, quiet) = (options.device, options.quiet)
        var samplingParameters = try sampling.parameters()
        let loaded = try options.open()
        let tokenizer = try loadTokenizer(for: loaded)
        let format = try chatOptions.prompt(for: loaded, tokenizer: tokenizer)
        let contextLength = context ?? min(loaded.config.maxContext, 4096)
        try Bounds.checkContext(contextLength, modelMaximum: loaded.config.maxContext)
        try MemoryCheck.reference(device: device, config: loaded.config, contextLength: contextLength, maxBatch: min(512, contextLength))
        let backend = try device.makeBackend(graph: Graph.llama(loaded.config), model: loaded, contextLength: contextLength,
                                             maxBatch: min(512, contextLength), progress: Progress("converting weights", quiet: quiet))
        let generator = Generator(backend: backend)
        let stops = tokenizer.eosIDs.union(format.stopTokenIDs(tokenizer))
        let interactive = isatty(STDIN_FILENO) != 0
        note("chat prompt: \(format.summary)", quiet: quiet || !interactive)
        note("chat on \(backend.label) — /reset, /system TEXT, /quit; Ctrl-C stops an answer", quiet: quiet || !interactive)

        let interrupt = InterruptFlag()
        signal(SIGINT, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        source.setEventHandler { interrupt.raise() }
        source.resume()

        var systemMessage = system
        var messages: [ChatMessage] = []
        var cached: [Int] = []           // the ids whose K/V the backend's cache holds, in order
        while true {
            if interactive { FileHandle.standardOutput.write(Data("> ".utf8)) }
            guard let line = readLine() else { break }
            if interrupt.take() { continue }
            let text = line.trimmingCharacters(in: .whitespaces)
            if text.isEmpty { continue }
            if text == "/quit" || text == "/exit" { break }
            if text == "/reset" { messages = []; cached = []; note("(history cleared)", quiet: quiet); continue }
            if text.hasPrefix("/system") {
                systemMessage = String(text.dropFirst("/system".count)).trimmingCharacters(in: .whitespaces)
                messages = []; cached = []
                note("(system message set; history cleared)", quiet: quiet)
                continue
            }
            messages.append(ChatMessage(role: "user", content: text))
            let all = (systemMessage.map { [ChatMessage(role: "system", content: $0)] } ?? []) + messages
            let ids = try format.encode(all, addGenerationPrompt: true, tokenizer: tokenizer)
            guard ids.count < contextLength else {
                messages.removeLast()
                FileHandle.standardError.write(Data("npu-llama: the conversation is \(ids.count) tokens; the context holds \(contextLength). Use /reset.\n".utf8))
                continue
            }
            // Reuse the cache for the longest common prefix; run only the new tokens.
            var prefix = zip(cached, ids).prefix { $0 == $1 }.count
            prefix = min(prefix, ids.count - 1)
            var decoder = StreamingDecoder(tokenizer: tokenizer)
            let result = try generator.generate(promptIDs: ids, cachedPrefix: prefix,
                                                maxTokens: min(maxTokens, contextLength - ids.count), sampling: samplingParameters,
                                                stopTokenIDs: stops) { id in
                if let piece = try? decoder.append(id), !stops.contains(id) { FileHandle.standardOutput.write(Data(piece.utf8)) }
                return !interrupt.take()
            }
            FileHandle.standardOutput.write(Data((decoder.finish() + "\n").utf8))
            let answerIDs = result.stopReason == .stopToken ? Array(result.generatedIDs.dropLast()) : result.generatedIDs
            messages.append(ChatMessage(role: "assistant", content: try tokenizer.decode(answerIDs)))
            // The cache holds the prompt and every generated token that was fed back (all but the last).
            cached = ids + result.generatedIDs.dropLast()
            samplingParameters.seed &+= 1
            if result.stopReason == .cancelled { note("(stopped)", quiet: quiet) }
            note(String(format: "[%@] %d tokens, decode %.1f tok/s", backend.label, result.generatedIDs.count, result.decodeTokensPerSecond), quiet: quiet || !interactive)
        }
        source.cancel()
    }
}
