// Shared golden comparisons: every corpus case's ids (plain and special) and decode round trips.
import XCTest
@testable import Tokenizers

enum GoldenChecks {
    /// Ids must equal the golden exactly; on mismatch, report the first differing index and context.
    static func assertCorpus(_ tokenizer: any Tokenizer, golden: [String: Any], label: String,
                             file: StaticString = #filePath, line: UInt = #line) throws {
        for (name, text) in Golden.corpus {
            for special in [false, true] {
                let want = Golden.ids(golden, name, special: special)
                let got = try tokenizer.encode(text, addBOS: false, allowSpecial: special)
                if got != want {
                    let i = (0..<min(got.count, want.count)).first { got[$0] != want[$0] } ?? min(got.count, want.count)
                    XCTFail("\(label) \(name) special=\(special): first difference at \(i): got \(Array(got[i..<min(i + 8, got.count)])) want \(Array(want[i..<min(i + 8, want.count)])) (lengths \(got.count)/\(want.count))", file: file, line: line)
                }
            }
        }
    }

    /// Decoding the golden ids gives back each corpus text.
    static func assertRoundTrip(_ tokenizer: any Tokenizer, golden: [String: Any],
                                file: StaticString = #filePath, line: UInt = #line) throws {
        for (name, text) in Golden.corpus {
            for special in [false, true] {
                XCTAssertEqual(try tokenizer.decode(Golden.ids(golden, name, special: special)), text,
                               "\(name) special=\(special)", file: file, line: line)
            }
        }
    }

    /// `decodes`: ids → text with U+FFFD as the reference library produced.
    static func assertDecodes(_ tokenizer: any Tokenizer, golden: [String: Any],
                              file: StaticString = #filePath, line: UInt = #line) throws {
        for d in golden["decodes"] as! [[String: Any]] {
            XCTAssertEqual(try tokenizer.decode(d["ids"] as! [Int]), d["text"] as? String, "\(d["ids"]!)",
                           file: file, line: line)
        }
    }
}
