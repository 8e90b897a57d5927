// NPUEnvironment's memlock check: RLIMIT_MEMLOCK against every byte the backend will map. amdxdna's XRT plugin
// maps each buffer object MAP_SHARED | MAP_LOCKED (amd/xdna-driver src/shim/buffer.cpp mmap_ptr), so the
// limit must cover weights, KV cache, activations, command buffers and the device heap, or a map fails.
import Foundation

extension NPUEnvironment {
    /// The limit against `plan`; `what` names the model and context ("SmolLM2 … at context 2048").
    public func memlock(plan: DeviceMemoryPlan, what: String) -> NPUEnvironmentCheck {
        memlock(needed: UInt64(plan.mappedBytes), what: what, breakdown: plan.breakdown)
    }

    /// The limit against `needed` bytes mapped MAP_LOCKED.
    public func memlock(needed: UInt64, what: String, breakdown: String) -> NPUEnvironmentCheck {
        let name = "memlock limit"
        let need = "\(Self.formatBytes(needed)) (\(needed) bytes)"
        guard let limit = memlockLimit else {
            return NPUEnvironmentCheck(name: name, ok: true, finding: "unlimited; the backend maps \(need) for \(what)")
        }
        if limit >= needed {
            return NPUEnvironmentCheck(name: name, ok: true,
                                       finding: "\(Self.formatBytes(limit)) (\(limit) bytes) covers the \(need) the backend maps for \(what)")
        }
        let kib = (needed + 1023) / 1024
        return NPUEnvironmentCheck(
            name: name, ok: false,
            finding: "RLIMIT_MEMLOCK is \(Self.formatBytes(limit)) (\(limit) bytes), but the backend maps \(need) "
                + "MAP_LOCKED for \(what): \(breakdown); the XDNA plugin maps every buffer object MAP_SHARED | MAP_LOCKED "
                + "(\(limits.source("memlock.mapFlags").prefix { $0 != ";" })), so a map past the limit fails",
            fix: "raise it to at least \(kib) KiB, or unlimited: `ulimit -l \(kib)` in this shell (within the hard limit, "
                + "`ulimit -H -l`); for every login `printf '* soft memlock unlimited\\n* hard memlock unlimited\\n' | "
                + "sudo tee /etc/security/limits.d/99-amdxdna.conf`, then log in again; for a systemd service "
                + "`LimitMEMLOCK=infinity` in its [Service] section (amd/xdna-driver README, 'How to allocate huge size BO?')")
    }
}

/// Why --device npu stops before opening the device or allocating: a check that failed, with its fix.
public struct NPUPreflightError: Error, CustomStringConvertible, Sendable {
    public var check: String
    public var message: String
    public var fix: String?
    public init(check: String, message: String, fix: String?) {
        self.check = check
        self.message = message
        self.fix = fix
    }
    public init(_ failed: NPUEnvironmentCheck) { self.init(check: failed.name, message: failed.finding, fix: failed.fix) }
    public var description: String { "\(check): \(message)" + (fix.map { " (fix: \($0))" } ?? "") }
}
