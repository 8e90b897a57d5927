// Options several commands share: which model on which device, and how to sample.
import ArgumentParser
import LlamaCore

struct ModelOptions: ParsableArguments {
    @Option(help: "Model: HF folder, .gguf file, or a short name (\(ModelResolution.shortNames.keys.sorted().joined(separator: ", "))).")
    var model: String = ModelResolution.defaultModel
    @Option(help: "Device: npu (default), emulator (the emulated NPU, a test instrument), or reference (the fp32 CPU reference, for verification).")
    var device: Device = .npu
    @Option(help: ArgumentHelp(stringLiteral: WeightsOption.help))
    var weights: WeightsOption = .stored
    @Flag(help: "No progress or timing output on stderr.")
    var quiet = false

    /// The --model, opened, with --weights applied.
    func open() throws -> LoadedModel { weights.apply(try ModelResolution.open(model)) }
}

struct SamplingOptions: ParsableArguments {
    @Option(help: "Sampling temperature; 0 is greedy.")
    var temperature: Float = 0
    @Option(name: .customLong("top-k"), help: "Keep the k most likely tokens (0: all).")
    var topK: Int = 0
    @Option(name: .customLong("top-p"), help: "Keep the most likely tokens up to this probability mass.")
    var topP: Float = 1
    @Option(help: "Random seed for sampling.")
    var seed: UInt64 = 0

    /// The sampler settings, or a usage error naming the bad option.
    func parameters() throws -> SamplingParameters {
        guard temperature >= 0, topK >= 0, topP > 0, topP <= 1 else {
            throw UserFacingError(message: "sampling options out of range",
                                  hint: "--temperature ≥ 0, --top-k ≥ 0, 0 < --top-p ≤ 1", code: ExitCodes.usage)
        }
        return SamplingParameters(temperature: temperature, topK: topK, topP: topP, seed: seed)
    }
}
