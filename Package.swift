// swift-tools-version:6.0
// NPULlama: Llama-architecture LLMs on the AMD XDNA2 NPU, with an OpenBLAS CPU reference for verification.
import Foundation
import PackageDescription

/// Where XRT's C++ headers are, decided when the manifest is evaluated (SwiftPM cannot probe):
/// the first of $XRT_ROOT, /opt/xilinx/xrt, /usr with include/xrt/xrt_device.h. Without one,
/// CXRT builds as stubs that fail with "built without XRT". Change of XRT: rebuild from clean.
let xrtRoot: String? = {
    let candidates = [ProcessInfo.processInfo.environment["XRT_ROOT"], "/opt/xilinx/xrt", "/usr"]
    return candidates.compactMap { $0 }.filter { !$0.isEmpty }.first {
        FileManager.default.fileExists(atPath: $0 + "/include/xrt/xrt_device.h")
    }
}()
let cxrtCxxSettings: [CXXSetting] = xrtRoot.map {   // -I/usr/include would upset libstdc++'s #include_next
    [.define("CXRT_HAVE_XRT"), .unsafeFlags($0 == "/usr" ? [] : ["-I\($0)/include"])]
} ?? []
let cxrtLinkerSettings: [LinkerSetting] = xrtRoot.map {
    [.linkedLibrary("xrt_coreutil"),
     .unsafeFlags($0 == "/usr" ? [] : ["-L\($0)/lib", "-Xlinker", "-rpath", "-Xlinker", "\($0)/lib"])]
} ?? []

/// Files under Kernels/ that are not C++ sources of the NPUKernels target (IRON designs, READMEs, the manifest).
let kernelNonSources: [String] = [
    "README.md",
    "add/README.md",
    "argmax/README.md",
    "attn_decode/README.md",
    "attn_prefill/README.md",
    "decode/README.md",
    "decode/decode_token.py",
    "decode/layout.py",
    "decode/lm_head.py",
    "decode/prefill.py",
    "decode/roles.py",
    "gemv_bf16/README.md",
    "gemv_q4_0/README.md",
    "gemv_q4_1/README.md",
    "manifest.json",
    "npu2_target.json",
    "matmul/README.md",
    "rmsnorm/README.md",
    "rope/README.md",
    "swiglu/README.md",
]

let package = Package(
    name: "NPULlama",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "npu-llama", targets: ["npu-llama"]),
        .library(name: "LlamaCore", targets: ["LlamaCore"]),
        .library(name: "ReferenceBackend", targets: ["ReferenceBackend"]),
        .library(name: "Tokenizers", targets: ["Tokenizers"]),
        .library(name: "Jinja", targets: ["Jinja"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        // Hummingbird's own dependencies, named for the types the server module uses directly (Channel, Logger, HTTPField).
        .package(url: "https://github.com/apple/swift-nio", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.0.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.0.0"),
    ],
    targets: [
        // DType, tensors, ModelConfig, safetensors/GGUF readers, the graph, the sampler.
        .target(name: "LlamaCore"),
        // The system OpenBLAS (Debian libopenblas-dev); cblas.h on the default include path.
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        // Thread pool and row-parallel GEMV for the CPU reference (decode is bandwidth-bound).
        .target(name: "CReferenceKernels", cSettings: [.unsafeFlags(["-O3"])]),
        // fp32 CPU reference backend: verification only, never a production fallback.
        .target(name: "ReferenceBackend", dependencies: ["LlamaCore", "COpenBLAS", "CReferenceKernels"]),
        // A Jinja interpreter for the subset chat templates use, with jinja2's semantics as transformers configures it.
        .target(name: "Jinja"),
        // tiktoken and byte-level BPE tokenizers, chat formats and the model's own chat template, streaming decode.
        .target(name: "Tokenizers", dependencies: ["LlamaCore", "Jinja"]),
        // Prefill/decode loop over any Backend; verify mode (teacher-forced, free-running, golden), dumps, reports.
        .target(name: "Scheduler", dependencies: ["LlamaCore", "ReferenceBackend"]),
        // The AIE kernels (Kernels/*/*.cc) built for x86 against the project's AIE API emulation
        // (Kernels/aie_emu), with the tile drivers that run them as their IRON designs move data.
        .target(name: "NPUKernels", path: "Kernels", exclude: kernelNonSources,
                cxxSettings: [.headerSearchPath("aie_emu"), .headerSearchPath("drivers"),
                              .unsafeFlags(["-O2"])]),   // the emulation is unusably slow at -O0
        // C interface over XRT's C++ API (device, xclbin metadata, hw_context, kernel, bo, run, runlist) for
        // XRT >= 2.18 (the first whose runlist submits on amdxdna); stubs without XRT.
        .target(name: "CXRT", cxxSettings: cxrtCxxSettings, linkerSettings: cxrtLinkerSettings),
        // The NPU backend; for now the kernel manifest reader and KernelPlan.
        .target(name: "NPUBackend", dependencies: ["LlamaCore", "CXRT", "NPUKernels"]),
        // `npu-llama serve`: the OpenAI-compatible HTTP server (Hummingbird 2) over one Backend, one request at a time.
        .target(name: "Server", dependencies: [
            "LlamaCore", "Tokenizers", "Jinja", "Scheduler",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
        ], resources: [.copy("openapi.json")]),
        .executableTarget(name: "npu-llama", dependencies: [
            "LlamaCore", "ReferenceBackend", "Tokenizers", "Jinja", "Scheduler", "NPUBackend", "Server",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .testTarget(name: "LlamaCoreTests", dependencies: ["LlamaCore"]),
        .testTarget(name: "ReferenceBackendTests", dependencies: ["LlamaCore", "ReferenceBackend"]),
        .testTarget(name: "TokenizersTests", dependencies: ["Tokenizers", "LlamaCore"]),
        // The Jinja interpreter against jinja2 (goldens made by Tools/make-template-goldens.py, read from the source tree).
        .testTarget(name: "JinjaTests", dependencies: ["Jinja", "Tokenizers"], exclude: ["Goldens"]),
        .testTarget(name: "SchedulerTests", dependencies: ["Scheduler", "LlamaCore", "ReferenceBackend"]),
        // The server's engine without HTTP: queue, cancellation, deadlines, KV prefix reuse, request validation, SSE, metrics.
        .testTarget(name: "ServerTests", dependencies: ["Server", "Scheduler", "Tokenizers", "Jinja", "LlamaCore", "ReferenceBackend"]),
        // Runs the built npu-llama as a user would, in a subprocess.
        .testTarget(name: "CLITests", dependencies: ["npu-llama", "LlamaCore"]),
        // XRTDevice and NPUEnvironment on this machine and on fake file trees, the memlock plan and the
        // preflight of --device npu (XRT >= 2.18); hardware tests skip without an NPU.
        .testTarget(name: "XRTDeviceTests", dependencies: ["NPUBackend", "CXRT", "LlamaCore"]),
        .testTarget(name: "NPUBackendTests", dependencies: ["NPUBackend", "Scheduler", "ReferenceBackend", "LlamaCore"]),
        .testTarget(name: "NPUKernelsTests", dependencies: ["NPUKernels", "NPUBackend", "ReferenceBackend", "LlamaCore"]),
    ]
)
