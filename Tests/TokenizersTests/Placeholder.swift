import XCTest
final class PlaceholderTokenizersTests: XCTestCase { func testNothing() {} }
