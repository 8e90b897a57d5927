// The --weights option: the weight matrices as the file stores them, or converted at load (bf16, GGUF Q4_0) for every device.
import ArgumentParser
import LlamaCore

enum WeightsOption: String, ExpressibleByArgument, CaseIterable {
    /// As stored: Q4_1 / Q4_0 matrices run as they are on the NPU, anything else is converted to bf16 at upload.
    case stored
    /// Every matrix rounded to bf16 at load (e.g. SmolLM2's Q4_1 run as bf16).
    case bf16
    /// Every matrix quantized at load to GGUF Q4_0 by ggml's reference quantizer (4.5 bits per weight).
    case q4_0

    static let help = "Weight matrices: stored (as the file has them; Q4_1/Q4_0 run as is on the NPU, others as bf16), " +
        "or converted at load for every device alike: bf16, or q4_0 (GGUF Q4_0, ggml's reference quantizer; 4.5 bits/weight)."

    /// The model as the devices will read it: `model` itself, or a view with its matrices converted
    /// (the CPU reference then runs the same converted weights as the NPU).
    func apply(_ model: LoadedModel) -> LoadedModel {
        switch self {
        case .stored: return model
        case .bf16: return model.convertingMatrices(to: .bf16)
        case .q4_0: return model.convertingMatrices(to: .q4_0)
        }
    }
}
