// Each aie2p rule the AIE API emulation enforces (Kernels/npu2_target.json aieApi.*, check "compile") fires on a snippet the real headers reject, citing its source, and lets the legal form through; every kernel compiles under them.
import Foundation
import XCTest

final class AIEAPIRuleTests: XCTestCase {
    /// One rule: snippets aie2p rejects (each must fail naming `[key]` and `source`), snippets it accepts.
    struct Rule {
        var key: String
        /// A path of the real source that the rule's message and its target-model entry both name.
        var source: String
        var rejected: [(String, String)]
        var accepted: [(String, String)]
    }

    static let include = "#include <aie_api/aie.hpp>\n"
    static let rules: [Rule] = [
        Rule(key: "aieApi.exp2.resultType", source: "include/aie_api/aie.hpp",
             rejected: [("exp2<float>", "aie::vector<float, 16> f(aie::vector<float, 16> v) { return aie::exp2<float>(v); }")],
             accepted: [("exp2<bfloat16>", "aie::vector<bfloat16, 16> f(aie::vector<float, 16> v) { return aie::exp2<bfloat16>(v); }"),
                        ("exp2 default result", "aie::vector<bfloat16, 32> f(aie::vector<float, 32> v) { return aie::exp2(v); }")]),
        Rule(key: "aieApi.exp2.argumentType", source: "include/aie_api/aie.hpp",
             rejected: [("exp2 of bf16 lanes", "auto f(aie::vector<bfloat16, 16> v) { return aie::exp2<bfloat16>(v); }")],
             accepted: [("exp2 of an accumulator's fp32 lanes",
                         "auto f(aie::accum<accfloat, 16> a) { return aie::exp2<bfloat16>(a.to_vector<float>()); }")]),
        Rule(key: "aieApi.mul.typePairs", source: "include/aie_api/detail/mul.hpp",
             rejected: [("bf16 vector · float vector", "auto f(aie::vector<bfloat16, 32> a, aie::vector<float, 32> b) { return aie::mul(a, b); }"),
                        ("float vector · bf16 vector", "auto f(aie::vector<float, 32> a, aie::vector<bfloat16, 32> b) { return aie::mul(a, b); }"),
                        ("bf16 vector · float scalar", "auto f(aie::vector<bfloat16, 32> a, float s) { return aie::mul(a, s); }"),
                        ("float scalar · bf16 vector", "auto f(aie::vector<bfloat16, 32> a, float s) { return aie::mul(s, a); }"),
                        ("float vector · bf16 scalar", "auto f(aie::vector<float, 16> a, bfloat16 s) { return aie::mul(a, s); }"),
                        ("bf16 vector · double scalar", "auto f(aie::vector<bfloat16, 32> a) { return aie::mul(a, 0.5); }"),
                        ("mac bf16 · float", "auto f(aie::accum<accfloat, 16> c, aie::vector<bfloat16, 16> a, aie::vector<float, 16> b) { return aie::mac(c, a, b); }"),
                        ("mac bf16 vector · float scalar", "auto f(aie::accum<accfloat, 16> c, aie::vector<bfloat16, 16> a, float s) { return aie::mac(c, a, s); }"),
                        ("msc float · bf16", "auto f(aie::accum<accfloat, 16> c, aie::vector<float, 16> a, aie::vector<bfloat16, 16> b) { return aie::msc(c, a, b); }")],
             accepted: [("bf16 · bf16", "auto f(aie::vector<bfloat16, 32> a, aie::vector<bfloat16, 32> b) { return aie::mul(a, b); }"),
                        ("float · float", "auto f(aie::vector<float, 16> a, aie::vector<float, 16> b) { return aie::mul(a, b); }"),
                        ("bf16 vector · bf16 scalar", "auto f(aie::vector<bfloat16, 32> a, bfloat16 s) { return aie::mul(a, s); }"),
                        ("float vector · float scalar", "auto f(aie::vector<float, 16> a, float s) { return aie::mul(a, s); }"),
                        ("mac and msc", "auto f(aie::accum<accfloat, 16> c, aie::vector<bfloat16, 16> a, aie::vector<float, 16> b, float s) " +
                            "{ return aie::msc(aie::mac(c, a, a), b, s); }")]),
        Rule(key: "aieApi.mmul.bf16Shapes", source: "include/aie_api/detail/aie2p/mmul_bf16_bf16.hpp",
             rejected: [("4x8x16", "void f() { aie::mmul<4, 8, 16, bfloat16, bfloat16> m; (void)m; }"),
                        ("2x8x8", "void f() { aie::mmul<2, 8, 8, bfloat16, bfloat16, accauto> m; (void)m; }")],
             accepted: [("4x8x8 8x8x4 4x8x4 8x8x8 8x1x8",
                         "void f() { aie::mmul<4, 8, 8, bfloat16, bfloat16, accauto> a; aie::mmul<8, 8, 4, bfloat16, bfloat16> b; " +
                         "aie::mmul<4, 8, 4, bfloat16, bfloat16> c; aie::mmul<8, 8, 8, bfloat16, bfloat16> d; " +
                         "aie::mmul<8, 1, 8, bfloat16, bfloat16> e; (void)a; (void)b; (void)c; (void)d; (void)e; }")]),
        Rule(key: "aieApi.mmul.bfp16Emulation", source: "include/aie_api/detail/aie2p/mmul_bf16_bf16.hpp",
             rejected: [("AIE_API_EMULATE_BFLOAT16_MMUL_WITH_BFP16", "#define AIE_API_EMULATE_BFLOAT16_MMUL_WITH_BFP16 1\n")],
             accepted: [("default bf16 mmul", "void f() { aie::mmul<4, 8, 8, bfloat16, bfloat16> m; (void)m; }")]),
        Rule(key: "aieApi.elementary.accumForms", source: "include/aie_api/aie.hpp",
             rejected: [("inv(accum)", "auto f(aie::accum<accfloat, 16> a) { return aie::inv(a); }"),
                        ("invsqrt(accum)", "auto f(aie::accum<accfloat, 16> a) { return aie::invsqrt(a); }"),
                        ("sqrt(accum)", "auto f(aie::accum<accfloat, 16> a) { return aie::sqrt(a); }")],
             accepted: [("inv/invsqrt of fp32 lanes and scalars",
                         "auto f(aie::accum<accfloat, 16> a, float s) { return aie::inv(aie::invsqrt(a.to_vector<float>())).get(0) + aie::inv(s) + aie::invsqrt(s); }")]),
        Rule(key: "aieApi.toFloat.inputType", source: "include/aie_api/aie.hpp",
             rejected: [("to_float of bf16 lanes", "auto f(aie::vector<bfloat16, 32> v) { return aie::to_float<float>(v); }")],
             accepted: [("to_float of uint8 lanes", "auto f(aie::vector<uint8_t, 32> v) { return aie::to_float<bfloat16>(v); }"),
                        ("to_float of int16 lanes", "auto f(aie::vector<int16_t, 16> v) { return aie::to_float<float>(v); }")]),
        Rule(key: "aieApi.macros.kernelUtils", source: "aie_kernels/aie_kernel_utils.h",
             rejected: [("AIE_PREPARE_FOR_PIPELINING", "void f(float *p) { AIE_PREPARE_FOR_PIPELINING for (int i = 0; i < 8; ++i) p[i] = 0; }"),
                        ("AIE_LOOP_MIN_ITERATION_COUNT", "void f(float *p) { AIE_LOOP_MIN_ITERATION_COUNT(8) for (int i = 0; i < 8; ++i) p[i] = 0; }"),
                        ("AIE_LOOP_RANGE", "void f(float *p) { AIE_LOOP_RANGE(8, 16) for (int i = 0; i < 8; ++i) p[i] = 0; }")],
             accepted: [("event0/event1 (compiler intrinsics)", "void f(float *p) { event0(); for (int i = 0; i < 8; ++i) p[i] = 0; event1(); }")]),
    ]

    /// The test's rules are exactly the target model's compile-time aieApi entries, and each names the same source.
    func testEveryCompileRuleOfTheTargetModelHasItsCase() throws {
        let entries = try AIEAPITargetModel.entries()
        let compileKeys = Set(entries.filter { ($0.value["check"] as? String) == "compile" }.keys)
        XCTAssertEqual(compileKeys, Set(Self.rules.map(\.key)), "aieApi compile rules of Kernels/npu2_target.json vs this test")
        for rule in Self.rules {
            let source = try XCTUnwrap(entries[rule.key]?["source"] as? String, rule.key)
            XCTAssertTrue(source.contains(rule.source), "\(rule.key): the target model's source does not name \(rule.source)")
        }
    }

    func testEachRuleFiresCitingItsSourceAndTheLegalFormCompiles() throws {
        let compiler = try HostCompiler.find()
        struct Case { var rule: Rule; var label: String; var code: String; var mustFail: Bool }
        let cases = Self.rules.flatMap { rule in
            rule.rejected.map { Case(rule: rule, label: $0.0, code: $0.1, mustFail: true) } +
                rule.accepted.map { Case(rule: rule, label: $0.0, code: $0.1, mustFail: false) }
        }
        let results = try compiler.syntaxCheck(sources: cases.map {
            $0.code.hasPrefix("#define") ? $0.code + Self.include : Self.include + $0.code + "\n"
        })
        for (c, result) in zip(cases, results) {
            let r = try XCTUnwrap(result, "\(c.rule.key) \(c.label): the compiler did not run")
            if c.mustFail {
                XCTAssertNotEqual(r.status, 0, "\(c.rule.key) \(c.label): aie2p rejects this, the emulation accepted it")
                XCTAssertTrue(r.output.contains("[\(c.rule.key)]"), "\(c.rule.key) \(c.label): the error does not name the rule:\n\(r.output)")
                XCTAssertTrue(r.output.contains(c.rule.source), "\(c.rule.key) \(c.label): the error does not cite \(c.rule.source)")
            } else {
                XCTAssertEqual(r.status, 0, "\(c.rule.key) \(c.label): aie2p accepts this, the emulation rejected it:\n\(r.output)")
            }
            print("AIE-API-RULE \(c.rule.key) \(c.mustFail ? "rejects" : "accepts") \(c.label): " +
                  (r.status == 0 ? "compiles" : "fails citing \(c.rule.source)"))
        }
    }

    /// Every kernel source compiles for the host under the rules with -std=c++20, as Peano compiles it for aie2p
    /// (Tools/build-kernels.py); SwiftPM builds them too, with its default standard.
    func testEveryKernelCompilesUnderTheRules() throws {
        let compiler = try HostCompiler.find()
        let dir = TestPlans.kernelsDirectory
        let sources = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted().flatMap { op -> [String] in
            guard op != "drivers", op != "aie_emu",
                  let files = try? FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent(op).path) else { return [] }
            return files.filter { $0.hasSuffix(".cc") }.sorted().map { dir.appendingPathComponent(op).appendingPathComponent($0).path }
        }
        XCTAssertGreaterThanOrEqual(sources.count, 11)
        for k in ["prefill_mm/prefill_mm.cc", "attn_chunk/attn_chunk.cc", "prefill_rows/prefill_rows.cc"] {   // issue 13's prefill kernels
            XCTAssertTrue(sources.contains { $0.hasSuffix("/" + k) }, "\(k) is not among the compiled kernel sources")
        }
        let results = compiler.runAll(sources.map { ["-fsyntax-only", "-Wall", $0] })
        for (path, result) in zip(sources, results) {
            let r = try XCTUnwrap(result, path)
            XCTAssertEqual(r.status, 0, "\(path) does not compile under the aie2p rules:\n\(r.output)")
        }
    }
}
