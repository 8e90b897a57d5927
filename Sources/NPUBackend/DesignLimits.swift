// DesignLimits: what the designs must meet at plan time by the NPU2 target model — aiecc's buffer arguments per kernel, kernels per hw_context — with the baseline's known violations.
import Foundation

public enum DesignLimits {
    /// aiecc's kernel signature (target `aiecc.bufferArguments`): opcode, instr, ninstr and then 5 buffer
    /// arguments, so a design binding more cannot be launched (XRT's set_arg(3 + 5) throws, mlir-aie #3248).
    /// Fails naming the kernel, its count and the limit, unless `baseline.bufferArguments` lists the design
    /// with at least that count (a listed design growing past its count is a new violation).
    public static func checkBufferArguments(_ designs: [FusedDesign], target: NPU2Target, baseline: NPU2Baseline) throws {
        let limit = target.aieccBufferArguments
        for d in designs where d.arguments.count > limit {
            let n = d.arguments.count
            let rule = "aiecc emits \(limit) buffer arguments (bo0…bo\(limit - 1)) after opcode, instr, ninstr "
                + "(\(target.source("aiecc.bufferArguments"))), so XRT's set_arg(\(3 + limit)) would throw before anything runs"
            guard let known = baseline.bufferArguments[d.design] else {
                throw KernelPlanError(use: d.kernelName, message: "binds \(n) data buffers; \(rule). Design \(d.design) is not in \(baseline.file) bufferArguments (the known violations)")
            }
            guard n <= known.count else {
                throw KernelPlanError(use: d.kernelName, message: "binds \(n) data buffers, more than the \(known.count) \(baseline.file) tolerates for design \(d.design); \(rule)")
            }
        }
    }

    /// The kernel count of an xclbin against amdxdna's CUs per hw_context (target `hwContext.maxKernels`).
    /// - Parameter composition: the xclbin's name in `baseline.hwContextKernels` ("decode": the decode token kernels).
    /// - Returns: the exemption used, when the count is over the limit but tolerated.
    @discardableResult
    public static func checkContextKernels(count: Int, composition: String, target: NPU2Target,
                                           baseline: NPU2Baseline) throws -> NPU2Exemption? {
        let limit = target.maxKernelsPerContext
        guard count > limit else { return nil }
        let rule = "amdxdna accepts at most \(limit) kernels (CUs) per hardware context (\(target.source("hwContext.maxKernels")))"
        guard let known = baseline.hwContextKernels[composition], count <= known.count else {
            let listed = baseline.hwContextKernels[composition].map { " (\(baseline.file) tolerates \($0.count))" }
                ?? " (not in \(baseline.file) hwContextKernels)"
            throw NPUDeviceError("hardware context for the \(composition) xclbin",
                                 "its \(count) kernels exceed the limit: \(rule)\(listed)")
        }
        return known
    }
}
