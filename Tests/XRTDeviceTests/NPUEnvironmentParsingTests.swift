// NPUEnvironment's parsing helpers: version comparison, version.json, xrt-smi output, byte formatting.
import NPUBackend
import XCTest

final class NPUEnvironmentParsingTests: XCTestCase {
    func testVersionComparison() {
        XCTAssertEqual(NPUEnvironment.compareVersions("2.17.0", "2.13.1"), .orderedDescending)
        XCTAssertEqual(NPUEnvironment.compareVersions("2.13.1", "2.17"), .orderedAscending)
        XCTAssertEqual(NPUEnvironment.compareVersions("2.17", "2.17.0"), .orderedSame)
        XCTAssertEqual(NPUEnvironment.compareVersions("2.9.0", "2.17"), .orderedAscending)   // numeric, not text
        XCTAssertEqual(NPUEnvironment.compareVersions("2.17.319", "2.17"), .orderedDescending)
        XCTAssertEqual(NPUEnvironment.compareVersions("3.0", "2.26.1"), .orderedDescending)
    }

    func testParseVersion() {
        XCTAssertEqual(NPUEnvironment.parseVersion("2.17.319"), "2.17.319")
        XCTAssertEqual(NPUEnvironment.parseVersion("XRT 2.19.0, branch x"), "2.19.0")
        XCTAssertEqual(NPUEnvironment.parseVersion("build 7 is 2.18."), "2.18")
        XCTAssertNil(NPUEnvironment.parseVersion("unknown"))
        XCTAssertNil(NPUEnvironment.parseVersion(""))
    }

    func testParseVersionJSON() {
        let json = """
        {
          "BUILD_VERSION" : "2.17.319",
          "BUILD_VERSION_DATE" : "Tue, 01 Oct 2024 00:00:00 +0000",
          "BUILD_BRANCH" : "2024.2",
          "VERSION_HASH" : "a75e9843c875bac0f52d34a1763e39e16fb3c9a7",
          "VERSION_HASH_DATE" : "x"
        }
        """
        XCTAssertEqual(NPUEnvironment.parseVersionJSON(json), "2.17.319")
        XCTAssertNil(NPUEnvironment.parseVersionJSON("{\"VERSION_HASH\": \"abc\"}"))
        XCTAssertNil(NPUEnvironment.parseVersionJSON("not json"))
    }

    func testParseXrtSmiVersion() {
        let output = """
        Version              : 2.19.0
        Branch               : master
        Hash                 : 0123abcd
        """
        XCTAssertEqual(NPUEnvironment.parseXrtSmiVersion(output), "2.19.0")
        XCTAssertNil(NPUEnvironment.parseXrtSmiVersion("Branch : master"))
    }

    func testFormatBytes() {
        XCTAssertEqual(NPUEnvironment.formatBytes(0), "0 B")
        XCTAssertEqual(NPUEnvironment.formatBytes(512), "512 B")
        XCTAssertEqual(NPUEnvironment.formatBytes(8192), "8 KiB")
        XCTAssertEqual(NPUEnvironment.formatBytes(8 << 20), "8 MiB")
        XCTAssertEqual(NPUEnvironment.formatBytes(1536), "1.5 KiB")
        XCTAssertEqual(NPUEnvironment.formatBytes(3_700_000_000), "3.4 GiB")
    }

    func testMemlockCheck() {
        var env = NPUEnvironment(root: "/nonexistent", environment: [:], shimBuiltWithXRT: false,
                                 shimXRTVersion: "", memlockLimit: 8 << 20, mayRunTools: false)
        let low = env.memlock(needed: 4 << 30)
        XCTAssertFalse(low.ok)
        XCTAssertEqual(low.finding, "8 MiB < 4 GiB the model needs locked")
        XCTAssertTrue(low.fix?.contains("ulimit -l unlimited") ?? false)
        XCTAssertTrue(env.memlock(needed: 1 << 20).ok)
        env.memlockLimit = nil
        XCTAssertEqual(env.memlock(needed: 64 << 30), NPUEnvironmentCheck(name: "memlock limit", ok: true, finding: "unlimited"))
    }

    func testUnsignedXclbinVariable() {
        var env = NPUEnvironment(root: "/nonexistent", environment: [:], shimBuiltWithXRT: false,
                                 shimXRTVersion: "", memlockLimit: nil, mayRunTools: false)
        XCTAssertFalse(env.unsignedXclbins().ok)
        XCTAssertEqual(env.unsignedXclbins().fix, "`export XRT_HACK_UNSECURE_LOADING_XCLBIN=1` before running")
        env.environment["XRT_HACK_UNSECURE_LOADING_XCLBIN"] = "0"
        XCTAssertTrue(env.unsignedXclbins().finding.contains("=0 (not 1)"))
        env.environment["XRT_HACK_UNSECURE_LOADING_XCLBIN"] = "1"
        XCTAssertTrue(env.unsignedXclbins().ok)
    }
}
