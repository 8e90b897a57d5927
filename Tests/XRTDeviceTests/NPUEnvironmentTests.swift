// NPUEnvironment's checks: on this machine (compared with what the file system says independently)
// and on fake file trees with and without an NPU.
import Foundation
import NPUBackend
import XCTest

final class NPUEnvironmentTests: XCTestCase {
    private let fm = FileManager.default

    // MARK: this machine

    func testDeviceNodeFindingMatchesThisMachine() {
        let check = NPUEnvironment.current().deviceNode()
        let nodes = ((try? fm.contentsOfDirectory(atPath: "/dev/accel")) ?? []).filter { $0.hasPrefix("accel") }
        if nodes.isEmpty {
            XCTAssertFalse(check.ok)
            XCTAssertEqual(check.finding, "no /dev/accel/accel* device node: no NPU is exposed to this system")
            XCTAssertNotNil(check.fix)
        } else {
            XCTAssertTrue(check.finding.contains("/dev/accel/accel"), check.finding)
        }
    }

    func testDriverFindingMatchesThisMachine() {
        let check = NPUEnvironment.current().driver()
        let modules = (try? String(contentsOfFile: "/proc/modules", encoding: .utf8)) ?? ""
        let loaded = fm.fileExists(atPath: "/sys/module/amdxdna")
            || modules.split(separator: "\n").contains { $0.hasPrefix("amdxdna ") }
        XCTAssertEqual(check.ok, loaded, check.description)
        if !loaded {
            XCTAssertEqual(check.finding, "the amdxdna kernel driver is not loaded")
            XCTAssertTrue(check.fix?.contains("modprobe amdxdna") ?? false)
        }
    }

    func testFirmwareFindingMatchesThisMachine() {
        let check = NPUEnvironment.current().firmware()
        let dirs = (try? fm.contentsOfDirectory(atPath: "/lib/firmware/amdnpu")) ?? []
        let any = dirs.contains { !((try? fm.contentsOfDirectory(atPath: "/lib/firmware/amdnpu/\($0)")) ?? []).isEmpty }
        XCTAssertEqual(check.ok, any, check.description)
        if !any { XCTAssertEqual(check.finding, "no firmware files under /lib/firmware/amdnpu") }
    }

    func testXRTAndShimFindingsMatchThisMachine() {
        let env = NPUEnvironment.current()
        let shim = env.shim()
        XCTAssertEqual(shim.ok, env.shimBuiltWithXRT)
        let installed = fm.fileExists(atPath: "/opt/xilinx/xrt/version.json") || env.shimBuiltWithXRT
            || ProcessInfo.processInfo.environment["XRT_ROOT"].map { fm.fileExists(atPath: $0 + "/version.json") } == true
            || (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":")
                .contains { fm.isExecutableFile(atPath: "\($0)/xrt-smi") }
        if !installed {
            XCTAssertFalse(env.xrt().ok)
            XCTAssertTrue(env.xrt().finding.hasPrefix("XRT not found"), env.xrt().finding)
            XCTAssertFalse(env.xrtVersion().ok)
            XCTAssertEqual(env.xrtVersion().finding, "no XRT, so no version")
        }
        if !env.shimBuiltWithXRT {
            XCTAssertEqual(shim.finding, "this build of npu-llama's CXRT shim was built without XRT (stubs only)")
            XCTAssertTrue(shim.fix?.contains("rm -rf .build") ?? false)
        }
    }

    func testMemlockLimitMatchesProcLimits() throws {
        guard let limits = try? String(contentsOfFile: "/proc/self/limits", encoding: .utf8),
              let line = limits.split(separator: "\n").first(where: { $0.hasPrefix("Max locked memory") })
        else { throw XCTSkip("no /proc/self/limits on this system") }
        let soft = line.dropFirst("Max locked memory".count).split(separator: " ").first.map(String.init)
        let limit = NPUEnvironment.currentMemlockLimit()
        if soft == "unlimited" { XCTAssertNil(limit) } else { XCTAssertEqual(limit, soft.flatMap { UInt64($0) }) }
    }

    // MARK: fake file trees

    private func makeTree(xrtVersion: String?, node: Bool = true, driver: Bool = true,
                          firmware: Bool = true) throws -> String {
        let root = fm.temporaryDirectory.appendingPathComponent("npuenv-\(UUID().uuidString)").path
        addTeardownBlock { try? FileManager.default.removeItem(atPath: root) }
        func file(_ path: String, _ text: String = "") throws {
            try fm.createDirectory(atPath: root + (path as NSString).deletingLastPathComponent,
                                   withIntermediateDirectories: true)
            XCTAssertTrue(fm.createFile(atPath: root + path, contents: Data(text.utf8)))
        }
        try fm.createDirectory(atPath: root, withIntermediateDirectories: true)
        if node { try file("/dev/accel/accel0") }
        if driver { try file("/proc/modules", "drm 1 0 - Live 0x0\namdxdna 151552 0 - Live 0x0\n") }
        if firmware { try file("/lib/firmware/amdnpu/17f0_10/npu.sbin") }
        if let xrtVersion { try file("/opt/xilinx/xrt/version.json", "{\"BUILD_VERSION\" : \"\(xrtVersion)\"}") }
        return root
    }

    private func env(_ root: String, shim: Bool = false) -> NPUEnvironment {
        NPUEnvironment(root: root, environment: [:], shimBuiltWithXRT: shim, shimXRTVersion: shim ? "2.18.0" : "",
                       memlockLimit: nil, mayRunTools: false)
    }

    func testTreeWithEverything() throws {
        let e = env(try makeTree(xrtVersion: "2.18.0"), shim: true)
        for check in e.all(memlockNeeded: 1 << 30) where check.name != "unsigned xclbins" {
            XCTAssertTrue(check.ok, check.description)
        }
        XCTAssertEqual(e.deviceNode().finding, "/dev/accel/accel0 present")
        XCTAssertEqual(e.driver().finding, "amdxdna loaded (/proc/modules)")
        XCTAssertEqual(e.firmware().finding, "1 files under /lib/firmware/amdnpu (17f0_10)")
        XCTAssertEqual(e.xrt().finding, "XRT 2.18.0 (the library the shim links)")
        XCTAssertTrue(e.openPrerequisites().allSatisfy(\.ok))
    }

    func testTreeWithOldXRTAndStubShim() throws {
        let e = env(try makeTree(xrtVersion: "2.13.1"))
        XCTAssertEqual(e.xrt().finding, "XRT 2.13.1 (/opt/xilinx/xrt/version.json)")
        let version = e.xrtVersion()
        XCTAssertFalse(version.ok)
        XCTAssertEqual(version.finding,
                       "XRT 2.13.1 (/opt/xilinx/xrt/version.json) is older than 2.17: it lacks hw_context or runlist")
        XCTAssertEqual(e.openPrerequisites().filter { !$0.ok }.map(\.name), ["XRT version", "CXRT shim"])
    }

    func testTreeWithoutNPU() throws {
        let e = env(try makeTree(xrtVersion: nil, node: false, driver: false, firmware: false))
        XCTAssertEqual(e.openPrerequisites().filter { !$0.ok }.map(\.name),
                       ["device node", "amdxdna driver", "XRT", "CXRT shim"])
        XCTAssertFalse(e.firmware().ok)
    }

    func testXRTRootIsConsulted() throws {
        let root = try makeTree(xrtVersion: nil)
        try fm.createDirectory(atPath: root + "/usr/local/xrt", withIntermediateDirectories: true)
        XCTAssertTrue(fm.createFile(atPath: root + "/usr/local/xrt/version.json",
                      contents: Data("{\"BUILD_VERSION\": \"2.21.75\"}".utf8)))
        var e = env(root)
        e.environment["XRT_ROOT"] = "/usr/local/xrt"
        XCTAssertEqual(e.xrtVersionFound()?.version, "2.21.75")
        XCTAssertTrue(e.xrtVersion().ok)
    }
}
