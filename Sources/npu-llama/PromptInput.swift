// Where a prompt comes from — the argument, `-` (standard input) or --file PATH — and its bytes checked to be UTF-8.
import ArgumentParser
import Foundation

/// `--file PATH` and `--replace-invalid-utf8`, shared by generate, verify and tokenize. A prompt is taken as bytes and
/// refused with the offset of its first invalid UTF-8 byte, unless `--replace-invalid-utf8` asks for U+FFFD instead:
/// it is never altered silently.
struct PromptInput: ParsableArguments {
    @Option(name: .customLong("file"), help: "Read the prompt from this file (any size; '-' is standard input).")
    var file: String?
    @Flag(name: .customLong("replace-invalid-utf8"),
          help: "Replace invalid UTF-8 bytes in the prompt with U+FFFD instead of refusing the prompt.")
    var replaceInvalidUTF8 = false

    /// The prompt from `--file`, or from `argument` (`-` reads standard input); nil when neither is given.
    /// `what` names the argument in messages ("the prompt", "--prompt").
    func text(argument: String?, what: String = "the prompt argument") throws -> String? {
        if let file, argument != nil {
            throw UserFacingError(message: "give the prompt either as \(what) or with --file \(file), not both", hint: nil,
                                  code: ExitCodes.usage)
        }
        if let file {
            if file == "-" { return try decode(FileHandle.standardInput.readDataToEndOfFile(), source: "standard input") }
            let path = (file as NSString).expandingTildeInPath
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
                throw UserFacingError(message: "--file \(file): no such file", hint: nil, code: ExitCodes.badInput)
            }
            guard let data = FileManager.default.contents(atPath: path) else {
                throw UserFacingError(message: "--file \(file): cannot be read", hint: "check its permissions", code: ExitCodes.badInput)
            }
            return try decode(data, source: file)
        }
        guard let argument else { return nil }
        if argument == "-" { return try decode(FileHandle.standardInput.readDataToEndOfFile(), source: "standard input") }
        // The shell hands over bytes; Swift's CommandLine.arguments has already replaced invalid ones with U+FFFD.
        // Find the raw argument this one came from and check its bytes.
        if let raw = Self.rawArgument(matching: argument) { return try decode(raw, source: what) }
        return argument
    }

    /// The prompt's bytes as text: refused at the first invalid byte, or repaired when asked.
    func decode(_ data: Data, source: String) throws -> String {
        if let offset = Self.firstInvalidUTF8Offset(data) {
            guard replaceInvalidUTF8 else {
                let byte = String(format: "0x%02X", data[data.startIndex + offset])
                throw UserFacingError(message: "\(source) is not valid UTF-8: byte \(byte) at offset \(offset) (of \(data.count))",
                                      hint: "fix the text's encoding, or pass --replace-invalid-utf8 to replace invalid bytes with U+FFFD",
                                      code: ExitCodes.badInput)
            }
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// Offset of the first byte that does not start or continue a valid UTF-8 sequence, or nil if all are valid.
    static func firstInvalidUTF8Offset(_ data: Data) -> Int? {
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = data.makeIterator()
        var offset = 0
        while true {
            switch parser.parseScalar(from: &iterator) {
            case .valid(let encoded): offset += encoded.count
            case .error: return offset
            case .emptyInput: return nil
            }
        }
    }

    /// The raw bytes of the command-line argument whose decoded form is `argument`, when those bytes are not valid
    /// UTF-8 (nil when every argument is valid).
    static func rawArgument(matching argument: String) -> Data? {
        for i in 1..<Int(CommandLine.argc) {
            guard let pointer = CommandLine.unsafeArgv[i] else { continue }
            let data = Data(bytes: pointer, count: strlen(pointer))
            if firstInvalidUTF8Offset(data) != nil, String(decoding: data, as: UTF8.self) == argument { return data }
        }
        return nil
    }
}
