// Stop sequences in streamed text: split across pieces, held back only while they could still match.
import XCTest
@testable import Scheduler

final class StopSequenceFilterTests: XCTestCase {
    func testStopSequenceSplitAcrossPieces() {
        var f = StopSequenceFilter(["\nUser:"])
        var shown = ""
        for piece in ["Hello", " there", "\nUs", "er", ": more"] {
            let (emit, stopped) = f.feed(piece)
            shown += emit
            if stopped { break }
        }
        XCTAssertTrue(f.stopped)
        XCTAssertEqual(shown, "Hello there")
        XCTAssertEqual(f.text, "Hello there")
    }

    func testHeldBackTailIsReleasedWhenItStopsMatching() {
        var f = StopSequenceFilter(["END"])
        XCTAssertEqual(f.feed("abcE").emit, "abc")
        XCTAssertEqual(f.feed("N").emit, "")
        XCTAssertEqual(f.feed("x").emit, "ENx")
        XCTAssertFalse(f.stopped)
        XCTAssertEqual(f.feed("EN").emit, "")
        XCTAssertEqual(f.flush(), "EN")
        XCTAssertEqual(f.text, "abcENxEN")
    }

    func testEarliestOfSeveralSequencesWinsAndNoSequencesPassThrough() {
        var f = StopSequenceFilter(["bb", "a b"])
        XCTAssertEqual(f.feed("xa bb").emit, "x")
        XCTAssertTrue(f.stopped)
        var none = StopSequenceFilter([])
        XCTAssertEqual(none.feed("anything").emit, "anything")
    }
}
