// How generate/chat/serve pick a chat prompt: the model's own template by default, a built-in format by name.
import ArgumentParser
import Foundation
import LlamaCore
import Tokenizers

struct ChatOptions: ParsableArguments {
    @Option(name: .customLong("chat-format"),
            help: "Use a built-in chat format instead of the model's own template: \(ChatPrompt.builtinFormats.map(\.name).joined(separator: ", ")).")
    var chatFormat: String?

    /// The model's template, or the format named by --chat-format; a model without a template is an error that says so.
    func prompt(for model: LoadedModel, tokenizer: any Tokenizer) throws -> ChatPrompt {
        try prompt(path: model.path) { try modelChatTemplate(model, tokenizer: tokenizer) }
    }

    /// As above for a template found by `find` in the file or folder `path`.
    func prompt(path: String, _ find: () throws -> ModelChatTemplate?) throws -> ChatPrompt {
        if let chatFormat {
            guard let p = ChatPrompt.builtin(named: chatFormat) else {
                throw UserFacingError(message: "unknown --chat-format \(chatFormat)",
                                      hint: "one of \(ChatPrompt.builtinFormats.map(\.name).joined(separator: ", "))", code: ExitCodes.usage)
            }
            return p
        }
        guard let template = try find() else {
            throw UserFacingError(message: "\(path) has no chat template (GGUF tokenizer.chat_template, chat_template.jinja or tokenizer_config.json chat_template)",
                                  hint: "pick a built-in format with --chat-format \(ChatPrompt.builtinFormats.map(\.name).joined(separator: "|"))",
                                  code: ExitCodes.badInput)
        }
        return .template(template)
    }
}

/// A model's own chat template: GGUF metadata, or the HF folder's files; nil when it has none.
func modelChatTemplate(_ model: LoadedModel, tokenizer: any Tokenizer) throws -> ModelChatTemplate? {
    try templateErrorsForUsers {
        if let gguf = model.gguf { return try ChatTemplateLoader.gguf(metadata: gguf.metadata, tokenizer: tokenizer) }
        return try ChatTemplateLoader.folder(model.path)
    }
}

/// The template beside a tokenizer file: a GGUF's metadata, else the HF files in the file's folder.
func tokenizerFileChatTemplate(_ path: String, tokenizer: any Tokenizer) throws -> ModelChatTemplate? {
    try templateErrorsForUsers {
        if (try? FileHandle(forReadingFrom: URL(fileURLWithPath: path)).read(upToCount: 4)) == Data("GGUF".utf8) {
            return try ChatTemplateLoader.gguf(metadata: GGUFFile(path: path).metadata, tokenizer: tokenizer)
        }
        var isDirectory: ObjCBool = false
        FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
        return try ChatTemplateLoader.folder(isDirectory.boolValue ? path : (path as NSString).deletingLastPathComponent)
    }
}

/// A template that does not compile becomes a user-facing error naming the line, with the way around it.
func templateErrorsForUsers<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let e as ChatTemplateError {
        throw UserFacingError(message: e.description, hint: "use --chat-format NAME for a built-in format instead", code: ExitCodes.badInput)
    }
}
