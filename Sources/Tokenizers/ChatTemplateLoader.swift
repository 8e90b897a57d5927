// Finds a model's own chat template (GGUF metadata, HF chat_template.jinja / tokenizer_config.json) and its BOS/EOS texts.

import Foundation
import Jinja
import LlamaCore

/// A model's chat template with where it came from and the `bos_token`/`eos_token` texts it is rendered with.
public struct ModelChatTemplate: Sendable {
    public let template: ChatTemplate
    /// Where it was found, e.g. "GGUF tokenizer.chat_template" or "chat_template.jinja".
    public let origin: String
    public let bosToken: String?
    public let eosToken: String?

    public init(template: ChatTemplate, origin: String, bosToken: String?, eosToken: String?) {
        self.template = template
        self.origin = origin
        self.bosToken = bosToken
        self.eosToken = eosToken
    }
}

public enum ChatTemplateLoader {
    /// Template files and configs larger than this are refused (the largest real templates are ~20 kB).
    static let maxBytes = 16 << 20

    /// GGUF `tokenizer.chat_template`; `bos_token`/`eos_token` are the texts of `tokenizer.ggml.bos_token_id` and
    /// `eos_token_id` (llama.cpp, common/chat.cpp `common_chat_templates_init`). nil when the file has none.
    public static func gguf(metadata: [String: GGUFValue], tokenizer: any Tokenizer) throws -> ModelChatTemplate? {
        guard let source = metadata["tokenizer.chat_template"]?.stringValue else { return nil }
        let bos = metadata["tokenizer.ggml.bos_token_id"]?.intValue.flatMap(tokenizer.piece)
        let eos = metadata["tokenizer.ggml.eos_token_id"]?.intValue.flatMap(tokenizer.piece)
        return ModelChatTemplate(template: try ChatTemplate(source: source), origin: "GGUF tokenizer.chat_template",
                                 bosToken: bos, eosToken: eos)
    }

    /// An HF model folder: `chat_template.jinja` if present (transformers prefers it), else `tokenizer_config.json`'s
    /// `chat_template` (a string, or a list of {name, template} from which "default" is taken, as transformers'
    /// `get_chat_template` does without tools). `bos_token`/`eos_token` come from tokenizer_config.json (a string or
    /// an object with "content"). nil when the folder has no template.
    public static func folder(_ path: String) throws -> ModelChatTemplate? {
        let configPath = (path as NSString).appendingPathComponent("tokenizer_config.json")
        var config = JinjaDict()
        if FileManager.default.fileExists(atPath: configPath) {
            guard case .dict(let d) = try json(configPath) else {
                throw ModelFileError(.badHeader, file: configPath, "tokenizer_config.json is not a JSON object")
            }
            config = d
        }
        func tokenText(_ key: String) -> String? {
            switch config[key] {
            case .string(let s)?: return s
            case .dict(let d)?: if case .string(let s)? = d["content"] { return s }; return nil
            default: return nil
            }
        }
        let jinjaPath = (path as NSString).appendingPathComponent("chat_template.jinja")
        let source: String
        let origin: String
        if FileManager.default.fileExists(atPath: jinjaPath) {
            source = try text(jinjaPath)
            origin = "chat_template.jinja"
        } else {
            switch config["chat_template"] {
            case nil, .none?: return nil
            case .string(let s)?:
                source = s
                origin = "tokenizer_config.json chat_template"
            case .list(let items, _)?:
                var named: [String: String] = [:]
                for item in items {
                    guard case .dict(let d) = item, case .string(let name)? = d["name"], case .string(let t)? = d["template"] else {
                        throw ModelFileError(.badValue, file: configPath, "chat_template list entries must be {\"name\", \"template\"} strings")
                    }
                    named[name] = t
                }
                guard let t = named["default"] else {
                    throw ModelFileError(.badValue, file: configPath,
                                         "chat_template lists \(named.keys.sorted().joined(separator: ", ")) but no \"default\" template")
                }
                source = t
                origin = "tokenizer_config.json chat_template (\"default\" of \(named.count))"
            default:
                throw ModelFileError(.badValue, file: configPath, "chat_template must be a string or a list of {name, template}")
            }
        }
        return ModelChatTemplate(template: try compile(source, file: origin), origin: origin,
                                 bosToken: tokenText("bos_token"), eosToken: tokenText("eos_token"))
    }

    /// A template file by itself (`npu-llama template --template FILE.jinja`).
    public static func file(_ path: String) throws -> ChatTemplate {
        try compile(try text(path), file: path)
    }

    static func compile(_ source: String, file: String) throws -> ChatTemplate {
        do { return try ChatTemplate(source: source) } catch let e as JinjaError {
            throw ChatTemplateError(file: file, error: e)
        }
    }

    static func text(_ path: String) throws -> String {
        let bytes = try FileBytes.read(path)
        guard bytes.count <= maxBytes else { throw ModelFileError(.badHeader, file: path, "larger than \(maxBytes) bytes") }
        guard let s = String(validating: bytes, as: UTF8.self) else {
            throw ModelFileError(.badHeader, file: path, "not UTF-8 text")
        }
        return s
    }

    /// JSON with object key order kept (templates see dicts in their file order).
    public static func json(_ path: String) throws -> JinjaValue {
        do { return try JinjaJSONReader.parse(try text(path)) } catch let e as JinjaError {
            throw ModelFileError(.badHeader, file: path, e.message)
        }
    }
}

/// A chat template that does not compile or render, naming the file and the template line.
public struct ChatTemplateError: Error, CustomStringConvertible {
    public let file: String
    public let error: JinjaError
    public var description: String { "chat template \(file): \(error)" }
}
