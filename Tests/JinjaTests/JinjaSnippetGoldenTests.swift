// Single Jinja constructs (filters, tests, loops, scoping, whitespace control, errors) against jinja2 in transformers' environment.

import Foundation
import XCTest
@testable import Jinja

final class JinjaSnippetGoldenTests: XCTestCase {
    func testEverySnippet() throws {
        let doc = try JinjaJSONReader.parse(String(decoding: try Data(contentsOf: ChatTemplateGoldenTests.goldens), as: UTF8.self))
        guard case .dict(let root) = doc, case .dict(let vars)? = root["snippet_variables"],
              case .list(let snippets, _)? = root["snippets"], case .string(let dateText)? = root["date"],
              let date = JinjaDate(iso: dateText) else { return XCTFail("malformed goldens file") }
        var variables: [String: JinjaValue] = [:]
        for (k, v) in vars.pairs { variables[k.pyStr] = v }
        var passed = 0
        for s in snippets {
            guard case .dict(let d) = s, case .string(let source)? = d["template"] else { return XCTFail("malformed snippet") }
            let result = Result { try JinjaTemplate(source).render(variables, now: date) }
            switch (result, d["output"], d["error"]) {
            case (.success(let text), .string(let expected)?, _):
                XCTAssertEqual(Array(text.unicodeScalars), Array(expected.unicodeScalars), "\(source)\n ours:   \(text.debugDescription)\n jinja2: \(expected.debugDescription)")
                if text.unicodeScalars.elementsEqual(expected.unicodeScalars) { passed += 1 }
            case (.failure(let e), _, .dict(let err)?):
                if case .string("TemplateError")? = err["type"] {
                    XCTAssertEqual((e as? JinjaError)?.message, err["message"]?.pyStr, source)
                    XCTAssertEqual((e as? JinjaError)?.kind, .raised, source)
                }
                passed += 1
            case (.success(let text), _, .dict(let err)?):
                XCTFail("\(source)\n rendered \(text.debugDescription); jinja2 raised \(err["type"]?.pyStr ?? ""): \(err["message"]?.pyStr ?? "")")
            case (.failure(let e), _, _):
                XCTFail("\(source)\n raised \(e); jinja2 rendered \(d["output"]?.pyStr.debugDescription ?? "")")
            default:
                XCTFail("malformed snippet \(source)")
            }
        }
        print("jinja snippets: \(passed) of \(snippets.count) equal jinja2's")
    }
}
