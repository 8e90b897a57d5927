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

    // MARK: fake machines (FakeMachine)

    func testCompleteMachinePassesEveryCheck() throws {
        let m = try FakeMachine(self)
        try m.complete()
        let e = m.environment(shim: true)
        let memlock = e.memlock(needed: 1 << 30, what: "a model", breakdown: "-")
        for check in e.all(memlock: memlock) { XCTAssertTrue(check.ok, check.description) }
        XCTAssertEqual(e.deviceNode().finding, "/dev/accel/accel0 present")
        XCTAssertEqual(e.driver().finding, "amdxdna loaded (/sys/module/amdxdna)")
        XCTAssertEqual(e.firmware().finding, "npu4 at 0000:c4:00.1: amdxdna loads /lib/firmware/amdnpu/17f0_10/npu.dev.sbin "
                       + "-> 1.7_npu.sbin.1.1.2.64 (firmware 1.1.2.64)")
        XCTAssertEqual(e.firmwareDriverMatch().finding, "amdxdna 2.26.0 (XDNA plugin package): npu4 at 0000:c4:00.1 runs "
                       + "firmware 1.1.2.64 from /lib/firmware/amdnpu/17f0_10/npu.dev.sbin (1.1.2.64)")
        XCTAssertEqual(e.xrt().finding, "XRT 2.26.0 (the library the shim links)")
        XCTAssertEqual(e.xdnaPlugin().finding, "libxrt_driver_xdna.so.2 -> libxrt_driver_xdna.so.2.26.0 in /opt/xilinx/xrt/lib, "
                       + "plugin 2.26.0 built for XRT 2.26 = XRT 2.26.0")
        XCTAssertTrue(e.openPrerequisites().allSatisfy(\.ok))
        XCTAssertEqual(e.openPrerequisites().map(\.name), ["device node", "amdxdna driver", "XRT", "XRT version", "XDNA plugin", "CXRT shim"])
    }

    /// XRT 2.17's runlist cannot submit on amdxdna; 2.18 is the floor (xrt.minimumVersion).
    func testXRT217IsRefusedAnd218Accepted() throws {
        let m = try FakeMachine(self)
        try m.xrt("2.17.319", plugin: "2.17.0")
        let old = m.environment().xrtVersion()
        XCTAssertFalse(old.ok)
        XCTAssertEqual(old.finding, "XRT 2.17.319 (/opt/xilinx/xrt/version.json) is older than 2.18: its xrt::runlist submits "
                       + "the whole list at once (hwqueue_handle::submit_command of a vector), which the XDNA plugin does not "
                       + "implement, so no runlist runs on amdxdna; runlists are chained commands from 2.18 on (Xilinx/XRT "
                       + "src/runtime_src/core/common/api/xrt_kernel.cpp runlist_impl; amd/xdna-driver src/shim/hwq.h)")
        XCTAssertEqual(old.fix, "install XRT >= 2.18 with the XDNA plugin built for it (xdna-driver builds both; its xrt "
                       + "submodule is XRT 2.26; Debian 12's 2.13 is too old), then rebuild from clean (rm -rf .build)")
        XCTAssertEqual(m.environment().openPrerequisites().filter { !$0.ok }.map(\.name),
                       ["device node", "amdxdna driver", "XRT version", "CXRT shim"])

        let n = try FakeMachine(self)
        try n.xrt("2.18.179", plugin: "2.18.0")
        XCTAssertEqual(n.environment().xrtVersion(),
                       NPUEnvironmentCheck(name: "XRT version", ok: true, finding: "XRT 2.18.179 >= 2.18 (/opt/xilinx/xrt/version.json)"))
        XCTAssertTrue(n.environment().xdnaPlugin().ok, n.environment().xdnaPlugin().description)
    }

    func testPluginMissing() throws {
        let m = try FakeMachine(self)
        try m.xrt("2.26.0")
        let check = m.environment().xdnaPlugin()
        XCTAssertFalse(check.ok)
        XCTAssertEqual(check.finding, "XRT loads its driver plugins, libxrt_driver_*.so.2, from /opt/xilinx/xrt/lib, the "
                       + "directory of libxrt_core beside libxrt_coreutil (Xilinx/XRT src/runtime_src/core/common/module_loader.cpp "
                       + "driver_plugin_paths); libxrt_driver_xdna.so.2 is not there, so XRT sees no NPU")
        XCTAssertEqual(check.fix, "install the XDNA plugin built for this XRT: the xrt_plugin package that github.com/amd/xdna-driver "
                       + "builds (build/build.sh -release) together with XRT from its xrt submodule (XRT 2.26)")
        XCTAssertTrue(m.environment().openPrerequisites().contains { $0.name == "XDNA plugin" && !$0.ok })
    }

    func testPluginBuiltForAnotherXRT() throws {
        let m = try FakeMachine(self)
        try m.xrt("2.26.0", plugin: "2.21.0")
        let check = m.environment().xdnaPlugin()
        XCTAssertFalse(check.ok)
        XCTAssertEqual(check.finding, "libxrt_driver_xdna.so.2 -> libxrt_driver_xdna.so.2.21.0 in /opt/xilinx/xrt/lib is plugin "
                       + "2.21.0 (its file name), built for XRT 2.21, but XRT is 2.26.0 (/opt/xilinx/xrt/version.json): the plugin "
                       + "is built against one XRT (amd/xdna-driver CMake/pkg.cmake: plugin version = XRT major.minor + patch, "
                       + "package depends on xrt-base (>= 2.21), xrt-base (<< 2.22))")
        XCTAssertTrue(check.fix?.hasPrefix("install the plugin built for XRT 2.26, or the XRT 2.21 it was built for; ") ?? false)
    }

    func testPluginVersionFromItsVersionJSON() throws {
        let m = try FakeMachine(self)
        try m.xrt("2.26.0")
        try m.file("/opt/xilinx/xrt/lib/libxrt_driver_xdna.so.2")   // no versioned name
        try m.file("/opt/xilinx/xrt/share/amdxdna/version.json", "{\"BUILD_VERSION\" : \"2.26.0\", \"XRT_LAST_COMMIT_HASH\" : \"49612fa\"}")
        let plugin = m.environment().xdnaPluginInstall(in: "/opt/xilinx/xrt/lib")
        XCTAssertEqual(plugin?.version, "2.26.0")
        XCTAssertEqual(plugin?.versionSource, "/opt/xilinx/xrt/share/amdxdna/version.json")
        XCTAssertTrue(m.environment().xdnaPlugin().ok)
    }

    func testPluginFoundBesideTheLoadedCoreutil() throws {
        let m = try FakeMachine(self)
        try m.file("/usr/lib/x86_64-linux-gnu/libxrt_coreutil.so.2")
        try m.file("/usr/lib/x86_64-linux-gnu/libxrt_driver_xdna.so.2.21.0")
        try m.link("/usr/lib/x86_64-linux-gnu/libxrt_driver_xdna.so.2", to: "libxrt_driver_xdna.so.2.21.0")
        var e = m.environment(shim: true)
        e.shimXRTVersion = "2.21.0"
        XCTAssertEqual(e.xrtLibraryDirectory(), "/usr/lib/x86_64-linux-gnu")
        e.xrtLibraryPath = "/usr/lib/x86_64-linux-gnu/libxrt_coreutil.so.2.21.0"
        XCTAssertEqual(e.xrtLibraryDirectory(), "/usr/lib/x86_64-linux-gnu")
        XCTAssertEqual(e.xdnaPlugin().finding, "libxrt_driver_xdna.so.2 -> libxrt_driver_xdna.so.2.21.0 in "
                       + "/usr/lib/x86_64-linux-gnu, plugin 2.21.0 built for XRT 2.21 = XRT 2.21.0")
    }

    /// The README's mismatch: the NPU runs another firmware than the file the driver loads now.
    func testRunningFirmwareDiffersFromTheInstalledFile() throws {
        let m = try FakeMachine(self)
        try m.driver()
        try m.npu(runningFirmware: "1.0.20.31")
        try m.pluginFirmware(version: "1.1.2.64")
        let check = m.environment().firmwareDriverMatch()
        XCTAssertFalse(check.ok)
        XCTAssertEqual(check.finding, "the npu4 at 0000:c4:00.1 runs firmware 1.0.20.31, but amdxdna 2.26.0 (XDNA plugin "
                       + "package) now loads /lib/firmware/amdnpu/17f0_10/npu.dev.sbin -> 1.7_npu.sbin.1.1.2.64 (1.1.2.64): "
                       + "the firmware file changed after the driver loaded, or a stale copy was loaded (amd/xdna-driver "
                       + "README, firmware/driver version mismatch)")
        XCTAssertEqual(check.fix, "re-install the XDNA plugin package (or remove a firmware file you placed by hand), then "
                       + "reload the driver: `sudo modprobe -r amdxdna && sudo modprobe amdxdna` (amd/xdna-driver README, "
                       + "firmware/driver version mismatch)")
    }

    /// The plugin's driver with only a distribution's firmware: not the plugin package's npu.dev.sbin.
    func testPluginDriverWithAnotherInstallsFirmware() throws {
        let m = try FakeMachine(self)
        try m.driver()
        try m.npu(runningFirmware: nil)
        try m.distroFirmware()
        XCTAssertEqual(m.environment().firmware().finding, "npu4 at 0000:c4:00.1: amdxdna loads "
                       + "/lib/firmware/amdnpu/17f0_10/npu.sbin.zst (no version in its name)")
        let check = m.environment().firmwareDriverMatch()
        XCTAssertFalse(check.ok)
        XCTAssertEqual(check.finding, "amdxdna 2.26.0 (XDNA plugin package) loads /lib/firmware/amdnpu/17f0_10/npu.sbin.zst "
                       + "for the npu4 at 0000:c4:00.1, not the plugin package's npu.dev.sbin: a firmware from another install "
                       + "under the plugin's driver (amd/xdna-driver README, firmware/driver version mismatch)")
        // the plugin's firmware, once installed, is requested first (aie2_pci.c npu_fw[])
        try m.pluginFirmware()
        XCTAssertEqual(m.environment().firmwareFile(directory: "17f0_10")?.path, "/lib/firmware/amdnpu/17f0_10/npu.dev.sbin")
        XCTAssertTrue(m.environment().firmwareDriverMatch().ok)
    }

    /// A driver that refuses the firmware's protocol does not bind the NPU.
    func testDriverLoadedButNPUNotBound() throws {
        let m = try FakeMachine(self)
        try m.driver(version: "0.1")
        try m.npu(bound: false)
        try m.distroFirmware(name: "npu.sbin")
        let check = m.environment().firmwareDriverMatch()
        XCTAssertFalse(check.ok)
        XCTAssertEqual(check.finding, "amdxdna 0.1 (not the plugin package's) is loaded but has not bound the npu4 at "
                       + "0000:c4:00.1: the driver does not start a firmware whose protocol it does not support "
                       + "(drivers/accel/amdxdna/aie.c aie_check_protocol; dmesg says 'firmware is not alive' or "
                       + "'Firmware X.Y below minimum') (amd/xdna-driver README, firmware/driver version mismatch)")
    }

    func testNoFirmwareForTheNPU() throws {
        let m = try FakeMachine(self)
        try m.npu(device: "0x17f0", revision: "0x11")
        try m.pluginFirmware("17f0_10")
        try m.link("/lib/firmware/amdnpu/17f0_11/npu.dev.sbin", to: "1.7_npu.sbin.gone")   // dangling: not loadable
        let check = m.environment().firmware()
        XCTAssertFalse(check.ok)
        XCTAssertEqual(check.finding, "npu5 at 0000:c4:00.1: no npu.dev.sbin, npu_7.sbin, npu.sbin for 17f0_11 under "
                       + "/lib/firmware/updates/amdnpu, /lib/firmware/amdnpu: amdxdna cannot start the NPU without it "
                       + "(amd/xdna-driver drivers/accel/amdxdna/aie2_pci.c npu_fw[])")
    }

    func testNPU6UsesTheStrixPointFirmwareAndUpdatesComeFirst() throws {
        let m = try FakeMachine(self)
        try m.npu(revision: "0x20")
        try m.pluginFirmware("17f0_10")
        try m.file("/lib/firmware/updates/amdnpu/17f0_10/npu.dev.sbin")
        XCTAssertEqual(m.environment().npuPCIDevices().map(\.model.name), ["npu6"])
        XCTAssertEqual(m.environment().firmwareFile(directory: "17f0_10")?.path, "/lib/firmware/updates/amdnpu/17f0_10/npu.dev.sbin")
    }

    func testFirmwareVersionInFileNames() {
        XCTAssertEqual(NPUEnvironment.firmwareVersion("1.7_npu.sbin.1.1.2.64"), "1.1.2.64")
        XCTAssertEqual(NPUEnvironment.firmwareVersion("npu.sbin.2.14.0.114"), "2.14.0.114")
        XCTAssertEqual(NPUEnvironment.firmwareVersion("1.7_npu.sbin.1.1.2.64.zst"), "1.1.2.64")
        XCTAssertNil(NPUEnvironment.firmwareVersion("npu.sbin"))
        XCTAssertNil(NPUEnvironment.firmwareVersion("npu.sbin.zst"))
        XCTAssertNil(NPUEnvironment.firmwareVersion("npu.dev.sbin"))
    }

    func testTreeWithoutNPU() throws {
        let m = try FakeMachine(self)
        let e = m.environment()
        XCTAssertEqual(e.openPrerequisites().filter { !$0.ok }.map(\.name), ["device node", "amdxdna driver", "XRT", "CXRT shim"])
        XCTAssertFalse(e.firmware().ok)
        XCTAssertEqual(e.firmwareDriverMatch(), NPUEnvironmentCheck(
            name: "firmware/driver match", ok: false,
            finding: "no XDNA2 NPU on the PCI bus (vendor 1022, device 17f0), so no firmware or driver to match",
            fix: "use a machine with an XDNA2 NPU (Strix Point, Krackan, Strix Halo) with the NPU enabled in the firmware setup"))
    }

    func testXRTRootIsConsulted() throws {
        let m = try FakeMachine(self)
        try m.file("/usr/local/xrt/version.json", "{\"BUILD_VERSION\": \"2.21.75\"}")
        var e = m.environment()
        e.environment["XRT_ROOT"] = "/usr/local/xrt"
        XCTAssertEqual(e.xrtVersionFound()?.version, "2.21.75")
        XCTAssertTrue(e.xrtVersion().ok)
    }

    // MARK: memlock (the limit injected)

    func testMemlockTooLowUnlimitedAndEnough() throws {
        let m = try FakeMachine(self)
        var e = m.environment(memlock: 8 << 20)
        let low = e.memlock(needed: 3_000_000_000, what: "a model at context 4096", breakdown: "weights 2 GiB, KV cache 1 GiB")
        XCTAssertFalse(low.ok)
        XCTAssertEqual(low.finding, "RLIMIT_MEMLOCK is 8 MiB (8388608 bytes), but the backend maps 2.8 GiB (3000000000 bytes) "
                       + "MAP_LOCKED for a model at context 4096: weights 2 GiB, KV cache 1 GiB; the XDNA plugin maps every buffer "
                       + "object MAP_SHARED | MAP_LOCKED (amd/xdna-driver src/shim/buffer.cpp mmap_ptr::mmap_ptr(const pdev*, "
                       + "void*, uint64_t, size_t)), so a map past the limit fails")
        XCTAssertEqual(low.fix, "raise it to at least 2929688 KiB, or unlimited: `ulimit -l 2929688` in this shell (within the "
                       + "hard limit, `ulimit -H -l`); for every login `printf '* soft memlock unlimited\\n* hard memlock "
                       + "unlimited\\n' | sudo tee /etc/security/limits.d/99-amdxdna.conf`, then log in again; for a systemd "
                       + "service `LimitMEMLOCK=infinity` in its [Service] section (amd/xdna-driver README, 'How to allocate huge size BO?')")
        e.memlockLimit = 3_000_000_000
        XCTAssertEqual(e.memlock(needed: 3_000_000_000, what: "m", breakdown: "-").finding,
                       "2.8 GiB (3000000000 bytes) covers the 2.8 GiB (3000000000 bytes) the backend maps for m")
        e.memlockLimit = nil
        XCTAssertEqual(e.memlock(needed: 64 << 30, what: "m", breakdown: "-"),
                       NPUEnvironmentCheck(name: "memlock limit", ok: true, finding: "unlimited; the backend maps 64 GiB (68719476736 bytes) for m"))
    }
}
