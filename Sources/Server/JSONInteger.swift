// An integer request field that fails with its own path: Foundation's JSONDecoder reports 1.5 or 1e20 for an Int
// as "not valid JSON" with no field named, so integers are read as numbers and checked here.

struct JSONInteger: Decodable, Sendable {
    let value: Int

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        guard let number = try? container.decode(Double.self) else {
            throw DecodingError.typeMismatch(Int.self, .init(codingPath: decoder.codingPath, debugDescription: "expected an integer"))
        }
        guard number == number.rounded(), number >= -0x1p63, number < 0x1p63 else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "\(number) is not a 64-bit integer")
        }
        // Exact for every integer JSON gives (a double holds integers up to 2^53 exactly; beyond, the text is re-read).
        value = (try? container.decode(Int.self)) ?? Int(number)
    }
}
