// XDNALimits: the XRT and amdxdna facts the real NPU path checks (NPUEnvironment, DeviceMemoryPlan, the
// xclbin signature check), read from the one NPU2 target model, Kernels/npu2_target.json (keys xrt.*,
// memlock.*, driver.*, firmware.*, and runlist.runsPerChain). Each value keeps its source for messages.
import Foundation

public struct XDNALimits: Sendable {
    /// The oldest XRT whose runlist submits on amdxdna (`xrt.minimumVersion`).
    public var minimumXRTVersion: String
    /// The XRT xdna-driver's sources pin as a submodule (`xrt.xdnaDriverPin`).
    public var xdnaDriverXRTVersion: String
    /// XRT loads `<prefix>*.so.<major>` beside libxrt_core (`xrt.driverPluginPrefix`).
    public var driverPluginPrefix: String
    /// The XDNA plugin's library name (`xrt.xdnaPluginLibrary`).
    public var xdnaPluginLibrary: String
    /// Bytes of one command buffer object: one per xrt::run, one per chained command (`xrt.execBufferBytes`).
    public var execBufferBytes: Int
    /// Runs per chained command (`runlist.runsPerChain`).
    public var runsPerChain: Int
    /// Mapped BOs are rounded up to this (`memlock.pageBytes`).
    public var pageBytes: Int
    /// The xdna shim's device heap, mapped at open, and its growth step (`memlock.deviceHeapBytes`).
    public var deviceHeapBytes: Int
    public var deviceHeapMaxBytes: Int
    /// XDNA2 NPUs on the PCI bus and their firmware directories (`driver.xdna2Devices`).
    public var xdna2Devices: [PCIDevice]
    /// Firmware file names in the order the driver requests them (`firmware.requestOrder`).
    public var firmwareRequestOrder: [String]
    /// Directories searched for amdnpu/<dir>/<file>, first first (`firmware.directories`).
    public var firmwareDirectories: [String]
    /// Each key's source (repository, path, symbol), for messages.
    public var sources: [String: String]

    public struct PCIDevice: Sendable, Equatable {
        public var device: String      // lower-case hex, no 0x: "17f0"
        public var revision: String    // "10"
        public var firmware: String    // directory under amdnpu/: "17f0_10"
        public var name: String        // the driver's name for it: "npu4"
    }

    public func source(_ key: String) -> String { sources[key] ?? "Kernels/npu2_target.json \(key)" }

    /// Kernels/npu2_target.json of this checkout: `$NPULLAMA_ROOT/Kernels/…`, else beside these sources.
    public static var defaultPath: String {
        if let root = ProcessInfo.processInfo.environment["NPULLAMA_ROOT"], !root.isEmpty {
            return root + "/Kernels/npu2_target.json"
        }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Kernels/npu2_target.json").path
    }

    /// The limits of this checkout's target model. The file is part of the checkout, like Kernels/manifest.json:
    /// without it the NPU path cannot be checked at all, so its absence stops the program with the path.
    public static let standard: XDNALimits = {
        do { return try load(path: defaultPath) } catch { preconditionFailure("\(error)") }
    }()

    public struct LoadError: Error, CustomStringConvertible {
        public var file: String
        public var message: String
        public var description: String { "\(file): \(message)" }
    }

    public static func load(path: String) throws -> XDNALimits {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw LoadError(file: path, message: "cannot read the NPU2 target model (set NPULLAMA_ROOT to the checkout)")
        }
        return try XDNALimits(json: data, file: path)
    }

    /// The target model's text, read as `NPU2Target` reads it (the one parser), then viewed here.
    public init(json data: Data, file: String) throws {
        try self.init(target: NPU2Target(json: data, file: file))
    }

    /// The xrt./memlock./driver./firmware. entries of a loaded target model, typed.
    public init(target: NPU2Target) throws {
        func fail(_ m: String) -> LoadError { LoadError(file: target.file, message: m) }
        func entry(_ key: String) throws -> NPU2Limit.Value {
            guard let e = target.limits[key] else { throw fail("\(key): missing") }
            return e.value
        }
        func string(_ key: String) throws -> String {
            guard case .string(let s) = try entry(key) else { throw fail("\(key): must be a string") }
            return s
        }
        func int(_ key: String) throws -> Int {
            guard case .int(let i) = try entry(key), i > 0 else { throw fail("\(key): must be a positive integer") }
            return i
        }
        func strings(_ key: String) throws -> [String] {
            guard case .strings(let list) = try entry(key), !list.isEmpty else { throw fail("\(key): must be a list of strings") }
            return list
        }
        minimumXRTVersion = try string("xrt.minimumVersion")
        xdnaDriverXRTVersion = try string("xrt.xdnaDriverPin")
        driverPluginPrefix = try string("xrt.driverPluginPrefix")
        xdnaPluginLibrary = try string("xrt.xdnaPluginLibrary")
        execBufferBytes = try int("xrt.execBufferBytes")
        runsPerChain = try int("runlist.runsPerChain")
        pageBytes = try int("memlock.pageBytes")
        deviceHeapBytes = try int("memlock.deviceHeapBytes")
        deviceHeapMaxBytes = try int("memlock.deviceHeapMaxBytes")
        guard case .records(let devices) = try entry("driver.xdna2Devices") else {
            throw fail("driver.xdna2Devices: must be a list of {device, revision, firmware, name}")
        }
        xdna2Devices = try devices.map {
            guard let d = $0["device"], let r = $0["revision"], let f = $0["firmware"], let n = $0["name"] else {
                throw fail("driver.xdna2Devices: every entry needs device, revision, firmware and name")
            }
            return PCIDevice(device: d.lowercased(), revision: r.lowercased(), firmware: f, name: n)
        }
        firmwareRequestOrder = try strings("firmware.requestOrder")
        firmwareDirectories = try strings("firmware.directories")
        for key in ["memlock.mapFlags", "memlock.limit", "xrt.pluginVersionMatch", "driver.pluginModuleVersion",
                    "firmware.versionedFileName", "firmware.runningVersion", "firmware.protocol", "firmware.mismatch"] {
            _ = try entry(key)   // their sources are quoted in messages
        }
        sources = target.limits.mapValues(\.source)
    }
}
