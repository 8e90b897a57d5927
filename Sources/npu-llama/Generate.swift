// `npu-llama generate`: streams a model's continuation of a prompt, with timings and the device named.
import ArgumentParser
import Foundation
import LlamaCore
import Scheduler
import Tokenizers

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Generate text from a prompt, streaming it as it is produced.")

    @Argument(help: "The prompt.")
    var prompt: String
    @OptionGroup var options: ModelOptions
    @Option(name: .customLong("max-tokens"), help: "Most tokens to generate.")
    var maxTokens: Int = 64
    @OptionGroup var sampling: SamplingOptions
    @Option(help: "KV cache length in tokens (default: the model's, at most 4096).")
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
        guard maxTokens >= 0 else { throw UserFacingError(message: "--max-tokens must be 0 or more", hint: nil, code: ExitCodes.usage) }
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
        guard contextLength > 0, contextLength <= loaded.config.maxContext else {
            throw UserFacingError(message: "--context \(contextLength) is outside 1…\(loaded.config.maxContext) (the model's maximum)", hint: nil, code: ExitCodes.usage)
        }
        guard ids.count < contextLength else {
            throw UserFacingError(message: "the prompt is \(ids.count) tokens; the context holds \(contextLength)",
                                  hint: "shorten the prompt or raise --context", code: ExitCodes.usage)
        }
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
