// swift-tools-version:6.0
// NPULlama: Llama-architecture LLMs on the AMD XDNA2 NPU, with an OpenBLAS CPU reference for verification.
import PackageDescription

let package = Package(
    name: "NPULlama",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "npu-llama", targets: ["npu-llama"]),
        .library(name: "LlamaCore", targets: ["LlamaCore"]),
        .library(name: "ReferenceBackend", targets: ["ReferenceBackend"]),
        .library(name: "Tokenizers", targets: ["Tokenizers"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
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
        // tiktoken and byte-level BPE tokenizers, chat formats, streaming decode.
        .target(name: "Tokenizers", dependencies: ["LlamaCore"]),
        // Prefill/decode loop over any Backend; verify mode (teacher-forced, free-running, golden), dumps, reports.
        .target(name: "Scheduler", dependencies: ["LlamaCore", "ReferenceBackend"]),
        .executableTarget(name: "npu-llama", dependencies: [
            "LlamaCore", "ReferenceBackend", "Tokenizers", "Scheduler",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .testTarget(name: "LlamaCoreTests", dependencies: ["LlamaCore"]),
        .testTarget(name: "ReferenceBackendTests", dependencies: ["LlamaCore", "ReferenceBackend"]),
        .testTarget(name: "TokenizersTests", dependencies: ["Tokenizers", "LlamaCore"]),
        .testTarget(name: "SchedulerTests", dependencies: ["Scheduler", "LlamaCore", "ReferenceBackend"]),
        // Runs the built npu-llama as a user would, in a subprocess.
        .testTarget(name: "CLITests", dependencies: ["npu-llama", "LlamaCore"]),
    ]
)
