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

    /// The target model's XRT/amdxdna entries as XDNALimits reads them, and a file missing one.
    func testXDNALimitsFromTheTargetModel() throws {
        let l = XDNALimits.standard
        XCTAssertEqual(l.minimumXRTVersion, "2.18")
        XCTAssertEqual(l.xdnaDriverXRTVersion, "2.26")
        XCTAssertEqual([l.execBufferBytes, l.runsPerChain, l.pageBytes, l.deviceHeapBytes, l.deviceHeapMaxBytes],
                       [4096, 24, 4096, 64 << 20, 512 << 20])
        XCTAssertEqual(l.firmwareRequestOrder, ["npu.dev.sbin", "npu_7.sbin", "npu.sbin"])
        XCTAssertEqual(l.xdna2Devices.map { "\($0.device)_\($0.revision)->\($0.firmware)" }, ["17f0_10->17f0_10", "17f0_11->17f0_11", "17f0_20->17f0_10"])
        XCTAssertEqual(l.driverPluginPrefix + "xdna", l.xdnaPluginLibrary)
        XCTAssertTrue(l.source("memlock.mapFlags").hasPrefix("amd/xdna-driver src/shim/buffer.cpp mmap_ptr::mmap_ptr"))
        XCTAssertEqual(NPUEnvironment.minimumXRTVersion, "2.18")
        // the real file less one key: NPU2Target still reads it, XDNALimits names the missing key
        var top = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: XDNALimits.defaultPath))) as? [String: Any])
        var limits = try XCTUnwrap(top["limits"] as? [String: Any])
        limits["xrt.xdnaDriverPin"] = nil
        top["limits"] = limits
        let broken = try JSONSerialization.data(withJSONObject: top)
        XCTAssertThrowsError(try XDNALimits(json: broken, file: "t.json")) { error in
            XCTAssertEqual("\(error)", "t.json: xrt.xdnaDriverPin: missing")
        }
    }

    /// No check reads an environment variable XRT no longer reads: XRT_HACK_UNSECURE_LOADING_XCLBIN was last read
    /// by the xdna shim before amd/xdna-driver c27f42f5 (2024-04-01) and by no XRT at these sources.
    func testNoCheckForVariablesXRTDoesNotRead() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("noenv-\(UUID().uuidString)").path
        let env = NPUEnvironment(root: root, environment: ["XRT_HACK_UNSECURE_LOADING_XCLBIN": "1"], shimBuiltWithXRT: false,
                                 shimXRTVersion: "", memlockLimit: nil, mayRunTools: false)
        let checks = env.all(memlock: env.memlock(needed: 1, what: "m", breakdown: "-"))
        XCTAssertEqual(checks.map(\.name), ["device node", "amdxdna driver", "NPU firmware", "firmware/driver match", "XRT",
                                            "XRT version", "XDNA plugin", "CXRT shim", "memlock limit"])
        XCTAssertFalse(checks.contains { $0.description.contains("XRT_HACK") })
    }
}
