import XCTest
final class PlaceholderLlamaCoreTests: XCTestCase { func testNothing() {} }
