// The response serializer: OpenAI's key order, nulls written out, strings escaped as RFC 8259 requires.
import XCTest
@testable import Server

final class JSONValueTests: XCTestCase {
    func testSerializesInOrderWithNullsAndEscapes() throws {
        let v: JSONValue = .object([("b", .int(1)), ("a", .null), ("s", .string("q\"\\\n\u{01}é")), ("d", .double(-0.5)),
                                    ("inf", .double(.infinity)), ("l", .array([.bool(true), .bool(false)]))])
        XCTAssertEqual(v.serialized(), #"{"b":1,"a":null,"s":"q\"\\\n\u0001é","d":-0.5,"inf":null,"l":[true,false]}"#)
        let parsed = try JSONSerialization.jsonObject(with: Data(v.serialized().utf8)) as? [String: Any]
        XCTAssertEqual(parsed?["s"] as? String, "q\"\\\n\u{01}é")
    }
}
