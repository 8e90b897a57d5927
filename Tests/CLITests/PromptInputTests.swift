// Prompts from --file and standard input, invalid UTF-8 refused at its offset, and the help and hints that tell the truth.
import XCTest
import Foundation
import LlamaCore

extension CLITests {
    func testPromptsFromAFileAndFromStandardInput() throws {
        try requireSmolLM2()
        let dir = try temporaryDirectory()
        try "The capital of France is".write(toFile: dir + "/p.txt", atomically: true, encoding: .utf8)
        let expected = "504 3575 282 4649 314\n"
        XCTAssertEqual(try run(["tokenize", "--file", dir + "/p.txt"]).stdout, expected)
        XCTAssertEqual(try run(["tokenize", "-"], input: "The capital of France is").stdout, expected)
        XCTAssertEqual(try run(["tokenize", "--file", "-"], input: "The capital of France is").stdout, expected)
        let g = try run(["generate", "--device", "reference", "--max-tokens", "2", "--quiet", "--file", dir + "/p.txt"])
        XCTAssertEqual(g.status, 0, g.stderr)
        XCTAssertEqual(g.stdout, " Paris.\n")
        let s = try run(["generate", "--device", "reference", "--max-tokens", "2", "--quiet", "-"], input: "The capital of France is")
        XCTAssertEqual(s.stdout, " Paris.\n", s.stderr)
        let v = try run(["verify", "--device", "reference", "--quiet", "--decode-steps", "1", "--prompt", "-"], input: "The capital of France is")
        XCTAssertEqual(v.status, 0, v.stderr)
        XCTAssertTrue(v.stdout.contains("case prompt: 5 prompt tokens, 1 greedy tokens"), v.stdout)
        try assertFails(["generate", "--device", "reference", "--file", dir + "/none.txt"], status: 65, mentions: "--file \(dir)/none.txt: no such file")
        try assertFails(["generate", "--device", "reference", "--file", dir + "/p.txt", "hi"], status: 64, mentions: "not both")
        try assertFails(["generate", "--device", "reference"], status: 64, mentions: "no prompt")
        // A long prompt from a file: refused with both numbers.
        try String(repeating: "word ", count: 300).write(toFile: dir + "/long.txt", atomically: true, encoding: .utf8)
        try assertFails(["generate", "--device", "reference", "--context", "100", "--file", dir + "/long.txt"], status: 64,
                        mentions: "the prompt is 301 tokens; the context holds 100")
        // verify reads --file too, and refuses a prompt longer than the model's context with both numbers.
        try String(repeating: "word ", count: 8200).write(toFile: dir + "/longer.txt", atomically: true, encoding: .utf8)
        try assertFails(["verify", "--device", "reference", "--decode-steps", "1", "--file", dir + "/longer.txt"], status: 64,
                        mentions: "the prompt is 8201 tokens and --decode-steps 1 adds 2 positions: 8203 in all; the model's context holds 8192")
    }

    func testInvalidUTF8IsRefusedWithItsOffsetUnlessReplacementIsAsked() throws {
        try requireSmolLM2()
        let dir = try temporaryDirectory()
        try Data([0x48, 0x69, 0x20, 0xC3, 0x28, 0x21]).write(to: URL(fileURLWithPath: dir + "/bad.txt"))   // "Hi \xC3(!"
        try assertFails(["tokenize", "--file", dir + "/bad.txt"], status: 65, mentions: "is not valid UTF-8: byte 0xC3 at offset 3 (of 6)")
        try assertFails(["generate", "--device", "reference", "--file", dir + "/bad.txt"], status: 65, mentions: "byte 0xC3 at offset 3")
        let replaced = try run(["tokenize", "--pieces", "--replace-invalid-utf8", "--file", dir + "/bad.txt"])
        XCTAssertEqual(replaced.status, 0, replaced.stderr)
        XCTAssertTrue(replaced.stdout.contains("\u{FFFD}"), "U+FFFD where the bad byte was: \(replaced.stdout)")
        // From the command line itself (bytes the shell hands over, not what Swift's arguments repaired).
        let shell = Process()
        shell.executableURL = URL(fileURLWithPath: "/bin/sh")
        let executable = try XCTUnwrap([Bundle(for: CLITests.self).bundleURL.deletingLastPathComponent(), Bundle.main.bundleURL]
            .map { $0.appendingPathComponent("npu-llama") }.first { FileManager.default.isExecutableFile(atPath: $0.path) })
        shell.arguments = ["-c", "exec \"$0\" tokenize \"$(printf 'ab\\377c')\"", executable.path]
        shell.currentDirectoryURL = URL(fileURLWithPath: Self.repo)
        let err = Pipe()
        shell.standardError = err
        shell.standardOutput = Pipe()
        try shell.run()
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        shell.waitUntilExit()
        XCTAssertEqual(shell.terminationStatus, 65, message)
        XCTAssertTrue(message.contains("the text argument is not valid UTF-8: byte 0xFF at offset 2 (of 4)"), message)
    }

    func testHelpAndHintsTellTheTruth() throws {
        // Help is wrapped to the terminal: compare with runs of whitespace as one space.
        func flat(_ text: String) -> String { text.split(whereSeparator: \.isWhitespace).joined(separator: " ") }
        let tokenizeHelp = flat(try run(["tokenize", "--help"]).stdout)
        XCTAssertTrue(tokenizeHelp.contains("--no-bos"), tokenizeHelp)
        XCTAssertTrue(tokenizeHelp.contains("added first when the model's tokenizer asks for it"), tokenizeHelp)
        let benchHelp = flat(try run(["bench", "--help"]).stdout)
        XCTAssertTrue(benchHelp.contains("MODELLED NPU time") && benchHelp.contains("never a measured tok/s"), benchHelp)
        XCTAssertTrue(benchHelp.contains("It ignores --prompt-tokens, --gen-tokens and --repetitions"), benchHelp)
        let generateHelp = try run(["generate", "--help"]).stdout
        for option in ["--min-p", "--repeat-penalty", "--repeat-last-n", "--presence-penalty", "--frequency-penalty", "--file"] {
            XCTAssertTrue(generateHelp.contains(option), "\(option) in generate --help")
        }
        try requireSmolLM2()
        // SmolLM2 does not ask for BOS; Llama 3's tokenizer does, and tokenize says so.
        if FileManager.default.fileExists(atPath: ModelCache.llama3TokenizerModel) {
            let t = try run(["tokenize", "--tokenizer", ModelCache.llama3TokenizerModel, "Hi"])
            if t.stdout.hasPrefix("128000 ") {
                XCTAssertTrue(t.stderr.contains("BOS 128000 added first because the model's tokenizer asks for it; --no-bos leaves it out"), t.stderr)
                XCTAssertFalse(try run(["tokenize", "--tokenizer", ModelCache.llama3TokenizerModel, "--no-bos", "Hi"]).stdout.hasPrefix("128000"))
            }
        }
        let e = try run(["bench", "--device", "emulator", "--repetitions", "5", "--json"])
        XCTAssertEqual(e.status, 0, e.stderr)
        XCTAssertTrue(e.stderr.isEmpty || !e.stderr.contains("ignored"), "--json keeps stderr quiet")
        let d = try run(["doctor"])
        let fix = d.stdout.split(separator: "\n").first { $0.contains("fix: build this model's kernels once") }
        XCTAssertNotNil(fix, d.stdout)
        XCTAssertFalse(fix?.contains("…") ?? true, "the fix can be pasted as is: \(fix ?? "")")
        XCTAssertTrue(fix?.hasSuffix("npu-llama kernels build --model smollm2 --ctx 4096") ?? false, "\(fix ?? "")")
    }

    func testAGoldenOfAnotherModelIsAGoldenFileError() throws {
        try requireSmolLM2()
        let r = try run(["verify", "--device", "reference", "--quiet", "--golden", "Golden/tiny-llama32"])
        XCTAssertEqual(r.status, 65, r.stderr)
        XCTAssertTrue(r.stderr.contains("golden tensor") && r.stderr.contains("the golden was made for another model"), r.stderr)
        XCTAssertFalse(r.stdout.contains("inf"), "not reported as a model failure: \(r.stdout)")
    }

    /// The sampling options through generate: the same seed gives the same tokens; penalties change greedy output.
    func testSamplingOptionsThroughGenerate() throws {
        try requireSmolLM2()
        let args = ["generate", "--device", "reference", "--max-tokens", "12", "--json", "--quiet", "--temperature", "0.9",
                    "--top-k", "40", "--top-p", "0.95", "--min-p", "0.05", "--repeat-penalty", "1.1", "--presence-penalty", "0.3",
                    "--frequency-penalty", "0.2", "--seed", "7", "Once upon a time"]
        func ids(_ arguments: [String]) throws -> [Int] {
            let r = try run(arguments)
            XCTAssertEqual(r.status, 0, r.stderr)
            return (try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])?["generated_ids"] as? [Int] ?? []
        }
        let a = try ids(args), b = try ids(args)
        XCTAssertEqual(a, b)
        XCTAssertEqual(a.count, 12)
        // Greedy repeats itself on this prompt; a strong repeat penalty keeps any token from the last 64 from coming back
        // while its logit is positive.
        let greedy = try ids(["generate", "--device", "reference", "--max-tokens", "24", "--json", "--quiet", "one two one two one two"])
        let penalized = try ids(["generate", "--device", "reference", "--max-tokens", "24", "--json", "--quiet", "--repeat-penalty", "10",
                                 "one two one two one two"])
        XCTAssertNotEqual(greedy, penalized)
        XCTAssertLessThan(penalized.count - Set(penalized).count, greedy.count - Set(greedy).count, "fewer repeats: \(greedy) vs \(penalized)")
    }
}
