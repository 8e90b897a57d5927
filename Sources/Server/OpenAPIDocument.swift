// The committed OpenAPI document of the served subset (Sources/Server/openapi.json), served at GET /openapi.json.
import Foundation

public enum OpenAPIDocument {
    /// The document's bytes, as committed. The tests hold every response to it (schemathesis).
    public static let data: Data? = {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "json") else { return nil }
        return try? Data(contentsOf: url)
    }()
}
