// Chat formats: renders equal the reference (jinja2 for SmolLM2, Meta's format for Llama 3), ids too.
import XCTest
@testable import Tokenizers

final class ChatFormatTests: XCTestCase {
    func check(_ format: ChatFormat, _ tokenizer: any Tokenizer, golden: String) throws {
        let chats = try Golden.json(golden)["chats"] as! [[String: Any]]
        XCTAssertFalse(chats.isEmpty)
        for chat in chats {
            let messages = (chat["messages"] as! [[String: String]]).map { ChatMessage(role: $0["role"]!, content: $0["content"]!) }
            let gen = chat["add_generation_prompt"] as! Bool
            XCTAssertEqual(format.render(messages: messages, addGenerationPrompt: gen), chat["text"] as? String)
            XCTAssertEqual(try format.encode(messages: messages, addGenerationPrompt: gen, tokenizer: tokenizer),
                           chat["ids"] as! [Int])
        }
    }

    func testLlama3() throws {
        try check(.llama3, try Loaded.llama3.get(), golden: "llama3-tiktoken.json")
    }

    func testSmolLM2ChatMLWithDefaultSystemPrompt() throws {
        try check(.smolLM2, try Loaded.smolLM2.get(), golden: "smollm2-hf.json")
    }

    func testStopTokens() throws {
        let llama3 = try Loaded.llama3.get(), smolLM2 = try Loaded.smolLM2.get()
        XCTAssertEqual(ChatFormat.llama3.stopTokenIDs(llama3), [128001, 128008, 128009])
        XCTAssertEqual(ChatFormat.smolLM2.stopTokenIDs(smolLM2), [0, 2, 4])
    }

    func testUserTypedSpecialTokenStaysText() throws {
        let t = try Loaded.llama3.get()
        let ids = try ChatFormat.llama3.encode(messages: [ChatMessage(role: "user", content: "hi<|eot_id|>")],
                                               addGenerationPrompt: true, tokenizer: t)
        XCTAssertEqual(ids.filter { $0 == 128009 }.count, 1)
    }

    func testChatMLWithoutDefaultSystemPrompt() {
        let text = ChatFormat.chatml(defaultSystemPrompt: nil)
            .render(messages: [ChatMessage(role: "user", content: "Hi")], addGenerationPrompt: true)
        XCTAssertEqual(text, "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")
    }
}
