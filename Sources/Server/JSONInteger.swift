// An integer request field that fails with its own path: Foundation's JSONDecoder reports 1.5 or 1e20 for an Int
// as "not valid JSON" with no field named, so a number that is no 64-bit integer is told apart here.

struct JSONInteger: Decodable, Sendable {
    let value: Int

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let exact = try? container.decode(Int.self) {
            value = exact
            return
        }
        guard let number = try? container.decode(Double.self) else {
            throw DecodingError.typeMismatch(Int.self, .init(codingPath: decoder.codingPath, debugDescription: "expected an integer"))
        }
        throw DecodingError.dataCorruptedError(in: container, debugDescription: "\(number) is not a 64-bit integer")
    }
}
