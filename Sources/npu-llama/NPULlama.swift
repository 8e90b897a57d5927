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

    /// ArgumentParser's own flow, except that a bad argument is reported on one line as every other error is
    /// (`npu-llama: error: …`, exit 64) with where to read the usage, instead of the message and the whole usage.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asynchronous = command as? any AsyncParsableCommand {
                try await asynchronous.run()
            } else {
                try command.run()
            }
        } catch {
            let code = exitCode(for: error)
            // --help, --version and ExitCode(n) thrown by a command keep ArgumentParser's handling.
            if code == .success || error is ExitCode || error is CleanExit { exit(withError: error) }
            let subcommand = CommandLine.arguments.dropFirst().first { name in
                configuration.subcommands.contains { $0._commandName == name }
            }
            var text = message(for: error)
            // A value our bounds refused: ArgumentParser prefixes "The value 'x' is invalid for '--opt <opt>': ",
            // which our message already says.
            if let range = text.range(of: "': --"), text.hasPrefix("The value '") {
                text = String(text[text.index(range.lowerBound, offsetBy: 3)...])
            }
            FileHandle.standardError.write(Data("npu-llama: error: \(text)\n".utf8))
            FileHandle.standardError.write(Data("hint: npu-llama \(subcommand.map { $0 + " " } ?? "")--help lists the options\n".utf8))
            Foundation.exit(code.rawValue)
        }
    }
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
