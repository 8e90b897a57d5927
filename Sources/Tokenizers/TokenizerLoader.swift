// Picks the tokenizer for a file or model directory by what the file is.
import Foundation
import LlamaCore

public enum TokenizerLoader {
    /// The tokenizer of GGUF metadata: SentencePiece for "llama", byte-level BPE for "gpt2" (as llama.cpp);
    /// any other `tokenizer.ggml.model` is refused by name.
    public static func gguf(metadata: [String: GGUFValue], file: String) throws(ModelFileError) -> any Tokenizer {
        let v = try GGUFVocabulary(metadata, file: file)
        let template = metadata["tokenizer.chat_template"]?.stringValue
        switch v.model {
        case .sentencePiece: return try SentencePieceTokenizer(vocabulary: v, chatTemplate: template)
        case .bytePair: return try BytePairTokenizer(vocabulary: v, chatTemplate: template)
        }
    }

    /// An HF tokenizer.json: SentencePiece-style BPE (byte fallback, Metaspace, ▁ normalizers and decoders) or
    /// byte-level BPE; anything else is refused naming the component.
    public static func tokenizerJSON(_ bytes: [UInt8], file: String) throws(ModelFileError) -> any Tokenizer {
        let m = try TokenizerJSON.model(bytes, file: file)
        if TokenizerJSON.isSentencePieceStyle(m) {
            return try SentencePieceJSONTokenizer(SentencePieceJSONDescription(m, file: file), file: file)
        }
        return try BytePairTokenizer(byteLevel: TokenizerJSON.describeByteLevel(m, file: file), file: file)
    }

    /// Loads `path`: an HF `tokenizer.json`, a tiktoken `tokenizer.model` (Llama 3 special tokens), a GGUF
    /// (its `tokenizer.ggml.*` metadata), or a directory holding `tokenizer.json` or `tokenizer.model`
    /// (original/ subfolder included).
    public static func load(path: String) throws -> any Tokenizer {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ModelFileError(.notFound, file: path, "file not found")
        }
        if isDirectory.boolValue {
            for name in ["tokenizer.json", "tokenizer.model", "original/tokenizer.model"] {
                let candidate = (path as NSString).appendingPathComponent(name)
                if FileManager.default.fileExists(atPath: candidate) { return try load(path: candidate) }
            }
            throw ModelFileError(.notFound, file: path, "directory has no tokenizer.json or tokenizer.model")
        }
        let bytes = try FileBytes.read(path)
        if bytes.starts(with: Array("GGUF".utf8)) {
            return try gguf(metadata: GGUFFile(path: path).metadata, file: path)
        }
        if bytes.first(where: { ![0x20, 0x09, 0x0A, 0x0D, 0xEF, 0xBB, 0xBF].contains($0) }) == UInt8(ascii: "{") {
            return try tokenizerJSON(bytes, file: path)
        }
        return try TiktokenTokenizer(modelFile: bytes, file: path)
    }
}
