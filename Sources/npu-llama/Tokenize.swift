// `npu-llama tokenize` and `detokenize`: a model's (or a tokenizer file's) ids for text, and back.
import ArgumentParser
import Foundation
import LlamaCore
import Tokenizers

/// --model or --tokenizer: where the tokenizer comes from.
struct TokenizerSource: ParsableArguments {
    @Option(help: "Model whose tokenizer to use (path or short name).")
    var model: String?
    @Option(help: "A tokenizer file alone: tokenizer.model (tiktoken), tokenizer.json, or a GGUF.")
    var tokenizer: String?

    func load() throws -> any Tokenizer {
        if let tokenizer { return try TokenizerLoader.load(path: (tokenizer as NSString).expandingTildeInPath) }
        return try loadTokenizer(for: ModelResolution.open(model ?? ModelResolution.defaultModel))
    }
}

struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the token ids of a text (and their pieces).",
        discussion: """
        BOS: added first when the model's tokenizer asks for it (GGUF tokenizer.ggml.add_bos_token, or the tokenizer \
        files' own setting: Llama 3 yes, SmolLM2 no), as generate does; a note on standard error says so. --no-bos \
        leaves it out, --bos adds it even when the tokenizer does not ask for it.
        """)

    @OptionGroup var source: TokenizerSource
    @Argument(help: "The text; '-' reads it from standard input (or give --file PATH).")
    var text: String?
    @OptionGroup var input: PromptInput
    @Flag(help: "Show each token's text.")
    var pieces = false
    @Flag(inversion: .prefixedNo,
          help: "Prepend BOS (--bos) or not (--no-bos); default: when the model's tokenizer asks for it, as generate does.")
    var bos: Bool?
    @Flag(help: "Let text that spells a special token (e.g. <|eot_id|>) become that token.")
    var special = false
    @Flag(help: "Print JSON.")
    var json = false
    @Flag(help: "Render the text as a user message with the model's chat template (or --chat-format), with a generation prompt; print the rendered text, then its ids.")
    var chat = false
    @Option(help: "System message (with --chat).")
    var system: String?
    @OptionGroup var chatOptions: ChatOptions

    func run() throws {
        do {
            guard let text = try input.text(argument: text, what: "the text argument") else {
                throw UserFacingError(message: "no text: give it as an argument, '-' for standard input, or --file PATH", hint: nil,
                                      code: ExitCodes.usage)
            }
            let tokenizer = try source.load()
            var ids: [Int]
            var rendered: String?
            if chat {
                let prompt: ChatPrompt
                if let file = source.tokenizer {
                    let path = (file as NSString).expandingTildeInPath
                    prompt = try chatOptions.prompt(path: path, tokenizer: tokenizer) { try tokenizerFileChatTemplate(path, tokenizer: tokenizer) }
                } else {
                    prompt = try chatOptions.prompt(for: try ModelResolution.open(source.model ?? ModelResolution.defaultModel), tokenizer: tokenizer)
                }
                let messages = (system.map { [ChatMessage(role: "system", content: $0)] } ?? []) + [ChatMessage(role: "user", content: text)]
                let r = try templateRenderErrors { try prompt.render(messages, addGenerationPrompt: true) }
                rendered = r
                ids = try templateRenderErrors { try prompt.encode(messages, addGenerationPrompt: true, tokenizer: tokenizer) }
                if !json { print(r) }
            } else {
                let addBOS = bos ?? tokenizer.addsBOSByDefault
                if bos == nil, addBOS {
                    FileHandle.standardError.write(Data("npu-llama tokenize: BOS \(tokenizer.bosID.map(String.init) ?? "") added first because the model's tokenizer asks for it; --no-bos leaves it out\n".utf8))
                }
                ids = try tokenizer.encode(text, addBOS: addBOS, allowSpecial: special)
            }
            if json {
                var record: [String: Any] = ["ids": ids, "pieces": ids.map { tokenizer.piece($0) ?? "" }]
                if let rendered { record["text"] = rendered }
                print(String(decoding: try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys]), as: UTF8.self))
            } else if pieces {
                for id in ids { print("\(id)\t\(String(reflecting: tokenizer.piece(id) ?? ""))") }
            } else {
                print(ids.map(String.init).joined(separator: " "))
            }
        } catch { fail(error) }
    }
}

struct Detokenize: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the text of token ids (from arguments or standard input).")

    @OptionGroup var source: TokenizerSource
    @Argument(help: "Token ids; read from standard input when none are given.")
    var ids: [String] = []

    func run() throws {
        do {
            let words = ids.isEmpty ? (readAllStandardInput().split { $0 == " " || $0 == "\n" || $0 == "," || $0 == "\t" }.map(String.init)) : ids
            let parsed = try words.map { word -> Int in
                guard let id = Int(word.trimmingCharacters(in: CharacterSet(charactersIn: "[] "))) else {
                    throw UserFacingError(message: "\"\(word)\" is not a token id", hint: "give integers, e.g. 504 3575 282", code: ExitCodes.usage)
                }
                return id
            }
            print(try source.load().decode(parsed))
        } catch { fail(error) }
    }
}

func readAllStandardInput() -> String {
    String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
}
