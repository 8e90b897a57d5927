// Every subcommand's numeric options at 0, −1, huge and non-numeric values: a clean exit code and a one-line message.
import XCTest
import Foundation
import LlamaCore

extension CLITests {
    /// Values every numeric option is tried with; "nan" and "inf" as well for the options that take fractions.
    static let probeValues = ["0", "-1", "1000000000000", "99999999999999999999999", "abc"]
    static let fractionProbes = probeValues + ["nan", "inf", "1e30"]

    /// (arguments before the option, option, values that are in range, takes fractions). In-range values run with
    /// --device npu, which stops (69, no NPU here) after every check and before any allocation.
    static let numericOptions: [(args: [String], option: String, valid: Set<String>, fractions: Bool)] = [
        (["generate", "--device", "npu"], "--max-tokens", ["0"], false),
        (["generate", "--device", "npu"], "--context", [], false),
        (["generate", "--device", "npu"], "--temperature", ["0"], true),
        (["generate", "--device", "npu"], "--top-k", ["0"], false),
        (["generate", "--device", "npu"], "--top-p", ["0"], true),
        (["generate", "--device", "npu"], "--min-p", ["0"], true),
        (["generate", "--device", "npu"], "--repeat-penalty", [], true),
        (["generate", "--device", "npu"], "--repeat-last-n", ["0", "-1"], false),
        (["generate", "--device", "npu"], "--presence-penalty", ["0", "-1"], true),
        (["generate", "--device", "npu"], "--frequency-penalty", ["0", "-1"], true),
        (["generate", "--device", "npu"], "--seed", ["0", "1000000000000"], false),
        (["chat", "--device", "npu"], "--max-tokens", [], false),
        (["chat", "--device", "npu"], "--context", [], false),
        (["chat", "--device", "npu"], "--min-p", ["0"], true),
        (["serve", "--device", "npu"], "--context", [], false),
        (["serve", "--device", "npu"], "--port", ["0"], false),
        (["serve", "--device", "npu"], "--queue", ["0"], false),
        (["serve", "--device", "npu"], "--timeout", [], true),
        (["serve", "--device", "npu"], "--max-body", [], false),
        (["bench", "--device", "npu"], "--prompt-tokens", [], false),
        (["bench", "--device", "npu"], "--gen-tokens", [], false),
        (["bench", "--device", "npu"], "--repetitions", [], false),
        (["verify", "--device", "npu", "--prompt", "hi"], "--decode-steps", ["0"], false),
        (["doctor"], "--context", [], false),
        (["kernels", "list"], "--ctx", [], false),
        (["kernels", "list"], "--chunk", [], false),
        (["kernels", "build"], "--ctx", [], false),
    ]

    func testEveryNumericOptionAtZeroMinusOneHugeAndNonNumeric() throws {
        try requireSmolLM2()
        var tried = 0
        for (args, option, valid, fractions) in Self.numericOptions {
            for value in fractions ? Self.fractionProbes : Self.probeValues {
                var arguments = args + [option, value]
                if args.first == "generate" { arguments.append("hi") }
                let r = try run(arguments, input: "")
                tried += 1
                let what = (arguments.joined(separator: " ")) + " → \(r.status): \(r.stderr)"
                XCTAssertFalse(r.stderr.contains("Fatal error") || r.stderr.contains("backtrace") || r.stderr.contains("Missing value"), what)
                XCTAssertTrue(r.status == 64 || r.status == 69, what)
                if valid.contains(value) {
                    XCTAssertEqual(r.status, 69, "in range: stops only at the missing NPU: \(what)")
                } else {
                    XCTAssertEqual(r.status, 64, what)
                    let first = r.stderr.split(separator: "\n").first.map(String.init) ?? ""
                    XCTAssertTrue(first.hasPrefix("npu-llama: error: \(option) must be "), "one line naming the option: \(what)")
                    XCTAssertTrue((first.contains("…") || first.contains("at most")) && first.contains("got '\(value)'"), "the range and the value: \(what)")
                }
            }
        }
        XCTAssertGreaterThan(tried, 150)
    }

    /// Sizes the model bounds (its context) are refused with the model's number before any weight is converted.
    func testSizesBeyondTheModelAreRefusedBeforeAllocation() throws {
        try requireSmolLM2()
        try assertFails(["bench", "--device", "reference", "--prompt-tokens", "100000"], status: 64,
                        mentions: "--prompt-tokens 100000 is outside 1…8192 (the model's context)")
        try assertFails(["generate", "--device", "reference", "--context", "10000", "hi"], status: 64,
                        mentions: "--context 10000 is outside 1…8192")
        try assertFails(["verify", "--device", "reference", "--prompt", "hi", "--decode-steps", "9000"], status: 64,
                        mentions: "the model's context holds 8192")
        try assertFails(["kernels", "list", "--ctx", "9000"], status: 64, mentions: "--ctx 9000 is outside 1…8192")
        let r = try run(["bench", "--device", "reference", "--prompt-tokens", "100000"])
        XCTAssertFalse(r.stderr.contains("converting weights"), "refused before the weights are converted: \(r.stderr)")
    }
}
