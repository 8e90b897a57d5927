// `npu-llama template`, `tokenize --chat` and the model's own template as a user meets them: exact text, the
// template's line in errors, a model without a template refused with the way out (--chat-format).
import Foundation
import LlamaCore
import XCTest

extension CLITests {
    var templatesDirectory: String {
        (ProcessInfo.processInfo.environment["NPULLAMA_CACHE"] ?? NSHomeDirectory() + "/.cache/npu-llama") + "/llama.cpp-0.3.16/models/templates"
    }

    /// The goldens JinjaTests compares (made by Tools/make-template-goldens.py with transformers and jinja2).
    func golden(_ template: String, _ conversation: String, add: Bool) throws -> (messages: Any, output: String?) {
        let url = URL(fileURLWithPath: Self.repo + "/Tests/JinjaTests/Goldens/chat-templates.json")
        let doc = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        let conversations = doc["conversations"] as! [String: [String: Any]]
        let c = (doc["cases"] as! [[String: Any]]).first {
            $0["template"] as? String == template && $0["conversation"] as? String == conversation && $0["add_generation_prompt"] as? Bool == add
        }!
        return (conversations[conversation]!["messages"]!, c["output"] as? String)
    }

    func testTemplateCommandPrintsExactlyWhatJinja2Renders() throws {
        let llama32 = templatesDirectory + "/meta-llama-Llama-3.2-3B-Instruct.jinja"
        guard FileManager.default.fileExists(atPath: llama32) else {
            throw XCTSkip("llama.cpp's templates are not at \(templatesDirectory) (Tools/setup.sh fetches them)")
        }
        let dir = try temporaryDirectory()
        for add in [true, false] {
            let (messages, expected) = try golden("meta-llama-Llama-3.2-3B-Instruct.jinja", "multi-turn", add: add)
            try JSONSerialization.data(withJSONObject: messages).write(to: URL(fileURLWithPath: dir + "/m.json"))
            let r = try run(["template", "--template", llama32, "--messages", dir + "/m.json", "--bos-token", "<|begin_of_text|>",
                             "--eos-token", "<|eot_id|>", "--date", "2024-07-26"] + (add ? [] : ["--no-generation-prompt"]))
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertEqual(r.stdout, expected)
            XCTAssertTrue(r.stdout.contains("Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n"), r.stdout)
        }
        // A template that refuses the conversation: its own message, its line, the data-error exit code.
        let (messages, _) = try golden("google-gemma-2-2b-it.jinja", "system-user", add: true)
        try JSONSerialization.data(withJSONObject: messages).write(to: URL(fileURLWithPath: dir + "/s.json"))
        let gemma = try run(["template", "--template", templatesDirectory + "/google-gemma-2-2b-it.jinja", "--messages", dir + "/s.json"])
        XCTAssertEqual(gemma.status, 65)
        XCTAssertTrue(gemma.stderr.contains("template line 1: the template raised: System role not supported"), gemma.stderr)
        // Bad options.
        XCTAssertEqual(try run(["template", "--template", llama32, "--messages", dir + "/m.json", "--date", "2025-02-30"]).status, 64)
        XCTAssertEqual(try run(["template", "--messages", dir + "/m.json"]).status, 64)
        try Data("[{\"role\": \"user\", \"content\": ".utf8).write(to: URL(fileURLWithPath: dir + "/bad.json"))
        let bad = try run(["template", "--template", llama32, "--messages", dir + "/bad.json"])
        XCTAssertEqual(bad.status, 65)
        XCTAssertTrue(bad.stderr.contains("invalid JSON at byte"), bad.stderr)
        try Data("line one\n{{ messages | nosuchfilter }}".utf8).write(to: URL(fileURLWithPath: dir + "/broken.jinja"))
        let broken = try run(["template", "--template", dir + "/broken.jinja", "--messages", dir + "/m.json"])
        XCTAssertEqual(broken.status, 65)
        XCTAssertTrue(broken.stderr.contains("template line 2: No filter named 'nosuchfilter'."), broken.stderr)
    }

    /// SmolLM2's GGUF template gives the same prompt ids as the built-in format that stood in for it.
    func testSmolLM2sOwnTemplateEqualsTheBuiltInFormat() throws {
        try requireSmolLM2()
        let own = try run(["tokenize", "--chat", "--json", "--system", "Be brief.", "Hi there"])
        let builtin = try run(["tokenize", "--chat", "--json", "--chat-format", "smollm2", "--system", "Be brief.", "Hi there"])
        XCTAssertEqual(own.status, 0, own.stderr)
        XCTAssertEqual(builtin.status, 0, builtin.stderr)
        let a = try JSONSerialization.jsonObject(with: Data(own.stdout.utf8)) as! [String: Any]
        let b = try JSONSerialization.jsonObject(with: Data(builtin.stdout.utf8)) as! [String: Any]
        XCTAssertEqual(a["ids"] as? [Int], b["ids"] as? [Int])
        XCTAssertEqual(a["text"] as? String, "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n")
        let inspect = try run(["inspect", ModelCache.smolLM2GGUF])
        XCTAssertTrue(inspect.stdout.contains("chat template: GGUF tokenizer.chat_template, 368 characters, compiles"), inspect.stdout)
    }

    /// An HF folder: no template → a clear refusal naming --chat-format; tokenizer_config.json's list form;
    /// chat_template.jinja taking precedence as in transformers.
    func testAnHFFolderWithoutAndWithItsOwnTemplate() throws {
        let weights = NSHomeDirectory() + "/.cache/npu-llama/models/random-llama-3.2-1b"
        let tokenizer = NSHomeDirectory() + "/.cache/npu-llama/models/llama3/tokenizer.json"
        guard FileManager.default.fileExists(atPath: weights + "/model.safetensors"), FileManager.default.fileExists(atPath: tokenizer) else {
            throw XCTSkip("random-llama-3.2-1b or the Llama 3 tokenizer.json is not cached; \(ModelCache.fetchHint)")
        }
        let dir = try temporaryDirectory()
        for (name, target) in [("config.json", weights + "/config.json"), ("model.safetensors", weights + "/model.safetensors"),
                               ("tokenizer.json", tokenizer)] {
            try FileManager.default.createSymbolicLink(atPath: dir + "/" + name, withDestinationPath: target)
        }
        for args in [["tokenize", "--chat", "--model", dir, "hi"], ["generate", "--chat", "--device", "reference", "--model", dir, "hi"]] {
            let r = try run(args)
            XCTAssertEqual(r.status, 65, r.stderr)
            XCTAssertTrue(r.stderr.contains("has no chat template") && r.stderr.contains("--chat-format llama3|chatml|smollm2"), r.stderr)
        }
        let picked = try run(["tokenize", "--chat", "--model", dir, "--chat-format", "llama3", "hi"])
        XCTAssertEqual(picked.status, 0, picked.stderr)
        XCTAssertEqual(picked.stdout, "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n\n"
                       + "128000 128006 882 128007 271 6151 128009 128006 78191 128007 271\n")
        XCTAssertEqual(try run(["tokenize", "--chat", "--model", dir, "--chat-format", "nosuch", "hi"]).status, 64)

        let config: [String: Any] = [
            "bos_token": ["content": "<|begin_of_text|>", "lstrip": false], "eos_token": "<|eot_id|>",
            "chat_template": [["name": "tool_use", "template": "TOOLS"],
                              ["name": "default", "template": "{{ bos_token }}{% for m in messages %}[{{ m.role }}]{{ m.content }}{{ eos_token }}{% endfor %}"]],
        ]
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: dir + "/tokenizer_config.json"))
        let listForm = try run(["tokenize", "--chat", "--model", dir, "hi"])
        XCTAssertEqual(listForm.status, 0, listForm.stderr)
        XCTAssertEqual(listForm.stdout, "<|begin_of_text|>[user]hi<|eot_id|>\n128000 54645 60 6151 128009\n")
        let inspect = try run(["inspect", dir])
        XCTAssertTrue(inspect.stdout.contains("chat template: tokenizer_config.json chat_template (\"default\" of 2)"), inspect.stdout)

        try Data("{{ messages[0].content | upper }}{% if add_generation_prompt %}!{% endif %}".utf8)
            .write(to: URL(fileURLWithPath: dir + "/chat_template.jinja"))
        let jinjaFile = try run(["tokenize", "--chat", "--model", dir, "hi"])
        XCTAssertEqual(jinjaFile.status, 0, jinjaFile.stderr)
        XCTAssertTrue(jinjaFile.stdout.hasPrefix("HI!\n"), jinjaFile.stdout)
    }

    /// --chat-template-file overrides the model's own template with its bos_token/eos_token (llama.cpp's
    /// --chat-template-file); with --chat-format too it is a usage error; a broken file names its line.
    func testChatTemplateFileOverridesTheModelsTemplate() throws {
        try requireSmolLM2()
        let dir = try temporaryDirectory()
        try Data("{{ bos_token }}{% for m in messages %}<{{ m.role }}>{{ m.content }}{{ eos_token }}{% endfor %}{% if add_generation_prompt %}<assistant>{% endif %}"
            .utf8).write(to: URL(fileURLWithPath: dir + "/t.jinja"))
        let r = try run(["tokenize", "--chat", "--json", "--chat-template-file", dir + "/t.jinja", "Hi there"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let o = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        // SmolLM2's GGUF: bos and eos are both token 0..2 texts from its metadata (<|im_start|>, <|im_end|>).
        XCTAssertEqual(o["text"] as? String, "<|im_start|><user>Hi there<|im_end|><assistant>")
        let both = try run(["tokenize", "--chat", "--chat-format", "chatml", "--chat-template-file", dir + "/t.jinja", "hi"])
        XCTAssertEqual(both.status, 64, both.stderr)
        try Data("line one\n{% if %}".utf8).write(to: URL(fileURLWithPath: dir + "/bad.jinja"))
        let bad = try run(["tokenize", "--chat", "--chat-template-file", dir + "/bad.jinja", "hi"])
        XCTAssertEqual(bad.status, 65, bad.stderr)
        XCTAssertTrue(bad.stderr.contains("line 2"), bad.stderr)
        let missing = try run(["tokenize", "--chat", "--chat-template-file", dir + "/nosuch.jinja", "hi"])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertFalse(missing.stderr.isEmpty)
    }
}
