// `npu-llama doctor`: every NPU set-up prerequisite checked, each with a fix; exit status says if the NPU can run.
import ArgumentParser
import Foundation
import LlamaCore
import NPUBackend

struct Doctor: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check the NPU set-up (device, driver, firmware, XRT, memlock, kernel toolchain and cache) and say how to fix what is wrong.")

    @Option(help: "Model whose memory needs and kernel cache to check (path or short name).")
    var model: String = ModelResolution.defaultModel
    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        var checks: [NPUEnvironmentCheck] = []
        let loaded = try? ModelResolution.open(model)
        // Locked memory the session needs: weights as uploaded (bf16, Q4_1/Q4_0 as is) + a 4k-token bf16 KV cache.
        var needed: UInt64 = 1 << 30
        if let loaded {
            let weights = loaded.tensors.tensorNames.compactMap(loaded.tensors.info).reduce(0) { $0 + Inspect.uploadedBytes($1) }
            let c = loaded.config
            let kv = 2 * c.layerCount * c.kvDim * min(c.maxContext, 4096) * 2
            needed = UInt64(weights + kv)
        }
        let environment = NPUEnvironment.current()
        checks += environment.all(memlockNeeded: needed)
        checks.append(toolchainCheck())
        checks.append(kernelCacheCheck(loaded))
        checks.append(NPUEnvironmentCheck(name: "OpenBLAS (CPU reference)", ok: true,
                                          finding: "linked (the CPU reference and verify mode can run)"))
        let npuReady = environment.openPrerequisites().allSatisfy(\.ok) && checks.allSatisfy { $0.ok || $0.name.hasPrefix("kernel toolchain") }
        if json {
            let rows = checks.map { ["check": $0.name, "ok": $0.ok, "finding": $0.finding, "fix": $0.fix ?? NSNull()] as [String: Any] }
            let data = try JSONSerialization.data(withJSONObject: ["checks": rows, "npu_ready": npuReady], options: [.sortedKeys, .prettyPrinted])
            print(String(decoding: data, as: UTF8.self))
        } else {
            for check in checks {
                print("\(check.ok ? "ok  " : "FAIL") \(check.name): \(check.finding)")
                if !check.ok, let fix = check.fix { print("     fix: \(fix)") }
            }
            print(npuReady ? "\nThe NPU can run: npu-llama generate --model \(model) \"…\""
                           : "\nThe NPU cannot run here yet (see the fixes above). The CPU reference and the emulated NPU still can: --device reference | emulator")
        }
        if !npuReady { throw ExitCode(ExitCodes.noDevice) }
    }

    /// mlir-aie (aiecc.py) and Peano are needed only to build kernels.
    func toolchainCheck() -> NPUEnvironmentCheck {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
        let aiecc = path.split(separator: ":").contains { FileManager.default.isExecutableFile(atPath: "\($0)/aiecc.py") }
        let peano = ProcessInfo.processInfo.environment["PEANO_INSTALL_DIR"].map { FileManager.default.fileExists(atPath: $0) } ?? false
        return NPUEnvironmentCheck(name: "kernel toolchain (mlir-aie + Peano)", ok: aiecc && peano,
            finding: "aiecc.py \(aiecc ? "found" : "not on PATH"), PEANO_INSTALL_DIR \(peano ? "set" : "not set")",
            fix: "only needed to build kernels: install mlir-aie (pip wheels from its releases) and llvm-aie (Peano); source utils/env_setup.sh")
    }

    func kernelCacheCheck(_ loaded: LoadedModel?) -> NPUEnvironmentCheck {
        let cache = (ModelCache.directory as NSString).deletingLastPathComponent + "/kernels"
        let builds = ((try? FileManager.default.contentsOfDirectory(atPath: cache)) ?? []).filter { !$0.hasPrefix(".") }
        return NPUEnvironmentCheck(name: "kernel cache", ok: !builds.isEmpty,
            finding: builds.isEmpty ? "no built kernels in \(cache)" : "\(builds.count) build(s) in \(cache)",
            fix: "build this model's kernels once: python3 Tools/build-kernels.py --preset smollm2-135m --weights q4_1 --ctx 4096 --out \(cache)/…")
    }
}
