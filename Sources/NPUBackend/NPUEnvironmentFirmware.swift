// NPUEnvironment's firmware checks: which NPU firmware file amdxdna loads for this machine's XDNA2 NPU, and
// whether the firmware running on it matches that file and the loaded driver (the firmware/driver version
// mismatch amd/xdna-driver's README names as the cause of post-load command aborts).
import Foundation

/// An XDNA2 NPU on the PCI bus (/sys/bus/pci/devices/<address>).
public struct NPUPCIDevice: Sendable, Equatable {
    public var address: String          // "0000:c4:00.1"
    public var device: String           // "17f0"
    public var revision: String         // "10"
    public var model: XDNALimits.PCIDevice
    /// A driver is bound to it (its `driver` link exists).
    public var bound: Bool
    /// The firmware version the running NPU reports (the device's sysfs `fw_version`), when bound.
    public var runningFirmware: String?
}

/// The firmware file the driver requests for a device, and the version its installed name carries.
public struct NPUFirmwareFile: Sendable, Equatable {
    public var path: String             // "/lib/firmware/amdnpu/17f0_10/npu.dev.sbin"
    public var resolvedName: String     // "1.7_npu.sbin.1.1.2.64" (the link's target, or the name itself)
    public var version: String?         // "1.1.2.64"
}

extension NPUEnvironment {
    // MARK: - Facts

    /// XDNA2 NPUs on the PCI bus: vendor 0x1022 and a (device, revision) of driver.xdna2Devices.
    public func npuPCIDevices() -> [NPUPCIDevice] {
        entries(of: "/sys/bus/pci/devices").sorted().compactMap { address in
            let dir = "/sys/bus/pci/devices/\(address)"
            guard readLine(dir + "/vendor")?.lowercased() == "0x1022",
                  let device = readLine(dir + "/device").map(Self.hex), let revision = readLine(dir + "/revision").map(Self.hex),
                  let model = limits.xdna2Devices.first(where: { $0.device == device && $0.revision == revision })
            else { return nil }
            let bound = linkTarget(dir + "/driver") != nil || exists(dir + "/driver")
            return NPUPCIDevice(address: address, device: device, revision: revision, model: model, bound: bound,
                                runningFirmware: bound ? readLine(dir + "/fw_version").flatMap { $0.isEmpty ? nil : $0 } : nil)
        }
    }

    /// "0x17f0" → "17f0", "0x10" → "10" (sysfs writes PCI ids in hex with 0x).
    static func hex(_ text: String) -> String {
        let t = text.lowercased()
        return t.hasPrefix("0x") ? String(t.dropFirst(2)) : t
    }

    /// The file amdxdna requests for firmware directory `dir`: the first name of firmware.requestOrder found in
    /// firmware.directories (plain, .zst or .xz).
    public func firmwareFile(directory dir: String) -> NPUFirmwareFile? {
        for name in limits.firmwareRequestOrder {
            for base in limits.firmwareDirectories {
                for suffix in ["", ".zst", ".xz"] {
                    let file = "\(base)/\(dir)/\(name)\(suffix)"
                    guard exists(file) else { continue }   // a dangling link fails the request too: next name
                    let resolved = resolvedName(file)
                    return NPUFirmwareFile(path: file, resolvedName: resolved, version: Self.firmwareVersion(resolved))
                }
            }
        }
        return nil
    }

    /// The version a firmware file name carries: "1.7_npu.sbin.1.1.2.64" → "1.1.2.64" (firmware.versionedFileName).
    public static func firmwareVersion(_ fileName: String) -> String? {
        var name = Substring(fileName)
        for suffix in [".zst", ".xz"] where name.hasSuffix(suffix) { name = name.dropLast(suffix.count) }
        guard let r = name.range(of: ".sbin.", options: .backwards) else { return nil }
        let version = name[r.upperBound...]
        let parts = version.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count >= 2, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isNumber) }) else { return nil }
        return String(version)
    }

    /// /sys/module/amdxdna/version, and whether it is the plugin package's driver: the package rewrites
    /// MODULE_VERSION to "<plugin version>_<date>,<commit>" (driver.pluginModuleVersion).
    public func loadedDriverVersion() -> (text: String, pluginVersion: String?)? {
        guard let text = readLine("/sys/module/amdxdna/version"), !text.isEmpty else { return nil }
        let head = text.split(separator: ",", maxSplits: 1).first.map(String.init) ?? text
        let parts = head.split(separator: "_")
        if text.contains(","), parts.count == 2, parts[1].count == 8, parts[1].allSatisfy(\.isNumber),
           let v = Self.parseVersion(String(parts[0])), v == String(parts[0]) {
            return (text, v)
        }
        return (text, nil)
    }

    private var driverLoaded: Bool {
        exists("/sys/module/amdxdna")
            || (read("/proc/modules")?.split(separator: "\n").contains { $0.hasPrefix("amdxdna ") } ?? false)
    }

    private var firmwareSearchText: String { limits.firmwareDirectories.joined(separator: ", ") }

    // MARK: - Checks

    /// The firmware file amdxdna loads for each XDNA2 NPU; without an NPU, what is installed under amdnpu/.
    public func firmware() -> NPUEnvironmentCheck {
        let name = "NPU firmware"
        let devices = npuPCIDevices()
        guard !devices.isEmpty else {
            let base = "/lib/firmware/amdnpu"
            let dirs = entries(of: base).sorted()
            let files = dirs.flatMap { d in entries(of: "\(base)/\(d)").map { "\(d)/\($0)" } }
            guard !files.isEmpty else {
                return NPUEnvironmentCheck(
                    name: name, ok: false, finding: "no firmware files under \(base)",
                    fix: "install the XDNA plugin package (its firmware goes to /usr/lib/firmware/amdnpu/<device>/) "
                        + "or a linux-firmware that carries amdnpu/")
            }
            return NPUEnvironmentCheck(name: name, ok: true,
                                       finding: "\(files.count) files under \(base) (\(dirs.joined(separator: ", "))); no XDNA2 NPU on the PCI bus to pick one")
        }
        var found: [String] = [], missing: [String] = []
        for d in devices {
            let dir = d.model.firmware
            if let f = firmwareFile(directory: dir) {
                let link = f.resolvedName == (f.path as NSString).lastPathComponent ? "" : " -> \(f.resolvedName)"
                found.append("\(d.model.name) at \(d.address): amdxdna loads \(f.path)\(link)"
                             + (f.version.map { " (firmware \($0))" } ?? " (no version in its name)"))
            } else {
                missing.append("\(d.model.name) at \(d.address): no \(limits.firmwareRequestOrder.joined(separator: ", ")) "
                               + "for \(dir) under \(firmwareSearchText)")
            }
        }
        if !missing.isEmpty {
            return NPUEnvironmentCheck(
                name: name, ok: false,
                finding: missing.joined(separator: "; ") + ": amdxdna cannot start the NPU without it "
                    + "(amd/xdna-driver drivers/accel/amdxdna/aie2_pci.c npu_fw[])",
                fix: "install the XDNA plugin package built with your driver: it installs the matching firmware to "
                    + "/usr/lib/firmware/amdnpu/<device>/ (amd/xdna-driver README)")
        }
        return NPUEnvironmentCheck(name: name, ok: true, finding: found.joined(separator: "; "))
    }

    /// The firmware running on each NPU against the file the driver loads and the driver that loads it.
    public func firmwareDriverMatch() -> NPUEnvironmentCheck {
        let name = "firmware/driver match"
        let readme = "amd/xdna-driver README, firmware/driver version mismatch"
        let reload = "re-install the XDNA plugin package (or remove a firmware file you placed by hand), then reload "
            + "the driver: `sudo modprobe -r amdxdna && sudo modprobe amdxdna` (\(readme))"
        let devices = npuPCIDevices()
        guard !devices.isEmpty else {
            return NPUEnvironmentCheck(name: name, ok: false,
                                       finding: "no XDNA2 NPU on the PCI bus (vendor 1022, device "
                                           + Set(limits.xdna2Devices.map(\.device)).sorted().joined(separator: ", ")
                                           + "), so no firmware or driver to match",
                                       fix: "use a machine with an XDNA2 NPU (Strix Point, Krackan, Strix Halo) with the NPU "
                                           + "enabled in the firmware setup")
        }
        guard driverLoaded else {
            return NPUEnvironmentCheck(name: name, ok: false, finding: "amdxdna is not loaded, so no firmware runs",
                                       fix: "`sudo modprobe amdxdna`")
        }
        let driver = loadedDriverVersion()
        let driverText = driver.map { $0.pluginVersion.map { "amdxdna \($0) (XDNA plugin package)" } ?? "amdxdna \($0.text) (not the plugin package's)" }
            ?? "amdxdna (no /sys/module/amdxdna/version)"
        var problems: [String] = [], fine: [String] = []
        for d in devices {
            let at = "\(d.model.name) at \(d.address)"
            guard d.bound else {
                problems.append("\(driverText) is loaded but has not bound the \(at): the driver does not start a "
                                + "firmware whose protocol it does not support (drivers/accel/amdxdna/aie.c "
                                + "aie_check_protocol; dmesg says 'firmware is not alive' or 'Firmware X.Y below minimum')")
                continue
            }
            let file = firmwareFile(directory: d.model.firmware)
            if let running = d.runningFirmware, let installed = file?.version, running != installed, let file {
                problems.append("the \(at) runs firmware \(running), but \(driverText) now loads \(file.path) -> "
                                + "\(file.resolvedName) (\(installed)): the firmware file changed after the driver "
                                + "loaded, or a stale copy was loaded")
                continue
            }
            let devName = limits.firmwareRequestOrder.first ?? "npu.dev.sbin"
            if driver?.pluginVersion != nil, let file, !(file.path as NSString).lastPathComponent.hasPrefix(devName) {
                problems.append("\(driverText) loads \(file.path) for the \(at), not the plugin package's \(devName): "
                                + "a firmware from another install under the plugin's driver")
                continue
            }
            fine.append("\(at) runs firmware \(d.runningFirmware ?? "?")"
                        + (file.map { " from \($0.path)" + ($0.version.map { " (\($0))" } ?? "") } ?? ""))
        }
        if !problems.isEmpty {
            return NPUEnvironmentCheck(name: name, ok: false, finding: problems.joined(separator: "; ") + " (\(readme))",
                                       fix: reload)
        }
        let note = driver?.pluginVersion == nil
            ? "; an in-tree amdxdna can lack ioctls a newer XRT plugin uses (telemetry queries fail; BOs and runs work)" : ""
        return NPUEnvironmentCheck(name: name, ok: true, finding: "\(driverText): " + fine.joined(separator: "; ") + note)
    }
}
