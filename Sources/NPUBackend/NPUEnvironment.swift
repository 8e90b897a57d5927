// NPUEnvironment: what running on the XDNA NPU needs from this machine, checked one by one, each
// check giving (ok, finding, fix). Used by XRTDevice.open() for its one error, by --device npu before it
// allocates, and by `doctor`. The facts checked come from Kernels/npu2_target.json (XDNALimits); the
// firmware/driver, plugin and memlock checks live in NPUEnvironment{Firmware,Plugin,Memlock}.swift.
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
    /// The oldest XRT whose runlist submits on amdxdna (xrt.minimumVersion of the target model).
    public static var minimumXRTVersion: String { XDNALimits.standard.minimumXRTVersion }

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
    /// The libxrt_coreutil file this process loaded (`cxrt_xrt_library_path()`; "" without XRT): XRT looks
    /// for its driver plugins in its directory.
    public var xrtLibraryPath: String
    /// The NPU2 target model's XRT/amdxdna facts.
    public var limits: XDNALimits

    public init(root: String, environment: [String: String], shimBuiltWithXRT: Bool, shimXRTVersion: String,
                memlockLimit: UInt64?, mayRunTools: Bool, xrtLibraryPath: String = "", limits: XDNALimits = .standard) {
        self.root = root
        self.environment = environment
        self.shimBuiltWithXRT = shimBuiltWithXRT
        self.shimXRTVersion = shimXRTVersion
        self.memlockLimit = memlockLimit
        self.mayRunTools = mayRunTools
        self.xrtLibraryPath = xrtLibraryPath
        self.limits = limits
    }

    public static func current() -> NPUEnvironment {
        var path = [CChar](repeating: 0, count: 4096)
        let library = cxrt_xrt_library_path(&path, path.count) == CXRT_OK
            ? String(decoding: path.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : ""
        return NPUEnvironment(root: "/", environment: ProcessInfo.processInfo.environment,
                              shimBuiltWithXRT: cxrt_built_with_xrt() != 0, shimXRTVersion: String(cString: cxrt_version()),
                              memlockLimit: currentMemlockLimit(), mayRunTools: true, xrtLibraryPath: library)
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

    /// What XRTDevice.open() needs: device node, driver, XRT (its version and its XDNA plugin), a shim built
    /// with XRT.
    public func openPrerequisites() -> [NPUEnvironmentCheck] {
        var checks = [deviceNode(), driver(), xrt()]
        if xrtVersionFound() != nil { checks += [xrtVersion(), xdnaPlugin()] }
        checks.append(shim())
        return checks
    }

    /// Every check, for `doctor`; `memlock` is the check of the limit against what the model will map.
    public func all(memlock: NPUEnvironmentCheck) -> [NPUEnvironmentCheck] {
        [deviceNode(), driver(), firmware(), firmwareDriverMatch(), xrt(), xrtVersion(), xdnaPlugin(), shim(), memlock]
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
            fix: "install XRT >= \(limits.minimumXRTVersion) with the XDNA plugin built for it: github.com/amd/xdna-driver "
                + "builds both (its xrt submodule is XRT \(limits.xdnaDriverXRTVersion)), then `source /opt/xilinx/xrt/setup.sh`")
    }

    /// XRT's version is at least xrt.minimumVersion (2.18): older runlists cannot submit on amdxdna.
    public func xrtVersion() -> NPUEnvironmentCheck {
        let name = "XRT version"
        let minimum = limits.minimumXRTVersion
        guard let (version, source) = xrtVersionFound() else {
            return NPUEnvironmentCheck(name: name, ok: false, finding: "no XRT, so no version",
                                       fix: "install XRT >= \(minimum)")
        }
        if Self.compareVersions(version, minimum) == .orderedAscending {
            return NPUEnvironmentCheck(
                name: name, ok: false,
                finding: "XRT \(version) (\(source)) is older than \(minimum): its xrt::runlist submits the whole list at "
                    + "once (hwqueue_handle::submit_command of a vector), which the XDNA plugin does not implement, so "
                    + "no runlist runs on amdxdna; runlists are chained commands from \(minimum) on "
                    + "(Xilinx/XRT src/runtime_src/core/common/api/xrt_kernel.cpp runlist_impl; amd/xdna-driver src/shim/hwq.h)",
                fix: "install XRT >= \(minimum) with the XDNA plugin built for it (xdna-driver builds both; its xrt "
                    + "submodule is XRT \(limits.xdnaDriverXRTVersion); Debian 12's 2.13 is too old), then rebuild from "
                    + "clean (rm -rf .build)")
        }
        return NPUEnvironmentCheck(name: name, ok: true, finding: "XRT \(version) >= \(minimum) (\(source))")
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

    /// The single error XRTDevice.open() throws when prerequisites are missing.
    public static func openError(_ missing: [NPUEnvironmentCheck]) -> NPUDeviceError {
        let names = missing.map(\.name).joined(separator: ", ")
        let detail = missing.map { "\($0.name): \($0.finding) (fix: \($0.fix ?? "-"))" }.joined(separator: "; ")
        return NPUDeviceError("XRTDevice.open: no usable XDNA NPU (missing: \(names))", detail,
                              hint: "no fallback: NPU runs need the NPU; `npu-llama doctor` lists every check")
    }

    // MARK: - XRT's version

    var xrtRootCandidates: [String] {
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

    func path(_ absolute: String) -> String {
        root == "/" ? absolute : (root.hasSuffix("/") ? String(root.dropLast()) : root) + absolute
    }

    func exists(_ absolute: String) -> Bool { FileManager.default.fileExists(atPath: path(absolute)) }

    func entries(of absolute: String) -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: path(absolute))) ?? []
    }

    func read(_ absolute: String) -> String? {
        guard let data = FileManager.default.contents(atPath: path(absolute)) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    /// A file's first line, trimmed (sysfs attributes).
    func readLine(_ absolute: String) -> String? {
        read(absolute).map { String($0.split(separator: "\n", omittingEmptySubsequences: false).first ?? "") }
            .map { $0.trimmingCharacters(in: .whitespaces) }
    }

    /// The target of a symbolic link (as written in the link), or nil when `absolute` is not one.
    func linkTarget(_ absolute: String) -> String? {
        try? FileManager.default.destinationOfSymbolicLink(atPath: path(absolute))
    }

    /// The last file name a chain of links ends at (`npu.dev.sbin` → `1.7_npu.sbin.1.1.2.64`), at most 8 hops.
    func resolvedName(_ absolute: String) -> String {
        var current = absolute
        for _ in 0..<8 {
            guard let target = linkTarget(current) else { break }
            current = target.hasPrefix("/") ? target
                : ((current as NSString).deletingLastPathComponent as NSString).appendingPathComponent(target)
        }
        return (current as NSString).lastPathComponent
    }
}
