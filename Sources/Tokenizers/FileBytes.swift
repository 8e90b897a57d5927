// Reads a whole file into memory, failing with a ModelFileError that names it.
import Foundation
import LlamaCore

enum FileBytes {
    static func read(_ path: String) throws(ModelFileError) -> [UInt8] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ModelFileError(.notFound, file: path, "file not found")
        }
        guard !isDirectory.boolValue else { throw ModelFileError(.unreadable, file: path, "is a directory") }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ModelFileError(.unreadable, file: path, "cannot be read")
        }
        return [UInt8](data)
    }
}
