import XCTest
final class PlaceholderReferenceBackendTests: XCTestCase { func testNothing() {} }
