// The npu-llama command: its subcommands and the exit codes they share.
import ArgumentParser
import Foundation

@main
struct NPULlama: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "npu-llama",
        abstract: "Run Llama-architecture LLMs on the AMD XDNA2 NPU, and verify them against an fp32 CPU reference.",
        subcommands: [Generate.self, Chat.self, Serve.self, Verify.self, Bench.self, Tokenize.self, Detokenize.self, Template.self, Inspect.self, Doctor.self, Kernels.self],
        defaultSubcommand: nil)
}

/// Exit codes: distinct per kind of failure, so scripts can tell them apart.
enum ExitCodes {
    static let usage: Int32 = 64          // bad arguments (EX_USAGE)
    static let badInput: Int32 = 65       // a model/tokenizer file is missing, corrupt or unsupported (EX_DATAERR)
    static let noDevice: Int32 = 69       // the requested device is not available here (EX_UNAVAILABLE)
    static let runtime: Int32 = 70        // a failure while running the model (EX_SOFTWARE)
}

/// A user-facing failure: one sentence, a hint, an exit code. Never a backtrace.
struct UserFacingError: Error, CustomStringConvertible {
    let message: String
    let hint: String?
    let code: Int32
    var description: String { message + (hint.map { "\nhint: " + $0 } ?? "") }
}

/// Prints a failure as `npu-llama: error: …` and exits with its code.
func fail(_ error: Error) -> Never {
    let (text, code): (String, Int32)
    switch error {
    case let e as UserFacingError: (text, code) = (e.description, e.code)
    case let e as CustomStringConvertible: (text, code) = (e.description, ExitCodes.badInput)
    default: (text, code) = ("\(error)", ExitCodes.runtime)
    }
    FileHandle.standardError.write(Data("npu-llama: error: \(text)\n".utf8))
    exit(code)
}
