// `npu-llama serve`: the OpenAI-compatible HTTP server over one model on one device (module Server).
import ArgumentParser
import Foundation
import LlamaCore
import Server
import Tokenizers

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve a model over HTTP with OpenAI's API (/v1/chat/completions, /v1/completions, /v1/models; /health, /metrics, /openapi.json).",
        discussion: """
        One model on one device: requests run one at a time in arrival order; up to --queue wait, more are answered 429 \
        with Retry-After. A client that disconnects frees the device within one token. The KV cache of the last request \
        is kept, and a request sharing its first tokens (a conversation going on) prefills only the rest.
        """)

    @OptionGroup var options: ModelOptions
    @OptionGroup var chatOptions: ChatOptions
    @Option(parsing: .unconditional, help: "KV cache length in tokens: prompt + answer (default: the model's, at most 4096).",
            transform: Bounds.context.parse)
    var context: Int?
    @Option(help: "Address to listen on (loopback by default; another address exposes the server to that network).")
    var host: String = "127.0.0.1"
    @Option(parsing: .unconditional, help: "Port (0 picks a free one; the 'listening on' line names it).", transform: Bounds.port.parse)
    var port: Int = 8080
    @Option(name: .customLong("queue"), parsing: .unconditional,
            help: "Requests that may wait for the device while one runs; more are answered 429.", transform: Bounds.queue.parse)
    var queue: Int = 8
    @Option(parsing: .unconditional,
            help: "Seconds from a request's arrival to its deadline: a waiting request is answered 503, a running one ends with finish_reason \"length\".",
            transform: Bounds.timeout.parse)
    var timeout: Double = 600
    @Option(name: .customLong("api-key"), help: "Require 'Authorization: Bearer KEY' on /v1/* (also read from $NPULLAMA_API_KEY).")
    var apiKey: String?
    @Flag(help: "Allow browsers on other origins (CORS: Access-Control-Allow-Origin: *). Off by default.")
    var cors = false
    @Option(name: .customLong("max-body"), parsing: .unconditional, help: "Largest request body in bytes; larger is answered 413.",
            transform: Bounds.maxBody.parse)
    var maxBody: Int = 1 << 20
    @Option(name: .customLong("model-name"), help: "The model id clients send and /v1/models lists (default: the --model short name or file name).")
    var modelName: String?

    func run() async throws {
        do { try await serve() } catch { fail(error) }
    }

    func serve() async throws {
        let (device, quiet) = (options.device, options.quiet)
        let loaded = try options.open()
        let tokenizer = try loadTokenizer(for: loaded)
        let contextLength = context ?? min(loaded.config.maxContext, 4096)
        guard contextLength > 1, contextLength <= loaded.config.maxContext else {
            throw UserFacingError(message: "--context \(contextLength) is outside 2…\(loaded.config.maxContext) (the model's maximum)", hint: nil, code: ExitCodes.usage)
        }
        try MemoryCheck.reference(device: device, config: loaded.config, contextLength: contextLength, maxBatch: min(512, contextLength))
        let graph = Graph.llama(loaded.config)
        let backend = try device.makeBackend(graph: graph, model: loaded, contextLength: contextLength,
                                             maxBatch: min(512, contextLength), progress: Progress("converting weights", quiet: quiet))
        var chat: ChatPrompt?
        if try chatOptions.overridesModelTemplate || modelChatTemplate(loaded, tokenizer: tokenizer) != nil {
            chat = try chatOptions.prompt(for: loaded, tokenizer: tokenizer)
            note("chat prompt: \(chat!.summary)", quiet: quiet)
        } else {
            note("\(loaded.path) has no chat template: /v1/chat/completions answers 400 (pick a built-in format with --chat-format NAME)", quiet: false)
        }
        let served = ServedModel(id: modelName ?? Self.modelID(options.model), created: Self.created(loaded.path), tokenizer: tokenizer,
                                 chat: chat, contextLength: min(contextLength, backend.contextLength),
                                 deviceLabel: backend.label)
        var configuration = ServerConfiguration()
        configuration.host = host
        configuration.port = port
        configuration.queueCapacity = queue
        configuration.requestTimeout = timeout
        configuration.apiKey = apiKey ?? ProcessInfo.processInfo.environment["NPULLAMA_API_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        configuration.cors = cors
        configuration.maxBodyBytes = maxBody
        let server = InferenceServer(backend: backend, served: served, configuration: configuration)
        let (host, settings) = (self.host, configuration)
        let line = { @Sendable (port: Int) in
            let address = host.contains(":") ? "[\(host)]" : host
            // Always printed (also with --quiet): scripts and tests read the port from it.
            FileHandle.standardError.write(Data("npu-llama serve: listening on http://\(address):\(port) — model \(served.id) on \(served.deviceLabel), context \(served.contextLength), queue \(settings.queueCapacity)\(settings.apiKey != nil ? ", API key required" : "")\n".utf8))
        }
        try await server.run(onRunning: line)
        note("npu-llama serve: stopped", quiet: quiet)
    }

    /// The id clients name: a short name as given, else the file or folder name without .gguf.
    static func modelID(_ argument: String) -> String {
        if ModelResolution.shortNames[argument.lowercased()] != nil { return argument.lowercased() }
        let name = ((argument as NSString).expandingTildeInPath as NSString).lastPathComponent
        return name.hasSuffix(".gguf") ? String(name.dropLast(5)) : name
    }

    static func created(_ path: String) -> Int {
        let date = (try? FileManager.default.attributesOfItem(atPath: path)[.modificationDate]) as? Date
        return Int((date ?? Date()).timeIntervalSince1970)
    }
}
