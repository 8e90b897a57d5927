// How generate/chat/serve pick a chat prompt: the model's own template by default, a built-in format by name, or a
// Jinja template file that overrides the model's (llama.cpp's --chat-template-file).
import ArgumentParser
import Foundation
import LlamaCore
import Tokenizers

struct ChatOptions: ParsableArguments {
    @Option(name: .customLong("chat-format"),
            help: "Use a built-in chat format instead of the model's own template: \(ChatPrompt.builtinFormats.map(\.name).joined(separator: ", ")).")
    var chatFormat: String?
    @Option(name: .customLong("chat-template-file"),
            help: "Use this Jinja chat template file instead of the model's own; bos_token and eos_token stay the model's.")
    var chatTemplateFile: String?

    /// Whether a chat prompt was chosen on the command line (a built-in format or a template file).
    var overridesModelTemplate: Bool { chatFormat != nil || chatTemplateFile != nil }

    /// The model's template, or the format named by --chat-format, or --chat-template-file; a model without a template
    /// and no override is an error that says so.
    func prompt(for model: LoadedModel, tokenizer: any Tokenizer) throws -> ChatPrompt {
        try prompt(path: model.path, tokenizer: tokenizer) { try modelChatTemplate(model, tokenizer: tokenizer) }
    }

    /// As above for a template found by `find` in the file or folder `path`.
    func prompt(path: String, tokenizer: any Tokenizer, _ find: () throws -> ModelChatTemplate?) throws -> ChatPrompt {
        if chatFormat != nil, chatTemplateFile != nil {
            throw UserFacingError(message: "give at most one of --chat-format and --chat-template-file", hint: nil, code: ExitCodes.usage)
        }
        if let chatTemplateFile {
            let file = (chatTemplateFile as NSString).expandingTildeInPath
            let template = try templateErrorsForUsers { try ChatTemplateLoader.file(file) }
            // bos_token/eos_token: the texts the model's own template would see (GGUF metadata ids, tokenizer_config.json),
            // else the tokenizer's BOS and its lowest end-of-generation id — llama.cpp (common/chat.cpp
            // common_chat_templates_init) takes them from the vocabulary whatever template text it is given.
            let own = try? find()
            let bos = own?.bosToken ?? tokenizer.bosID.flatMap(tokenizer.piece)
            let eos = own?.eosToken ?? tokenizer.eosIDs.min().flatMap(tokenizer.piece)
            return .template(ModelChatTemplate(template: template, origin: "--chat-template-file \(chatTemplateFile)",
                                               bosToken: bos, eosToken: eos))
        }
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
