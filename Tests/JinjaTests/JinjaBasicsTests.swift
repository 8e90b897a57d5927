// Hand-checked renderings of single constructs (expected strings from Python jinja2 3.1.6 with transformers' options).

import XCTest
@testable import Jinja

final class JinjaBasicsTests: XCTestCase {
    func testPlaceholder() throws {
        XCTAssertEqual(try JinjaTemplate("{{ 1 + 2 }}").render([:]), "3")
    }
}
