// The committed OpenAPI document is what the build serves, and it documents exactly the routes the server has.
import Foundation
@testable import Server
import XCTest

final class OpenAPIDocumentTests: XCTestCase {
    func testDocumentMatchesTheRoutes() throws {
        let data = try XCTUnwrap(OpenAPIDocument.data, "openapi.json is bundled")
        let committed = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources/Server/openapi.json")
        XCTAssertEqual(data, try Data(contentsOf: committed), "the bundled document is the committed one")
        let doc = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        XCTAssertEqual(doc["openapi"] as? String, "3.1.0")
        let paths = try XCTUnwrap(doc["paths"] as? [String: [String: Any]])
        var documented: [String: Set<String>] = [:]
        for (path, operations) in paths { documented[path] = Set(operations.keys.map { $0.uppercased() }) }
        var routed: [String: Set<String>] = [:]
        for route in InferenceServer.routes { routed[route.path] = Set(route.methods.map(\.rawValue)) }
        XCTAssertEqual(documented, routed)
    }
}
