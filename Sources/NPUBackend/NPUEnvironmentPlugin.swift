// NPUEnvironment's XDNA plugin check: XRT reaches amdxdna only through its driver plugin,
// libxrt_driver_xdna.so.<major>, found beside libxrt_core; the plugin is built against one XRT and must match it.
import Foundation

/// The XDNA plugin as installed: where, which file, and the XRT version it was built for.
public struct XDNAPluginInstall: Sendable, Equatable {
    public var directory: String       // where XRT looks: the directory of libxrt_coreutil
    public var file: String            // "libxrt_driver_xdna.so.2"
    public var resolvedName: String    // "libxrt_driver_xdna.so.2.26.0"
    /// The plugin's version (file name libxrt_driver_xdna.so.X.Y.P, else share/amdxdna/version.json), nil if neither says.
    public var version: String?
    public var versionSource: String?
}

extension NPUEnvironment {
    /// The directory XRT loads driver plugins from: that of the libxrt_coreutil this process loaded, else the
    /// first XRT library directory found ($XRT_ROOT/lib, /opt/xilinx/xrt/lib, the distribution's).
    public func xrtLibraryDirectory() -> String? {
        if !xrtLibraryPath.isEmpty { return (xrtLibraryPath as NSString).deletingLastPathComponent }
        let candidates = xrtRootCandidates.map { "\($0)/lib" } + ["/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib"]
        return candidates.first { dir in entries(of: dir).contains { $0.hasPrefix("libxrt_coreutil.so") } }
    }

    /// The XRT major version the plugin's file name must end in (`.so.<major>`): XRT's own, else 2.
    private var xrtMajor: String {
        xrtVersionFound().flatMap { $0.version.split(separator: ".").first.map(String.init) } ?? "2"
    }

    /// The installed XDNA plugin in `directory`, or nil.
    public func xdnaPluginInstall(in directory: String) -> XDNAPluginInstall? {
        let file = "\(limits.xdnaPluginLibrary).so.\(xrtMajor)"
        let full = "\(directory)/\(file)"
        guard exists(full) else { return nil }
        let resolved = resolvedName(full)
        let prefix = "\(limits.xdnaPluginLibrary).so."
        if resolved.hasPrefix(prefix), let v = Self.parseVersion(String(resolved.dropFirst(prefix.count))),
           v.split(separator: ".").count >= 2 {
            return XDNAPluginInstall(directory: directory, file: file, resolvedName: resolved, version: v,
                                     versionSource: "its file name")
        }
        let json = ((directory as NSString).deletingLastPathComponent as NSString)
            .appendingPathComponent("share/amdxdna/version.json")
        if let text = read(json), let v = Self.parseVersionJSON(text) {
            return XDNAPluginInstall(directory: directory, file: file, resolvedName: resolved, version: v, versionSource: json)
        }
        return XDNAPluginInstall(directory: directory, file: file, resolvedName: resolved, version: nil, versionSource: nil)
    }

    /// The XDNA plugin is where XRT loads plugins from, and built for this XRT's major.minor.
    public func xdnaPlugin() -> NPUEnvironmentCheck {
        let name = "XDNA plugin"
        let pattern = "\(limits.driverPluginPrefix)*.so.\(xrtMajor)"
        let install = "install the XDNA plugin built for this XRT: the xrt_plugin package that github.com/amd/xdna-driver "
            + "builds (build/build.sh -release) together with XRT from its xrt submodule (XRT \(limits.xdnaDriverXRTVersion))"
        guard let directory = xrtLibraryDirectory() else {
            return NPUEnvironmentCheck(
                name: name, ok: false,
                finding: "no XRT library directory (libxrt_coreutil.so* under \(xrtRootCandidates.map { "\($0)/lib" }.joined(separator: ", ")) "
                    + "or the system's), so nowhere for XRT to load \(pattern) from",
                fix: install)
        }
        let whereXRTLooks = "XRT loads its driver plugins, \(pattern), from \(directory), the directory of libxrt_core "
            + "beside libxrt_coreutil (Xilinx/XRT src/runtime_src/core/common/module_loader.cpp driver_plugin_paths)"
        guard let plugin = xdnaPluginInstall(in: directory) else {
            return NPUEnvironmentCheck(
                name: name, ok: false,
                finding: "\(whereXRTLooks); \(limits.xdnaPluginLibrary).so.\(xrtMajor) is not there, so XRT sees no NPU",
                fix: install)
        }
        let fileText = plugin.resolvedName == plugin.file ? plugin.file : "\(plugin.file) -> \(plugin.resolvedName)"
        guard let version = plugin.version else {
            return NPUEnvironmentCheck(name: name, ok: true,
                                       finding: "\(fileText) in \(directory) (its version is in neither its file name nor share/amdxdna/version.json)")
        }
        guard let (xrt, xrtSource) = xrtVersionFound() else {
            return NPUEnvironmentCheck(name: name, ok: true, finding: "\(fileText) in \(directory), plugin \(version) (XRT's own version unknown)")
        }
        let built = version.split(separator: ".").prefix(2).joined(separator: ".")
        let have = xrt.split(separator: ".").prefix(2).joined(separator: ".")
        guard built == have else {
            let next = built.split(separator: ".").map { Int($0) ?? 0 }
            let bound = next.count == 2 ? "\(next[0]).\(next[1] + 1)" : "?"
            return NPUEnvironmentCheck(
                name: name, ok: false,
                finding: "\(fileText) in \(directory) is plugin \(version) (\(plugin.versionSource ?? "")), built for XRT \(built), "
                    + "but XRT is \(xrt) (\(xrtSource)): the plugin is built against one XRT (amd/xdna-driver "
                    + "CMake/pkg.cmake: plugin version = XRT major.minor + patch, package depends on xrt-base "
                    + "(>= \(built)), xrt-base (<< \(bound)))",
                fix: "install the plugin built for XRT \(have), or the XRT \(built) it was built for; \(install)")
        }
        return NPUEnvironmentCheck(name: name, ok: true,
                                   finding: "\(fileText) in \(directory), plugin \(version) built for XRT \(built) = XRT \(xrt)")
    }
}
