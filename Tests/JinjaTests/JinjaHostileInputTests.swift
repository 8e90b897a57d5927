// Hostile templates: the parser and renderer must end every one with output or a JinjaError, within the limits.

import Foundation
import XCTest
@testable import Jinja

final class JinjaHostileInputTests: XCTestCase {
    /// Renders `source` with small limits; anything but a JinjaError (or success) fails the test.
    @discardableResult
    func survive(_ source: String, _ variables: [String: JinjaValue] = [:], file: StaticString = #filePath, line: UInt = #line) -> JinjaError? {
        var limits = JinjaInterpreter.Limits()
        limits.maxSteps = 100_000
        limits.maxOutputScalars = 1 << 20
        do {
            _ = try JinjaTemplate(source).render(variables, now: JinjaDate(year: 2024, month: 7, day: 26), limits: limits)
            return nil
        } catch let e as JinjaError {
            return e
        } catch {
            XCTFail("non-Jinja error \(error) for \(source.prefix(200).debugDescription)", file: file, line: line)
            return nil
        }
    }

    func expectLimit(_ source: String, file: StaticString = #filePath, line: UInt = #line) {
        let start = Date()
        let e = survive(source, file: file, line: line)
        let seconds = Date().timeIntervalSince(start)
        if seconds > 0.5 { print(String(format: "slow limit case (%.1f s): %@", seconds, String(source.prefix(60)))) }
        XCTAssertEqual(e?.kind, .limit, "\(source.prefix(120)): \(e.map { "\($0)" } ?? "rendered")", file: file, line: line)
    }

    func testResourceLimitsEndWithAClearError() {
        expectLimit("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}")                        // unbounded recursion
        expectLimit("{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}") // output / steps
        expectLimit("{{ 'x' * 1000000000 }}")
        expectLimit("{{ ('x' * 1000000) * 1000 }}")
        expectLimit("{{ [0] * 100000000 }}")
        expectLimit("{{ 2 ** 100000 }}")
        expectLimit("{{ range(1000000)|length }}")
        expectLimit("{% set ns = namespace(l=[1]) %}{% for i in range(100) %}{% set ns.l = ns.l + ns.l %}{% endfor %}")
        expectLimit("{% set ns = namespace(l=[]) %}{% for i in range(5000) %}{% set ns.l = [ns.l] %}{% endfor %}{{ ns.l }}")
        expectLimit("{% set ns = namespace() %}{% set ns.me = ns %}{{ ns }}")                       // a cycle
        expectLimit("{{ " + String(repeating: "(", count: 5000) + "1" + String(repeating: ")", count: 5000) + " }}")
        expectLimit("{{ " + String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000) + " }}")
        expectLimit(String(repeating: "{% if true %}", count: 3000) + String(repeating: "{% endif %}", count: 3000))
        expectLimit("{{ " + String(repeating: "not ", count: 5000) + "x }}")
        expectLimit("{{ " + String(repeating: "-", count: 5000) + "1 }}")
        expectLimit("{{ x" + String(repeating: "|trim", count: 20000) + " }}")
        expectLimit("{{ 1" + String(repeating: " + 1", count: 20000) + " }}")
        expectLimit(String(repeating: "{% set x = [x] %}", count: 2000) + "{{ x }}")
        expectLimit("{{ x" + String(repeating: ".a", count: 20000) + " }}")
        expectLimit("{{ x" + String(repeating: " or x", count: 20000) + " }}")
        expectLimit("{{ x" + String(repeating: " ~ x", count: 20000) + " }}")
        expectLimit("{{ x" + String(repeating: " if x", count: 20000) + " }}")
        expectLimit("{{ x" + String(repeating: "[0]", count: 20000) + " }}")
        expectLimit("{{ x" + String(repeating: "()", count: 20000) + " }}")
        expectLimit("{{ [1]|slice(1000000000)|list }}")                                             // slice, format, groupby
        expectLimit("{{ '%1000000000d'|format(1) }}")
        expectLimit("{{ '%.99999999999999999999f'|format(1) }}")
        expectLimit("{{ '%-9000000s%9000000s'|format('a', 'b') }}")
        expectLimit("{% set x = [[1]] %}" + String(repeating: "{% set x = [x]|groupby(0) %}", count: 600) + "{{ x }}")
    }

    func testMalformedTemplatesAreSyntaxErrorsWithALine() {
        for source in ["{% if x %}", "{% for %}", "{{ (1 }}", "{{ 1 ]}}", "{% endif %}", "{{", "{%", "{#", "{{ 'abc }}",
                       "{% macro %}", "{% set %}", "{{ x|}}", "{{ x is }}", "{% for x in y %}{% endif %}", "a\nb\n{{ + }}",
                       "{% raw %}never closed", "{{ \"\\N{DASH}\" }}", "{% include 'x' %}", "{% extends 'x' %}"] {
            let e = survive(source)
            XCTAssertNotNil(e, source)
            XCTAssertGreaterThan(e?.line ?? 0, 0, "\(source): \(String(describing: e))")
        }
        XCTAssertEqual(survive("a\nb\n{{ + }}")?.line, 3)
        XCTAssertEqual(survive("line 1\n{% include 'x' %}")?.kind, .unsupported)
        XCTAssertEqual(survive("line 1\n{% include 'x' %}")?.line, 2)
    }

    /// Deterministic pseudo-random token soup: the parser and renderer never crash and never hang.
    func testRandomTokenSoup() {
        let pieces = ["{{", "}}", "{%", "%}", "{#", "#}", "{%-", "-%}", "{{-", "-}}", "if", "elif", "else", "endif", "for", "in",
                      "endfor", "set", "endset", "macro", "endmacro", "call", "endcall", "filter", "endfilter", "raw", "endraw",
                      "x", "y", "loop", "ns", "namespace", "range", "(", ")", "[", "]", "{", "}", ",", ":", ".", "|", "~", "+",
                      "-", "*", "/", "//", "%", "**", "=", "==", "!=", "<", ">", "not", "and", "or", "is", "defined", "none",
                      "true", "'s'", "\"t\"", "'unterminated", "1", "2.5", "1e9", "trim", "tojson", "length", "items",
                      "messages", "\n", " ", "  ", "\t", "é", "🦙", "\\", "#", "break", "continue", "recursive", "caller"]
        var rng = SplitMix64(seed: 0x5EED)
        let variables: [String: JinjaValue] = [
            "x": .list([.int(1), .string("a"), .none]), "y": .dict(JinjaDict([("k", .int(2))])),
            "messages": .list([.dict(JinjaDict([("role", .string("user")), ("content", .string("hi"))]))]),
        ]
        var rendered = 0, errors = 0
        for _ in 0..<4000 {
            let n = Int(rng.next() % 40) + 1
            let source = (0..<n).map { _ in pieces[Int(rng.next() % UInt64(pieces.count))] }.joined(separator: rng.next() % 2 == 0 ? " " : "")
            if survive(source, variables) == nil { rendered += 1 } else { errors += 1 }
        }
        XCTAssertEqual(rendered + errors, 4000)
        print("token soup: \(rendered) rendered, \(errors) refused with a JinjaError, none crashed")
    }

    /// The real templates cut, spliced and duplicated at random points.
    func testMutatedRealTemplates() throws {
        let dir = ChatTemplateGoldenTests.templatesDirectory
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir.path).filter({ $0.hasSuffix(".jinja") }), !names.isEmpty else {
            throw XCTSkip("llama.cpp's templates are not at \(dir.path) (Tools/setup.sh fetches them)")
        }
        let sources = try names.sorted().map { Array(try String(contentsOf: dir.appendingPathComponent($0), encoding: .utf8).unicodeScalars) }
        let message = JinjaValue.dict(JinjaDict([("role", .string("user")), ("content", .string("hi"))]))
        let variables: [String: JinjaValue] = ["messages": .list([message, message]), "add_generation_prompt": .bool(true),
                                               "tools": .none, "bos_token": .string("<s>")]
        var rng = SplitMix64(seed: 42)
        var count = 0
        for source in sources {
            for _ in 0..<40 {
                var s = source
                for _ in 0..<(Int(rng.next() % 3) + 1) {
                    let a = Int(rng.next() % UInt64(s.count + 1)), b = Int(rng.next() % UInt64(s.count + 1))
                    let (lo, hi) = (min(a, b), max(a, b))
                    switch rng.next() % 3 {
                    case 0: s.removeSubrange(lo..<hi)
                    case 1: s.insert(contentsOf: s[lo..<hi], at: Int(rng.next() % UInt64(s.count + 1)))
                    default: s = Array(s[hi...]) + Array(s[..<lo])
                    }
                    if s.count > 200_000 { s = Array(s.prefix(200_000)) }
                }
                survive(String(String.UnicodeScalarView(s)), variables)
                count += 1
            }
        }
        print("mutated templates: \(count) rendered or refused, none crashed")
    }
}

/// A small deterministic generator (Steele et al.'s SplitMix64) so the fuzz cases are the same every run.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
