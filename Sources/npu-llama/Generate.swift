// `npu-llama generate`: streams a model's continuation of a prompt, with timings and the device named.
import ArgumentParser
import Foundation
import LlamaCore
import Scheduler
import Tokenizers

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Generate text from a prompt, streaming it as it is produced.")

    @Argument(help: "The prompt; '-' reads it from standard input (or give --file PATH).")
    var prompt: String?
    @OptionGroup var input: PromptInput
    @OptionGroup var options: ModelOptions
    @Option(name: .customLong("max-tokens"), parsing: .unconditional, help: "Most tokens to generate (0: only run the prompt).",
            transform: Bounds.maxTokens.parse)
    var maxTokens: Int = 64
    @OptionGroup var sampling: SamplingOptions
    @Option(parsing: .unconditional, help: "KV cache length in tokens: prompt + answer (default: the model's, at most 4096).",
            transform: Bounds.context.parse)
    var context: Int?
    @Option(name: .customLong("stop"), help: "Stop when the generated text contains this (repeatable); it is not printed.")
    var stopSequences: [String] = []
    @Flag(help: "Wrap the prompt as a user message in the model's chat format.")
    var chat = false
    @Option(help: "System message (with --chat).")
    var system: String?
    @OptionGroup var chatOptions: ChatOptions
    @Flag(help: "Print one JSON record (ids, text, timings) instead of streaming text.")
    var json = false

    func run() throws {
        do { try generate() } catch { fail(error) }
    }

    func generate() throws {
        guard let prompt = try input.text(argument: prompt) else {
            throw UserFacingError(message: "no prompt: give it as an argument, '-' for standard input, or --file PATH", hint: nil,
                                  code: ExitCodes.usage)
        }
        let samplingParameters = try sampling.parameters()
        let (device, quiet) = (options.device, options.quiet)
        let loaded = try options.open()
        let tokenizer = try loadTokenizer(for: loaded)
        let ids: [Int]
        var stops = tokenizer.eosIDs
        if chat {
            let format = try chatOptions.prompt(for: loaded, tokenizer: tokenizer)
            note("chat prompt: \(format.summary)", quiet: quiet || json)
            var messages = [ChatMessage(role: "user", content: prompt)]
            if let system { messages.insert(ChatMessage(role: "system", content: system), at: 0) }
            ids = try format.encode(messages, addGenerationPrompt: true, tokenizer: tokenizer)
            stops.formUnion(format.stopTokenIDs(tokenizer))
        } else {
            ids = try tokenizer.encode(prompt, addBOS: tokenizer.addsBOSByDefault, allowSpecial: false)
        }
        let contextLength = context ?? min(loaded.config.maxContext, 4096)
        try Bounds.checkContext(contextLength, modelMaximum: loaded.config.maxContext)
        guard ids.count < contextLength else {
            throw UserFacingError(message: "the prompt is \(ids.count) tokens; the context holds \(contextLength) (the answer needs at least one more)",
                                  hint: contextLength < loaded.config.maxContext
                                      ? "shorten the prompt or raise --context (the model holds up to \(loaded.config.maxContext))"
                                      : "shorten the prompt: the model holds at most \(loaded.config.maxContext) tokens",
                                  code: ExitCodes.usage)
        }
        try MemoryCheck.reference(device: device, config: loaded.config, contextLength: contextLength, maxBatch: min(512, contextLength))
        let graph = Graph.llama(loaded.config)
        let backend = try device.makeBackend(graph: graph, model: loaded, contextLength: contextLength,
                                             maxBatch: min(512, contextLength),
                                             progress: Progress("converting weights", quiet: quiet || json))
        note("running on: \(backend.label)", quiet: quiet || json)

        var decoder = StreamingDecoder(tokenizer: tokenizer)
        var stream = StopSequenceFilter(stopSequences.filter { !$0.isEmpty })
        var result = try Generator(backend: backend).generate(promptIDs: ids, maxTokens: maxTokens, sampling: samplingParameters,
                                                             stopTokenIDs: stops) { id in
            guard let text = try? decoder.append(id) else { return true }
            let (emit, stopped) = stream.feed(text)
            if !json { FileHandle.standardOutput.write(Data(emit.utf8)) }
            return !stopped
        }
        if stream.stopped { result.stopReason = .stopSequence }
        let visible = result.stopReason == .stopToken ? Array(result.generatedIDs.dropLast()) : result.generatedIDs
        if json {
            let record: [String: Any] = [
                "model": loaded.path, "device": backend.label, "prompt_ids": ids, "generated_ids": result.generatedIDs,
                "text": stream.stopped ? stream.text : try tokenizer.decode(visible), "stop_reason": result.stopReason.rawValue,
                "time_to_first_token_s": result.timeToFirstToken,
                "prefill_tok_s": result.prefillTokensPerSecond, "decode_tok_s": result.decodeTokensPerSecond,
            ]
            let data = try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            FileHandle.standardOutput.write(Data(((stream.stopped ? "" : stream.flush() + decoder.finish()) + "\n").utf8))
            note(String(format: "[%@] %d prompt tokens, %d generated (%@); time to first token %.3f s, prefill %.1f tok/s, decode %.1f tok/s%@",
                        backend.label, ids.count, result.generatedIDs.count, result.stopReason.rawValue,
                        result.timeToFirstToken, result.prefillTokensPerSecond, result.decodeTokensPerSecond,
                        device == .emulator ? " (emulator wall clock on the CPU, not NPU time)" : ""),
                 quiet: quiet)
        }
    }
}

/// The tokenizer that belongs to a model: GGUF metadata, or the tokenizer file beside safetensors.
func loadTokenizer(for model: LoadedModel) throws -> any Tokenizer {
    if let gguf = model.gguf { return try TokenizerLoader.gguf(metadata: gguf.metadata, file: gguf.path) }
    guard model.tokenizerFile != nil else {
        throw UserFacingError(message: "\(model.path) has no tokenizer (tokenizer.json or tokenizer.model)",
                              hint: "put the model's tokenizer file in its folder", code: ExitCodes.badInput)
    }
    return try TokenizerLoader.load(path: model.path)
}
