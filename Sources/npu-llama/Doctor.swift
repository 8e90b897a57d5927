// `npu-llama doctor`: every NPU set-up prerequisite checked, each with a fix; exit status says if the NPU can run.
import ArgumentParser
import Foundation
import LlamaCore
import NPUBackend

struct Doctor: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check the NPU set-up (device, driver, firmware and its match, XRT and its XDNA plugin, memlock, kernel toolchain and cache) and say how to fix what is wrong.")

    @Option(help: "Model whose memory needs and kernel cache to check (path or short name).")
    var model: String = ModelResolution.defaultModel
    @Option(parsing: .unconditional, help: "Context length the memlock need is computed for (default: the model's, at most 4096, as generate uses).",
            transform: Bounds.context.parse)
    var context: Int?
    @Option(help: ArgumentHelp(stringLiteral: WeightsOption.help))
    var weights: WeightsOption = .stored
    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        var checks: [NPUEnvironmentCheck] = []
        let loaded = try? weights.apply(ModelResolution.open(model))
        let environment = NPUEnvironment.current()
        let (memlock, signatures) = memoryAndSignatureChecks(environment, loaded)
        checks += environment.all(memlock: memlock)
        if let signatures { checks.append(signatures) }
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

    /// RLIMIT_MEMLOCK against what --device npu will map for the model (DeviceMemoryPlan, computed from the
    /// kernel plan, with the build's instruction streams and xclbin when one exists), and the build's xclbin
    /// kernel signatures against the plan's bindings (only with a build).
    func memoryAndSignatureChecks(_ environment: NPUEnvironment, _ loaded: LoadedModel?) -> (NPUEnvironmentCheck, NPUEnvironmentCheck?) {
        let limits = environment.limits
        guard let loaded else {
            return (environment.memlock(needed: UInt64(limits.deviceHeapBytes), what: "no model (\(model) did not open)",
                                        breakdown: "only the device heap mapped at device open"), nil)
        }
        let graph = Graph.llama(loaded.config)
        let ctx = Device.kernelContext(context ?? min(loaded.config.maxContext, 4096), graph)
        let what = "\((loaded.path as NSString).lastPathComponent) at context \(ctx)"
        do {
            let manifest = try KernelManifest.load(path: RepositoryPaths.root + "/Kernels/manifest.json")
            guard let built = try? BuiltKernels(graph: graph, tensors: loaded.tensors, manifest: manifest, contextLength: ctx) else {
                let plan = try NPUBackend.memoryPlan(graph: graph, tensors: loaded.tensors, manifest: manifest,
                                                     contextLength: ctx, instructionBytes: [:], limits: limits)
                return (environment.memlock(plan: plan, what: what + " (no kernel build: instruction streams and PDIs "
                                                + "taken to fit the first heap step)"), nil)
            }
            let plan = try built.memoryPlan(graph: graph, tensors: loaded.tensors, manifest: manifest, contextLength: ctx,
                                            limits: limits)
            let signatures: NPUEnvironmentCheck
            do {
                try built.checkSignatures(graph: graph, tensors: loaded.tensors, manifest: manifest, contextLength: ctx)
                signatures = NPUEnvironmentCheck(name: "xclbin kernel signatures", ok: true,
                                                 finding: "every kernel of \(built.xclbin) declares the arguments the plan binds")
            } catch {
                signatures = NPUEnvironmentCheck(name: "xclbin kernel signatures", ok: false, finding: "\(error)",
                                                 fix: "rebuild the kernels with the aiecc the designs are written for: "
                                                     + "npu-llama kernels clean && npu-llama kernels build --model \(model) --ctx \(ctx)")
            }
            return (environment.memlock(plan: plan, what: what + " (with the built kernels)"), signatures)
        } catch {
            return (NPUEnvironmentCheck(name: "memlock limit", ok: false, finding: "not computed: \(error)",
                                        fix: "`ulimit -l unlimited`, or fix what keeps the plan from being made (above)"), nil)
        }
    }

    /// mlir-aie, Peano and xclbinutil are needed only to build kernels; Tools/kernel_toolchain.py finds them exactly
    /// as the build does (mlir-aie's config API in $NPULLAMA_AIE_PYTHON or Tools/setup-npu.sh's venv).
    func toolchainCheck() -> NPUEnvironmentCheck {
        let name = "kernel toolchain (mlir-aie + Peano + xclbinutil)"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", RepositoryPaths.root + "/Tools/kernel_toolchain.py"]
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        do { try process.run() } catch {
            return NPUEnvironmentCheck(name: name, ok: false, finding: "python3 does not run (\(error))",
                                       fix: "install python3; then Tools/setup-npu.sh")
        }
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        if process.terminationStatus == 0,
           let info = try? JSONSerialization.jsonObject(with: stdout) as? [String: Any],
           let versions = info["versions"] as? [String: String] {
            return NPUEnvironmentCheck(name: name, ok: true,
                finding: versions.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        }
        let missing = String(decoding: stderr, as: UTF8.self).split(separator: "\n")
            .filter { $0.hasPrefix("  - ") }.map { $0.dropFirst(4) }.joined(separator: "; ")
        return NPUEnvironmentCheck(name: name, ok: false, finding: missing.isEmpty ? "not found" : missing,
            fix: "only needed to build kernels: Tools/setup-npu.sh installs the pinned mlir-aie and llvm-aie wheels "
                + "into a Python 3.12+ venv (XRT's xclbinutil: source /opt/xilinx/xrt/setup.sh)")
    }

    /// The context `kernels build` is given in the fix: --context, else what generate uses.
    func kernelContext(_ loaded: LoadedModel?) -> Int {
        context ?? min(loaded?.config.maxContext ?? 4096, 4096)
    }

    func kernelCacheCheck(_ loaded: LoadedModel?) -> NPUEnvironmentCheck {
        let cache = (ModelCache.directory as NSString).deletingLastPathComponent + "/kernels"
        let builds = ((try? FileManager.default.contentsOfDirectory(atPath: cache)) ?? []).filter { !$0.hasPrefix(".") }
        return NPUEnvironmentCheck(name: "kernel cache", ok: !builds.isEmpty,
            finding: builds.isEmpty ? "no built kernels in \(cache)" : "\(builds.count) build(s) in \(cache)",
            fix: "build this model's kernels once (into \(cache)): npu-llama kernels build --model \(model) --ctx \(kernelContext(loaded))\(weights == .stored ? "" : " --weights \(weights.rawValue)")")
    }
}
