// `npu-llama template`: renders a chat template by itself for a conversation, printing exactly the text it makes.
import ArgumentParser
import Foundation
import Jinja
import LlamaCore
import Tokenizers

struct Template: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Render a chat template (a .jinja file or a model's own) for the messages in a JSON file; print exactly the text.")

    @Option(help: "A template file (.jinja).")
    var template: String?
    @Option(help: "A model whose own template to render (HF folder, .gguf or short name).")
    var model: String?
    @Option(help: "JSON: a list of messages, or an object with \"messages\" (and optionally \"tools\").")
    var messages: String
    @Flag(name: .customLong("no-generation-prompt"), help: "Render without add_generation_prompt.")
    var noGenerationPrompt = false
    @Option(name: .customLong("bos-token"), help: "bos_token's text (default: the model's; none for --template).")
    var bosToken: String?
    @Option(name: .customLong("eos-token"), help: "eos_token's text (default: the model's; none for --template).")
    var eosToken: String?
    @Option(help: "The date strftime_now sees, YYYY-MM-DD (default: now).")
    var date: String?

    func run() throws {
        do { try render() } catch { fail(error) }
    }

    func render() throws {
        guard (template == nil) != (model == nil) else {
            throw UserFacingError(message: "give exactly one of --template FILE.jinja and --model M", hint: nil, code: ExitCodes.usage)
        }
        var fixedDate: JinjaDate?
        if let date {
            guard let d = JinjaDate(iso: date) else {
                throw UserFacingError(message: "--date \(date) is not a date", hint: "YYYY-MM-DD, e.g. 2024-07-26", code: ExitCodes.usage)
            }
            fixedDate = d
        }
        let chatTemplate: ChatTemplate
        var bos = bosToken, eos = eosToken
        if let template {
            chatTemplate = try templateErrorsForUsers { try ChatTemplateLoader.file((template as NSString).expandingTildeInPath) }
        } else {
            let loaded = try ModelResolution.open(model!)
            guard let t = try modelChatTemplate(loaded, tokenizer: try loadTokenizer(for: loaded)) else {
                throw UserFacingError(message: "\(loaded.path) has no chat template", hint: "render a file with --template FILE.jinja", code: ExitCodes.badInput)
            }
            chatTemplate = t.template
            bos = bos ?? t.bosToken
            eos = eos ?? t.eosToken
        }
        let path = (messages as NSString).expandingTildeInPath
        let conversation: JinjaValue
        do { conversation = try ChatTemplateLoader.json(path) } catch {
            throw UserFacingError(message: "\(error)", hint: nil, code: ExitCodes.badInput)
        }
        var list: [JinjaValue]
        var tools: [JinjaValue]?
        switch conversation {
        case .list(let items, _): list = items
        case .dict(let d):
            guard case .list(let items, _)? = d["messages"] else {
                throw UserFacingError(message: "\(path): an object needs a \"messages\" list", hint: nil, code: ExitCodes.badInput)
            }
            list = items
            if case .list(let t, _)? = d["tools"] { tools = t }
        default:
            throw UserFacingError(message: "\(path): expected a list of messages or {\"messages\": [...]}", hint: nil, code: ExitCodes.badInput)
        }
        let text = try templateRenderErrors {
            try chatTemplate.render(messages: list, tools: tools, addGenerationPrompt: !noGenerationPrompt,
                                    bosToken: bos, eosToken: eos, date: fixedDate)
        }
        FileHandle.standardOutput.write(Data(text.utf8))
    }
}

/// A template that fails while rendering (its own raise_exception, an undefined value, a limit) names the line.
func templateRenderErrors<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let e as JinjaError {
        throw UserFacingError(message: "chat template: \(e)", hint: nil, code: ExitCodes.badInput)
    }
}
