// NPUEnvironment: what running on the XDNA NPU needs from this machine, checked one by one, each
// check giving (ok, finding, fix). Used by XRTDevice.open() for its one error, and by `doctor`.
import CXRT
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One check's verdict: what was found and, when not ok, how to fix it.
public struct NPUEnvironmentCheck: Sendable, Equatable, CustomStringConvertible {
    public var name: String
    public var ok: Bool
    public var finding: String
    public var fix: String?

    public init(name: String, ok: Bool, finding: String, fix: String? = nil) {
        self.name = name
        self.ok = ok
        self.finding = finding
        self.fix = ok ? nil : fix
    }

    public var description: String {
        "[\(ok ? "ok" : "!!")] \(name): \(finding)" + (fix.map { "\n       fix: \($0)" } ?? "")
    }
}

/// The machine as the checks see it. `current()` reads this process's machine; tests build one
/// over a fake file tree (`root`) with chosen shim facts and limits.
public struct NPUEnvironment: Sendable {
    /// The oldest XRT with hw_context and runlist.
    public static let minimumXRTVersion = "2.17"

    /// Prefix for every absolute path read ("/" for this machine).
    public var root: String
    public var environment: [String: String]
    /// The shim's facts: `cxrt_built_with_xrt()` and `cxrt_version()` ("" without XRT).
    public var shimBuiltWithXRT: Bool
    public var shimXRTVersion: String
    /// RLIMIT_MEMLOCK soft limit in bytes; nil when unlimited.
    public var memlockLimit: UInt64?
    /// Whether a check may run `xrt-smi --version` (only on the real machine).
    public var mayRunTools: Bool

    public init(root: String, environment: [String: String], shimBuiltWithXRT: Bool, shimXRTVersion: String,
                memlockLimit: UInt64?, mayRunTools: Bool) {
        self.root = root
        self.environment = environment
        self.shimBuiltWithXRT = shimBuiltWithXRT
        self.shimXRTVersion = shimXRTVersion
        self.memlockLimit = memlockLimit
        self.mayRunTools = mayRunTools
    }

    public static func current() -> NPUEnvironment {
        NPUEnvironment(root: "/", environment: ProcessInfo.processInfo.environment,
                       shimBuiltWithXRT: cxrt_built_with_xrt() != 0, shimXRTVersion: String(cString: cxrt_version()),
                       memlockLimit: currentMemlockLimit(), mayRunTools: true)
    }

    /// The soft RLIMIT_MEMLOCK of this process (nil = unlimited).
    public static func currentMemlockLimit() -> UInt64? {
        var limit = rlimit()
        #if os(Linux)
        let result = getrlimit(__rlimit_resource_t(__RLIMIT_MEMLOCK.rawValue), &limit)
        #else
        let result = getrlimit(RLIMIT_MEMLOCK, &limit)
        #endif
        guard result == 0, limit.rlim_cur != rlim_t.max else { return nil }
        return UInt64(limit.rlim_cur)
    }

    // MARK: - The checks

    /// What XRTDevice.open() needs: device node, driver, XRT (and its version), a shim built with XRT.
    public func openPrerequisites() -> [NPUEnvironmentCheck] {
        var checks = [deviceNode(), driver(), xrt()]
        if xrtVersionFound() != nil { checks.append(xrtVersion()) }
        checks.append(shim())
        return checks
    }

    /// Every check, for `doctor`; `memlockNeeded` is what the model will pin, in bytes.
    public func all(memlockNeeded: UInt64) -> [NPUEnvironmentCheck] {
        [deviceNode(), driver(), firmware(), xrt(), xrtVersion(), shim(), memlock(needed: memlockNeeded),
         unsignedXclbins()]
    }

    /// `/dev/accel/accel*`, present and open-able for read and write.
    public func deviceNode() -> NPUEnvironmentCheck {
        let name = "device node"
        let nodes = entries(of: "/dev/accel").filter { $0.hasPrefix("accel") }
        guard !nodes.isEmpty else {
            return NPUEnvironmentCheck(
                name: name, ok: false, finding: "no /dev/accel/accel* device node: no NPU is exposed to this system",
                fix: "use a machine with an XDNA NPU (Strix Point, Krackan, Strix Halo) with the NPU enabled in "
                    + "the firmware setup, and load the amdxdna driver")
        }
        let paths = nodes.map { "/dev/accel/\($0)" }
        let usable = paths.filter { access(path($0), R_OK | W_OK) == 0 }
        if usable.isEmpty {
            return NPUEnvironmentCheck(
                name: name, ok: false, finding: "\(paths.joined(separator: ", ")) present but not readable and "
                    + "writable by this user",
                fix: "add the user to the node's group (usually render): `sudo usermod -aG render $USER`, then "
                    + "log in again")
        }
        return NPUEnvironmentCheck(name: name, ok: true, finding: "\(usable.joined(separator: ", ")) present")
    }

    /// The amdxdna kernel driver: `/sys/module/amdxdna`, or a line in /proc/modules (what lsmod reads).
    public func driver() -> NPUEnvironmentCheck {
        let name = "amdxdna driver"
        if exists("/sys/module/amdxdna") {
            return NPUEnvironmentCheck(name: name, ok: true, finding: "amdxdna loaded (/sys/module/amdxdna)")
        }
        if let modules = read("/proc/modules"),
           modules.split(separator: "\n").contains(where: { $0.hasPrefix("amdxdna ") }) {
            return NPUEnvironmentCheck(name: name, ok: true, finding: "amdxdna loaded (/proc/modules)")
        }
        return NPUEnvironmentCheck(
            name: name, ok: false, finding: "the amdxdna kernel driver is not loaded",
            fix: "Linux >= 6.14 has amdxdna: `sudo modprobe amdxdna`; older kernels need the out-of-tree driver "
                + "from github.com/amd/xdna-driver")
    }

    /// NPU firmware files under /lib/firmware/amdnpu.
    public func firmware() -> NPUEnvironmentCheck {
        let name = "NPU firmware"
        let dirs = entries(of: "/lib/firmware/amdnpu").sorted()
        let files = dirs.flatMap { d in entries(of: "/lib/firmware/amdnpu/\(d)").map { "\(d)/\($0)" } }
        guard !files.isEmpty else {
            return NPUEnvironmentCheck(
                name: name, ok: false, finding: "no firmware files under /lib/firmware/amdnpu",
                fix: "install a recent linux-firmware (it carries amdnpu/), or the firmware that comes with "
                    + "amd/xdna-driver")
        }
        return NPUEnvironmentCheck(name: name, ok: true,
                                   finding: "\(files.count) files under /lib/firmware/amdnpu (\(dirs.joined(separator: ", ")))")
    }

    /// XRT installed: the version the shim links, else version.json, else `xrt-smi --version`.
    public func xrt() -> NPUEnvironmentCheck {
        let name = "XRT"
        if let (version, source) = xrtVersionFound() {
            return NPUEnvironmentCheck(name: name, ok: true, finding: "XRT \(version) (\(source))")
        }
        return NPUEnvironmentCheck(
            name: name, ok: false,
            finding: "XRT not found (no \(xrtRootCandidates.map { "\($0)/version.json" }.joined(separator: ", ")), "
                + "no xrt-smi)",
            fix: "install XRT >= \(Self.minimumXRTVersion) with its NPU (amdxdna) plugin, e.g. built from "
                + "github.com/amd/xdna-driver, then `source /opt/xilinx/xrt/setup.sh`")
    }

    /// XRT's version is at least 2.17 (hw_context, runlist).
    public func xrtVersion() -> NPUEnvironmentCheck {
        let name = "XRT version"
        guard let (version, source) = xrtVersionFound() else {
            return NPUEnvironmentCheck(name: name, ok: false, finding: "no XRT, so no version",
                                       fix: "install XRT >= \(Self.minimumXRTVersion)")
        }
        if Self.compareVersions(version, Self.minimumXRTVersion) == .orderedAscending {
            return NPUEnvironmentCheck(
                name: name, ok: false,
                finding: "XRT \(version) (\(source)) is older than \(Self.minimumXRTVersion): it lacks hw_context "
                    + "or runlist",
                fix: "install XRT >= \(Self.minimumXRTVersion) (Debian 12's 2.13 is too old), then rebuild from "
                    + "clean (rm -rf .build)")
        }
        return NPUEnvironmentCheck(name: name, ok: true,
                                   finding: "XRT \(version) >= \(Self.minimumXRTVersion) (\(source))")
    }

    /// The CXRT shim was compiled against XRT's headers (else every call fails).
    public func shim() -> NPUEnvironmentCheck {
        let name = "CXRT shim"
        if shimBuiltWithXRT {
            return NPUEnvironmentCheck(name: name, ok: true, finding: "built with XRT (links XRT \(shimXRTVersion))")
        }
        return NPUEnvironmentCheck(
            name: name, ok: false,
            finding: "this build of npu-llama's CXRT shim was built without XRT (stubs only)",
            fix: "install XRT's headers (include/xrt/xrt_device.h under $XRT_ROOT, /opt/xilinx/xrt or /usr), "
                + "then rebuild from clean: `rm -rf .build && swift build`")
    }

    /// RLIMIT_MEMLOCK against what the model will pin (XRT buffer objects are locked memory).
    public func memlock(needed: UInt64) -> NPUEnvironmentCheck {
        let name = "memlock limit"
        guard let limit = memlockLimit else {
            return NPUEnvironmentCheck(name: name, ok: true, finding: "unlimited")
        }
        if limit >= needed {
            return NPUEnvironmentCheck(name: name, ok: true,
                                       finding: "\(Self.formatBytes(limit)) >= \(Self.formatBytes(needed)) needed")
        }
        return NPUEnvironmentCheck(
            name: name, ok: false,
            finding: "\(Self.formatBytes(limit)) < \(Self.formatBytes(needed)) the model needs locked",
            fix: "raise it: `ulimit -l unlimited` (within the hard limit), or `<user> - memlock unlimited` in "
                + "/etc/security/limits.conf (LimitMEMLOCK=infinity for a systemd service), then log in again")
    }

    /// XRT_HACK_UNSECURE_LOADING_XCLBIN=1, without which XRT refuses the unsigned xclbins aiecc builds.
    public func unsignedXclbins() -> NPUEnvironmentCheck {
        let name = "unsigned xclbins"
        let value = environment["XRT_HACK_UNSECURE_LOADING_XCLBIN"]
        if value == "1" {
            return NPUEnvironmentCheck(name: name, ok: true, finding: "XRT_HACK_UNSECURE_LOADING_XCLBIN=1")
        }
        return NPUEnvironmentCheck(
            name: name, ok: false,
            finding: value.map { "XRT_HACK_UNSECURE_LOADING_XCLBIN=\($0) (not 1): unsigned xclbins will be refused" }
                ?? "XRT_HACK_UNSECURE_LOADING_XCLBIN is not set: unsigned xclbins will be refused",
            fix: "`export XRT_HACK_UNSECURE_LOADING_XCLBIN=1` before running")
    }

    /// The single error XRTDevice.open() throws when prerequisites are missing.
    public static func openError(_ missing: [NPUEnvironmentCheck]) -> NPUDeviceError {
        let names = missing.map(\.name).joined(separator: ", ")
        let detail = missing.map { "\($0.name): \($0.finding) (fix: \($0.fix ?? "-"))" }.joined(separator: "; ")
        return NPUDeviceError("XRTDevice.open: no usable XDNA NPU (missing: \(names))", detail,
                              hint: "no fallback: NPU runs need the NPU; `npu-llama doctor` lists every check")
    }

    // MARK: - XRT's version

    private var xrtRootCandidates: [String] {
        var roots = [String]()
        if let r = environment["XRT_ROOT"], !r.isEmpty { roots.append(r) }
        if !roots.contains("/opt/xilinx/xrt") { roots.append("/opt/xilinx/xrt") }
        return roots
    }

    /// XRT's version and where it was read.
    public func xrtVersionFound() -> (version: String, source: String)? {
        if shimBuiltWithXRT, let v = Self.parseVersion(shimXRTVersion) {
            return (v, "the library the shim links")
        }
        for r in xrtRootCandidates {
            if let text = read("\(r)/version.json"), let v = Self.parseVersionJSON(text) {
                return (v, "\(r)/version.json")
            }
        }
        if mayRunTools, let output = runXrtSmiVersion(), let v = Self.parseXrtSmiVersion(output) {
            return (v, "xrt-smi --version")
        }
        return nil
    }

    private func runXrtSmiVersion() -> String? {
        var dirs = (environment["PATH"] ?? "").split(separator: ":").map(String.init)
        dirs += xrtRootCandidates.map { "\($0)/bin" }
        guard let tool = dirs.map({ "\($0)/xrt-smi" }).first(where: { FileManager.default.isExecutableFile(atPath: $0) })
        else { return nil }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = ["--version"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = Pipe()
        guard (try? process.run()) != nil else { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    // MARK: - Parsing helpers

    /// The first dotted number in `text` ("2.17.319" from "XRT 2.17.319"), or nil.
    public static func parseVersion(_ text: String) -> String? {
        var best: Substring?
        var i = text.startIndex
        while i < text.endIndex {
            guard text[i].isASCII, text[i].isNumber else { i = text.index(after: i); continue }
            var j = i
            while j < text.endIndex, text[j].isASCII, text[j].isNumber || text[j] == "." { j = text.index(after: j) }
            var run = text[i..<j]
            while run.hasSuffix(".") { run = run.dropLast() }
            if run.contains(".") { best = run; break }
            i = j
        }
        return best.map(String.init)
    }

    /// Compares dotted versions numerically, missing parts as 0: "2.17.0" > "2.13.1", "2.17" == "2.17.0".
    public static func compareVersions(_ a: String, _ b: String) -> ComparisonResult {
        let x = a.split(separator: ".").map { Int($0) ?? 0 }
        let y = b.split(separator: ".").map { Int($0) ?? 0 }
        for k in 0..<max(x.count, y.count) {
            let p = k < x.count ? x[k] : 0
            let q = k < y.count ? y[k] : 0
            if p != q { return p < q ? .orderedAscending : .orderedDescending }
        }
        return .orderedSame
    }

    /// BUILD_VERSION from XRT's version.json (`{"BUILD_VERSION" : "2.17.319", ...}`).
    public static func parseVersionJSON(_ text: String) -> String? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
              let version = object["BUILD_VERSION"] as? String else { return nil }
        return parseVersion(version)
    }

    /// The version on xrt-smi's "Version : 2.19.0" line.
    public static func parseXrtSmiVersion(_ output: String) -> String? {
        for line in output.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces).lowercased() == "version" {
                return parseVersion(String(parts[1]))
            }
        }
        return nil
    }

    /// Bytes in binary units: "8 MiB", "3.7 GiB", "512 B".
    public static func formatBytes(_ bytes: UInt64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        if unit == 0 || value == value.rounded() { return "\(Int(value)) \(units[unit])" }
        return String(format: "%.1f", value) + " " + units[unit]
    }

    // MARK: - File system under `root`

    private func path(_ absolute: String) -> String {
        root == "/" ? absolute : (root.hasSuffix("/") ? String(root.dropLast()) : root) + absolute
    }

    private func exists(_ absolute: String) -> Bool { FileManager.default.fileExists(atPath: path(absolute)) }

    private func entries(of absolute: String) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: path(absolute))) ?? []
    }

    private func read(_ absolute: String) -> String? {
        guard let data = FileManager.default.contents(atPath: path(absolute)) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }
}
