// The AIE API emulation's aie2p arithmetic (Kernels/aie_emu/aie_emu/aie2p_arithmetic.hpp) measured by a probe built against it: rounding modes, FP32 emulation, exp2/inv/invsqrt within the target model's bounds.
import Foundation
import XCTest

final class AIEArithmeticModelTests: XCTestCase {
    /// Prints `VALUE <name> <number>` and `CHECK <name> ok|FAIL <detail>` lines (figures: the emulation's model).
    static let probe = #"""
    #include <aie_api/aie.hpp>
    #include <cmath>
    #include <cstdio>
    #include <random>
    using aie::rounding_mode;
    static void check(const char *name, bool ok, const char *detail = "") { std::printf("CHECK %s %s %s\n", name, ok ? "ok" : "FAIL", ok ? "" : detail); }
    static void value(const char *name, double v) { std::printf("VALUE %s %.6g\n", name, v); }
    static float fb(uint32_t u) { return aie_emu::bits_float(u); }
    static uint32_t bf(float f) { return aie_emu::float_bits(f); }
    int main() {
        // Rounding modes as jgmelber/aie_api aie_types.hpp documents them.
        const float above = 1.0f + 3.0f / 512, tie = 1.0f + 1.0f / 256;   // 0.75 and exactly 0.5 bf16 ulp above 1
        struct { rounding_mode m; float x; uint16_t want; } cases[] = {
            {rounding_mode::floor, above, 0x3F80}, {rounding_mode::floor, -above, 0xBF81},
            {rounding_mode::ceil, above, 0x3F81}, {rounding_mode::ceil, -above, 0xBF80},
            {rounding_mode::symmetric_floor, -above, 0xBF80}, {rounding_mode::symmetric_ceil, above, 0x3F81},
            {rounding_mode::conv_even, above, 0x3F81}, {rounding_mode::conv_even, tie, 0x3F80},
            {rounding_mode::conv_odd, tie, 0x3F81}, {rounding_mode::symmetric_zero, -tie, 0xBF80},
            {rounding_mode::symmetric_inf, -tie, 0xBF81}, {rounding_mode::positive_inf, -tie, 0xBF80},
            {rounding_mode::negative_inf, -tie, 0xBF81}, {rounding_mode::negative_inf, tie, 0x3F80}};
        bool rounding_ok = true;
        for (auto &c : cases) rounding_ok = rounding_ok && aie_emu::bf16_bits(c.x, c.m) == c.want;
        check("rounding-modes", rounding_ok);

        std::mt19937_64 rng(7);
        std::uniform_real_distribution<double> unit(0, 1);
        auto random_float = [&](double lo_exp, double hi_exp) {
            const double mag = std::exp2(lo_exp + (hi_exp - lo_exp) * unit(rng));
            return float(unit(rng) < 0.5 ? -mag : mag);
        };
        // FP32 emulation: x = a + b + c exactly, in both modes the kernels run; the nine-product sum vs the exact product.
        bool split_exact = true;
        double worst_ulps = 0;
        long differs_from_ieee = 0, n = 200000;
        for (rounding_mode m : {rounding_mode::floor, rounding_mode::conv_even}) {
            aie::set_rounding(m);
            for (long i = 0; i < n; ++i) {
                const float x = random_float(-20, 20), y = random_float(-20, 20);
                const aie_emu::bf16_parts p = aie_emu::split_bf16(x);
                split_exact = split_exact && double(p.a) + double(p.b) + double(p.c) == double(x);
                const float t = aie_emu::fp32_product(x, y);
                const double exact = double(x) * double(y);
                const double ulp = std::ldexp(1.0, std::ilogb(float(exact)) - 23);
                worst_ulps = std::fmax(worst_ulps, std::fabs(double(t) - exact) / ulp);
                differs_from_ieee += t != x * y;
            }
        }
        check("fp32-split-exact", split_exact);
        value("fp32-product-worst-ulps", worst_ulps);
        value("fp32-product-differs-from-ieee-fraction", double(differs_from_ieee) / double(2 * n));
        aie::set_rounding(rounding_mode::conv_even);
        {   // through the API: a float mac adds the nine-product sum to the accumulator; a bf16 mac adds the exact product
            aie::vector<float, 16> a = aie::broadcast<float, 16>(1.1f), b = aie::broadcast<float, 16>(3.3f);
            const aie::accum<accfloat, 16> c(aie::broadcast<float, 16>(0.25f));
            const float got = aie::mac(c, a, b).to_vector<float>().get(0);
            check("api-fp32-mac", got == 0.25f + aie_emu::fp32_product(1.1f, 3.3f));
            aie::vector<bfloat16, 16> h = aie::broadcast<bfloat16, 16>(1.1f);
            check("api-bf16-mul-exact", double(aie::mul(h, h).to_vector<float>().get(0)) == double(float(h.get(0))) * double(float(h.get(0))));
        }

        // exp2: one of the two bf16 neighbours of 2^x, exact at integers.
        double exp2_worst = 0;
        long up = 0, down = 0;
        bool exp2_neighbour = true, exp2_integers = true;
        for (long i = 0; i < 400000; ++i) {
            const float x = float(-60 + 120 * unit(rng));
            const float got = aie_emu::bf16_to_float(aie_emu::exp2_bf16_bits(x));
            const double exact = std::exp2(double(x));
            const double rel = std::fabs(got - exact) / exact;
            exp2_worst = std::fmax(exp2_worst, rel);
            const double ulp = std::ldexp(1.0, std::ilogb(exact) - 7);
            exp2_neighbour = exp2_neighbour && std::fabs(got - exact) < ulp;
            (got > exact ? up : down) += 1;
        }
        for (int k = -126; k <= 127; ++k) exp2_integers = exp2_integers && aie_emu::exp2_bf16_bits(float(k)) == uint16_t(bf(std::ldexp(1.0f, k)) >> 16);
        check("exp2-within-one-bf16-ulp", exp2_neighbour);
        check("exp2-exact-at-integers", exp2_integers);
        check("exp2-of-minus-inf-is-zero", aie_emu::exp2_bf16_bits(-INFINITY) == 0);
        value("exp2-worst-relative", exp2_worst);
        value("exp2-rounded-up-fraction", double(up) / double(up + down));

        // inv / invsqrt: within their bounds, exact at powers of two (four).
        double inv_worst = 0, isq_worst = 0;
        for (long i = 0; i < 400000; ++i) {
            const float x = std::fabs(random_float(-30, 30));
            inv_worst = std::fmax(inv_worst, std::fabs(double(aie_emu::inv_model(x)) * double(x) - 1.0));
            isq_worst = std::fmax(isq_worst, std::fabs(double(aie_emu::invsqrt_model(x)) * std::sqrt(double(x)) - 1.0));
        }
        value("inv-worst-relative", inv_worst);
        value("invsqrt-worst-relative", isq_worst);
        check("inv-exact-at-powers-of-two", aie_emu::inv_model(8.0f) == 0.125f && aie_emu::inv_model(0.25f) == 4.0f);
        check("invsqrt-exact-at-powers-of-four", aie_emu::invsqrt_model(64.0f) == 0.125f && aie_emu::invsqrt_model(0.25f) == 2.0f);
        value("inv-bound-in-header", aie_emu::kInvRelativeBound);
        value("invsqrt-bound-in-header", aie_emu::kInvSqrtRelativeBound);

        // The bounds' origin: the AIE-ML fp32 approximations XDNA2 replaced (jgmelber/aie_api
        // include/aie_api/detail/aie2/elementary.hpp Inv and InvSqrt), in fp32, over every mantissa.
        double inv_alg = 0, isq_alg = 0;
        for (uint32_t m = 0; m < (1u << 23); ++m) {
            const float v = fb(0x3F800000u | m);
            float y = fb(0x7EB53567u - bf(v));
            float acc = -(v * y);
            acc = acc + 1.436142f;
            acc = acc * y;
            acc = -(acc * 1.9395974f);
            y = acc;
            const float r = y * v + 2.0f;
            inv_alg = std::fmax(inv_alg, std::fabs(double(-(y * r)) * double(v) - 1.0));
        }
        for (uint32_t m = 0; m < (1u << 24); ++m) {   // [1, 4): the magic constant's period
            const float v = fb(0x3F800000u + m), c2 = 0.703952253f, c3 = 2.38924456f;
            const float x2 = v * c2;
            const float y = fb(uint32_t(int32_t(0x5F1FFFF9) - int32_t(bf(v) >> 1)));
            const float t = (c2 * c3) - x2 * (y * y);
            isq_alg = std::fmax(isq_alg, std::fabs(double(y * t) * std::sqrt(double(v)) - 1.0));
        }
        value("aie2-inv-algorithm-worst-relative", inv_alg);
        value("aie2-invsqrt-algorithm-worst-relative", isq_alg);
        return 0;
    }
    """#

    func testArithmeticModelsHoldTheTargetModelsBounds() throws {
        let compiler = try HostCompiler.find()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("aie-emu-probe-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = dir.appendingPathComponent("probe.cc"), binary = dir.appendingPathComponent("probe")
        try Self.probe.write(to: source, atomically: true, encoding: .utf8)
        let built = try compiler.run(["-O2", "-ffp-contract=off", source.path, "-o", binary.path])
        XCTAssertEqual(built.status, 0, built.output)
        let p = Process()
        p.executableURL = binary
        let pipe = Pipe()
        p.standardOutput = pipe
        try p.run()
        let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        var values: [String: Double] = [:]
        for line in out.split(separator: "\n") {
            let f = line.split(separator: " ").map(String.init)
            print("AIE-ARITHMETIC \(line)")
            if f.first == "CHECK" { XCTAssertEqual(f.count > 2 ? f[2] : "", "ok", String(line)) }
            if f.first == "VALUE", f.count == 3 { values[f[1]] = Double(f[2]) }
        }
        let entries = try AIEAPITargetModel.entries()
        func bound(_ key: String) throws -> Double { try XCTUnwrap(entries[key]?["value"] as? Double, key) }
        // FP32 emulation: within about one fp32 ulp of the exact product, and not IEEE's product bit for bit.
        XCTAssertLessThanOrEqual(try XCTUnwrap(values["fp32-product-worst-ulps"]), 1.0)
        // exp2 within the modelled bound (one bf16 ulp), both neighbours in use.
        XCTAssertLessThan(try XCTUnwrap(values["exp2-worst-relative"]), try bound("aieApi.numerics.exp2"))
        XCTAssertEqual(try XCTUnwrap(values["exp2-rounded-up-fraction"]), 0.5, accuracy: 0.05)
        // inv / invsqrt: the header's bound is the target model's, which is the AIE-ML algorithm's worst error.
        for (name, key) in [("inv", "aieApi.numerics.inv"), ("invsqrt", "aieApi.numerics.invsqrt")] {
            let b = try bound(key)
            XCTAssertEqual(try XCTUnwrap(values["\(name)-bound-in-header"]), b, accuracy: b * 1e-6, "\(name): header vs target model")
            XCTAssertEqual(try XCTUnwrap(values["aie2-\(name)-algorithm-worst-relative"]), b, accuracy: b * 1e-3, "\(name): recomputed bound")
            XCTAssertLessThanOrEqual(try XCTUnwrap(values["\(name)-worst-relative"]), b * (1 + 1e-3) + 0x1p-23, name)   // + the final fp32 rounding
        }
    }
}
