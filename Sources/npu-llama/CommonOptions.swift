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

/// Sampling as llama.cpp does it (its default order: penalties, top-k, top-p, min-p, temperature; see
/// LlamaCore.Sampler). Every value is range-checked when parsed (Bounds).
struct SamplingOptions: ParsableArguments {
    @Option(parsing: .unconditional, help: "Sampling temperature, applied after the filters as llama.cpp does; 0 is greedy.",
            transform: Bounds.temperature.parse)
    var temperature: Float = 0
    @Option(name: .customLong("top-k"), parsing: .unconditional, help: "Keep the k most likely tokens (0: all).",
            transform: Bounds.topK.parse)
    var topK: Int = 0
    @Option(name: .customLong("top-p"), parsing: .unconditional,
            help: "Keep the most likely tokens up to this probability mass (1: all).", transform: Bounds.topP.parse)
    var topP: Float = 1
    @Option(name: .customLong("min-p"), parsing: .unconditional,
            help: "Keep tokens at least this fraction as likely as the most likely one (0: off; llama.cpp's default is 0.05).",
            transform: Bounds.minP.parse)
    var minP: Float = 0
    @Option(name: .customLong("repeat-penalty"), parsing: .unconditional,
            help: "Divide (positive) or multiply (negative) the logit of each token seen in the last --repeat-last-n tokens, prompt included (1: off).",
            transform: Bounds.repeatPenalty.parse)
    var repeatPenalty: Float = 1
    @Option(name: .customLong("repeat-last-n"), parsing: .unconditional,
            help: "Tokens the penalties look back over (0: penalties off, -1: the whole context).", transform: Bounds.repeatLastN.parse)
    var repeatLastN: Int = 64
    @Option(name: .customLong("presence-penalty"), parsing: .unconditional,
            help: "Subtract this from the logit of each token seen in the last --repeat-last-n tokens (-2…2, 0: off; OpenAI's presence_penalty).",
            transform: Bounds.presencePenalty.parse)
    var presencePenalty: Float = 0
    @Option(name: .customLong("frequency-penalty"), parsing: .unconditional,
            help: "Subtract this times the token's count in the last --repeat-last-n tokens (-2…2, 0: off; OpenAI's frequency_penalty).",
            transform: Bounds.frequencyPenalty.parse)
    var frequencyPenalty: Float = 0
    @Option(parsing: .unconditional, help: "Random seed for sampling: the same seed gives the same tokens.", transform: Bounds.seed.parse)
    var seed: UInt64 = 0

    /// The sampler settings (every value was range-checked when parsed).
    func parameters() throws -> SamplingParameters {
        SamplingParameters(temperature: temperature, topK: topK, topP: topP, minP: minP, repeatPenalty: repeatPenalty,
                           repeatLastN: repeatLastN, presencePenalty: presencePenalty, frequencyPenalty: frequencyPenalty,
                           seed: seed)
    }
}
