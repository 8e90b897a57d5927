// A fake machine for NPUEnvironment: a file tree with the device node, sysfs (PCI NPU, amdxdna module),
// firmware files and links, and an XRT install with or without its XDNA plugin, each piece chosen by a test.
import Foundation
import NPUBackend
import XCTest

struct FakeMachine {
    let root: String
    private let fm = FileManager.default

    init(_ test: XCTestCase) throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("npuenv-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let r = root
        test.addTeardownBlock { try? FileManager.default.removeItem(atPath: r) }
    }

    func file(_ path: String, _ text: String = "") throws {
        try fm.createDirectory(atPath: root + (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        XCTAssertTrue(fm.createFile(atPath: root + path, contents: Data(text.utf8)))
    }

    /// A relative symbolic link at `path` to `target`.
    func link(_ path: String, to target: String) throws {
        try fm.createDirectory(atPath: root + (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try fm.createSymbolicLink(atPath: root + path, withDestinationPath: target)
    }

    func remove(_ path: String) throws { try fm.removeItem(atPath: root + path) }

    /// /dev/accel/accel0.
    func deviceNode() throws { try file("/dev/accel/accel0") }

    /// amdxdna loaded; `version` is /sys/module/amdxdna/version.
    func driver(version: String? = "2.26.0_20260821,856409cafc23cee55976ebcaa0a073ab4ec6dfe2") throws {
        try file("/proc/modules", "drm 1 0 - Live 0x0\namdxdna 151552 0 - Live 0x0\n")
        try fm.createDirectory(atPath: root + "/sys/module/amdxdna", withIntermediateDirectories: true)
        if let version { try file("/sys/module/amdxdna/version", version + "\n") }
    }

    /// An NPU on the PCI bus: Strix Point (17f0 rev 10) unless told; bound to amdxdna with `firmware` running.
    func npu(address: String = "0000:c4:00.1", device: String = "0x17f0", revision: String = "0x10",
             bound: Bool = true, runningFirmware: String? = "1.1.2.64") throws {
        let dir = "/sys/bus/pci/devices/\(address)"
        try file(dir + "/vendor", "0x1022\n")
        try file(dir + "/device", device + "\n")
        try file(dir + "/revision", revision + "\n")
        if bound {
            try fm.createDirectory(atPath: root + "/sys/bus/pci/drivers/amdxdna", withIntermediateDirectories: true)
            try link(dir + "/driver", to: "../../../../bus/pci/drivers/amdxdna")
            if let runningFirmware { try file(dir + "/fw_version", runningFirmware + "\n") }
        }
    }

    /// The plugin package's firmware: amdnpu/<dir>/npu.dev.sbin -> 1.7_npu.sbin.<version>.
    func pluginFirmware(_ dir: String = "17f0_10", version: String = "1.1.2.64") throws {
        try file("/lib/firmware/amdnpu/\(dir)/1.7_npu.sbin.\(version)", "firmware")
        try link("/lib/firmware/amdnpu/\(dir)/npu.dev.sbin", to: "1.7_npu.sbin.\(version)")
    }

    /// A distribution's firmware file: amdnpu/<dir>/npu.sbin (compressed as linux-firmware ships it).
    func distroFirmware(_ dir: String = "17f0_10", name: String = "npu.sbin.zst") throws {
        try file("/lib/firmware/amdnpu/\(dir)/\(name)", "firmware")
    }

    /// XRT under /opt/xilinx/xrt: version.json and lib/libxrt_coreutil.so.2; the XDNA plugin as
    /// libxrt_driver_xdna.so.2 -> libxrt_driver_xdna.so.<plugin> when `plugin` is given.
    func xrt(_ version: String, plugin: String? = nil) throws {
        try file("/opt/xilinx/xrt/version.json", "{\"BUILD_VERSION\" : \"\(version)\"}")
        try file("/opt/xilinx/xrt/lib/libxrt_coreutil.so.\(version)")
        try link("/opt/xilinx/xrt/lib/libxrt_coreutil.so.2", to: "libxrt_coreutil.so.\(version)")
        if let plugin {
            try file("/opt/xilinx/xrt/lib/libxrt_driver_xdna.so.\(plugin)")
            try link("/opt/xilinx/xrt/lib/libxrt_driver_xdna.so.2", to: "libxrt_driver_xdna.so.\(plugin)")
        }
    }

    /// Everything an XDNA2 machine with XRT 2.26 and its plugin has.
    func complete() throws {
        try deviceNode()
        try driver()
        try npu()
        try pluginFirmware()
        try xrt("2.26.0", plugin: "2.26.0")
    }

    func environment(shim: Bool = false, memlock: UInt64? = nil) -> NPUEnvironment {
        NPUEnvironment(root: root, environment: [:], shimBuiltWithXRT: shim, shimXRTVersion: shim ? "2.26.0" : "",
                       memlockLimit: memlock, mayRunTools: false)
    }
}
