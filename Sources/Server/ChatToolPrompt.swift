// A chat request's tools, tool calls and tool results, turned into the objects transformers' apply_chat_template renders.
import Jinja
import Tokenizers

/// One entry of `tools`: `{"type": "function", "function": {"name", "description"?, "parameters"?}}` (checked here;
/// the template sees the entry as the client wrote it, key order kept).
struct ToolDefinition: Decodable, Sendable {
    var type: String
    var function: Function

    struct Function: Decodable, Sendable {
        var name: String
        var description: String?
        var parameters: [String: JSONIgnored]?
    }
}

/// `tool_choice`: "none" (the model answers in text; its output is not parsed for calls), "auto", "required",
/// or `{"type": "function", "function": {"name": ...}}`.
enum ToolChoice: Decodable, Sendable, Equatable {
    case mode(String)
    case named(String)

    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let s = try? c.decode(String.self) { self = .mode(s); return }
        struct Named: Decodable { var type: String; var function: ToolDefinition.Function }
        let named = try c.decode(Named.self)
        self = .named(named.function.name)
    }
}

/// An assistant message's `tool_calls` entry: `{"id", "type": "function", "function": {"name", "arguments"}}` where
/// OpenAI's arguments are a JSON string (an object is taken too).
struct RequestToolCall: Decodable, Sendable {
    var id: String?
    var type: String?
    var function: Function

    struct Function: Decodable, Sendable {
        var name: String
        var arguments: JSONIgnored?
    }
}

extension ChatCompletionRequest {
    var hasTools: Bool { !(tools ?? []).isEmpty }

    /// The syntax the answer is parsed with for tool calls: nil without tools or with tool_choice "none".
    func toolCallSyntax(for served: ServedModel) -> ToolCallSyntax? {
        guard hasTools, toolChoice != .mode("none"), case .template(let t)? = served.chat else { return nil }
        return ToolCallSyntax.of(templateSource: t.template.source)
    }

    /// The prompt ids when the request has tools or tool messages (nil otherwise: plain chat). The messages reach the
    /// template as transformers' apply_chat_template(messages, tools=tools) passes them, with the two adjustments
    /// llama.cpp's server makes (vendor/minja/chat-template.hpp, polyfill_object_arguments and the content caps):
    /// a tool call's arguments string becomes the object when the template cannot render a string (it never
    /// tests `arguments is string`: Llama 3.x, Qwen2.5 write `arguments|tojson`), and an assistant message's null
    /// content beside tool_calls is given as "" (Qwen3's template concatenates it).
    func toolPromptIDs(for served: ServedModel, prompt: ChatPrompt, body: String?) throws -> [Int]? {
        guard let (objects, toolObjects) = try toolPromptObjects(prompt: prompt, body: body) else { return nil }
        do {
            return try prompt.encode(messageObjects: objects, tools: toolObjects, addGenerationPrompt: true, tokenizer: served.tokenizer)
        } catch {
            throw OpenAIError.invalid("The messages could not be rendered by the chat template: \(error)", param: "messages")
        }
    }

    /// The messages and tools as the template sees them (checked as toolPromptIDs says); nil for plain chat.
    func toolPromptObjects(prompt: ChatPrompt, body: String?) throws -> (messages: [JinjaValue], tools: [JinjaValue]?)? {
        switch toolChoice {
        case nil, .mode("none")?, .mode("auto")?: break
        case .mode("required")?:
            throw OpenAIError.unsupported("tool_choice", "only \"none\" and \"auto\" are served (constrained calls are not implemented)")
        case .mode(let other)?:
            throw OpenAIError.invalid("Invalid value for 'tool_choice': '\(other)' is not one of none, auto, required",
                                      param: "tool_choice", code: "invalid_value")
        case .named?:
            throw OpenAIError.unsupported("tool_choice", "a named function is not served (constrained calls are not implemented); use \"auto\"")
        }
        for (j, tool) in (tools ?? []).enumerated() where tool.type != "function" {
            throw OpenAIError.invalid("Invalid value for 'tools.\(j).type': '\(tool.type)' (only 'function')", param: "tools.\(j).type",
                                      code: "invalid_value")
        }
        guard hasTools || messages.contains(where: \.isToolMessage) else { return nil }
        guard case .template(let t) = prompt else {
            var param = "tools"
            if !hasTools, let i = messages.firstIndex(where: \.isToolMessage) {
                param = messages[i].role == "tool" || messages[i].role == "function" ? "messages.\(i).role" : "messages.\(i).tool_calls"
            }
            throw OpenAIError.unsupported(param,
                                          "a built-in chat format (\(prompt.summary)) has no tools; they need the model's own chat template")
        }
        if hasTools {
            guard t.template.readsTools else {
                throw OpenAIError.invalid("The model's chat template does not use tools (it never reads the 'tools' variable), "
                                          + "so this model cannot be given tools", param: "tools")
            }
            if toolChoice != .mode("none") {
                guard ToolCallSyntax.of(templateSource: t.template.source) != nil else {
                    throw OpenAIError.unsupported("tools", "this chat template's tool-call output is not a format the server parses "
                                                  + "(Llama 3.x JSON, Hermes/Qwen <tool_call>); use tool_choice \"none\"")
                }
                if isStreamed && logprobs == true {
                    throw OpenAIError.unsupported("logprobs", "log-probabilities of a streamed answer with tools are not served "
                                                  + "(its text is held while it may be a tool call); use stream false or tool_choice \"none\"")
                }
            }
        }
        guard let body, case .dict(let root)? = try? JinjaJSONReader.parse(body),
              case .list(let rawMessages, _)? = root["messages"], rawMessages.count == messages.count else {
            throw OpenAIError.invalid("The request body could not be read again as JSON objects", param: "messages")
        }
        var objects: [JinjaValue] = []
        for (i, m) in messages.enumerated() {
            guard case .dict(let raw) = rawMessages[i] else { throw OpenAIError.invalid("'messages.\(i)' must be an object", param: "messages.\(i)") }
            objects.append(.dict(try Self.messageObject(m, raw: raw, index: i, objectArguments: !t.template.source.contains("arguments is string"))))
        }
        var toolObjects: [JinjaValue]?
        if hasTools, case .list(let list, _)? = root["tools"] { toolObjects = list }
        return (objects, toolObjects)
    }

    /// One message as the template sees it: role (developer → system, as for plain chat), content as text,
    /// tool_calls (arguments parsed where needed), and a tool message's tool_call_id and name; other keys and nulls dropped.
    static func messageObject(_ m: ChatRequestMessage, raw: JinjaDict, index i: Int, objectArguments: Bool) throws -> JinjaDict {
        let role: String
        switch m.role {
        case "system", "developer": role = "system"
        case "user", "assistant", "tool": role = m.role
        case "function": throw OpenAIError.unsupported("messages.\(i).role", "'function' messages are deprecated; use 'tool'")
        default:
            throw OpenAIError.invalid("Invalid value for 'messages.\(i).role': '\(m.role)' is not one of system, developer, user, assistant, tool",
                                      param: "messages.\(i).role", code: "invalid_value")
        }
        if let calls = m.toolCalls, !calls.isEmpty, role != "assistant" {
            throw OpenAIError.invalid("'messages.\(i).tool_calls' is only allowed on assistant messages", param: "messages.\(i).tool_calls")
        }
        if m.content == nil && (m.toolCalls ?? []).isEmpty {
            throw OpenAIError.invalid("Missing content for 'messages.\(i)': a \(role) message needs text", param: "messages.\(i).content")
        }
        if role == "tool" && m.toolCallID == nil {
            throw OpenAIError.invalid("Missing 'messages.\(i).tool_call_id': a tool message answers one call", param: "messages.\(i).tool_call_id")
        }
        var out = JinjaDict()
        let calls = !(m.toolCalls ?? []).isEmpty
        for (key, value) in raw.pairs {
            guard case .string(let k) = key else { continue }
            if k == "content" && value.isNone && calls { out["content"] = .string(""); continue }
            guard !value.isNone else { continue }
            switch k {
            case "role": out["role"] = .string(role)
            case "content": out["content"] = .string(try m.content!.text(param: "messages.\(i).content"))
            case "name" where role == "tool", "tool_call_id" where role == "tool": out[k] = value   // plain chat drops names too
            case "tool_calls":
                guard case .list(let calls, _) = value else { continue }
                out[k] = .list(try calls.enumerated().map { j, c in
                    try toolCallObject(c, param: "messages.\(i).tool_calls.\(j)", parseArguments: objectArguments)
                })
            default: continue
            }
        }
        return out
    }

    private static func toolCallObject(_ call: JinjaValue, param: String, parseArguments: Bool) throws -> JinjaValue {
        guard case .dict(var c) = call, case .dict(var f)? = c["function"] else { return call }
        if let type = c["type"], type.pyStr != "function" {
            throw OpenAIError.invalid("Invalid value for '\(param).type': only 'function'", param: "\(param).type", code: "invalid_value")
        }
        switch f["arguments"] {
        case .string(let s)?:
            guard parseArguments else { break }
            do {
                f["arguments"] = try JinjaJSONReader.parse(s)
            } catch {
                throw OpenAIError.invalid("'\(param).function.arguments' is not valid JSON: \(error)", param: "\(param).function.arguments")
            }
        case .dict?, nil: break
        case let other?:
            throw OpenAIError.invalid("'\(param).function.arguments' must be a JSON string (got \(other.typeName))",
                                      param: "\(param).function.arguments")
        }
        c["function"] = .dict(f)
        return .dict(c)
    }
}
