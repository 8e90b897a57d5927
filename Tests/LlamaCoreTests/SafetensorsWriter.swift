// Test-only safetensors writer: header JSON (generated or given verbatim) plus data bytes.

import Foundation

struct SafetensorsTensorSpec {
    var name: String
    var dtype: String
    var shape: [Int]
    var data: [UInt8]
}

enum SafetensorsWriter {
    /// A valid file: tensors packed in order, `__metadata__` when given.
    static func bytes(_ tensors: [SafetensorsTensorSpec], metadata: [String: String]? = nil) -> [UInt8] {
        var header: [String: Any] = [:]
        var offset = 0
        var data: [UInt8] = []
        for t in tensors {
            header[t.name] = ["dtype": t.dtype, "shape": t.shape, "data_offsets": [offset, offset + t.data.count]]
            offset += t.data.count
            data += t.data
        }
        if let metadata { header["__metadata__"] = metadata }
        let json = try! JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        return bytes(headerJSON: String(decoding: json, as: UTF8.self), data: data)
    }

    /// A file with `headerJSON` verbatim (padded with spaces to a multiple of 8, as the reference
    /// writer does) followed by `data`.
    static func bytes(headerJSON: String, data: [UInt8], pad: Bool = true) -> [UInt8] {
        var header = Array(headerJSON.utf8)
        while pad && header.count % 8 != 0 { header.append(UInt8(ascii: " ")) }
        var b = LEBytes()
        b.u64(UInt64(header.count))
        b.raw(header)
        b.raw(data)
        return b.bytes
    }
}
