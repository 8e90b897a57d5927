// The xclbin's kernel signatures against what NPUBackend binds: each run sets opcode, instr and ninstr
// (arguments 0-2) and then one buffer per design argument (3+i), leaving aiecc's further buffer arguments unset.
// XRT's run.set_arg throws on an index the kernel does not have, so a mismatch fails at load, naming the kernel and
// both counts.
import Foundation

/// A kernel whose arguments in the xclbin differ from the plan's binding.
public struct KernelSignatureMismatch: Error, Equatable, CustomStringConvertible {
    public var kernel: String
    public var xclbin: String
    public var message: String
    public init(kernel: String, xclbin: String, message: String) {
        self.kernel = kernel
        self.xclbin = xclbin
        self.message = message
    }
    public var description: String { "kernel '\(kernel)' of \(xclbin): \(message)" }
}

public enum KernelSignatureCheck {
    /// The arguments NPUBackend binds for `design`, in index order, and whether each takes a buffer.
    public static func binding(_ design: FusedDesign) -> [(name: String, buffer: Bool)] {
        [("opcode", false), ("instr", true), ("ninstr", false)] + design.arguments.map { ($0.name, true) }
    }

    /// Checks every design's kernel in `xclbin`: at least the arguments the plan binds, a buffer where a buffer is
    /// bound, and any further ones buffers left unset. aiecc emits opcode, instr, ninstr and a FIXED five buffer
    /// arguments bo0…bo4 for every kernel (mlir-aie tools/aiecc/aiecc.cpp generateKernelsJson: `for (int i = 0; i < 5;
    /// i++)`); a design binding fewer (the decode token binds 4) leaves the rest unset, which its runtime sequence never
    /// addresses (no address patch names them).
    public static func check(_ designs: [FusedDesign], against xclbin: XclbinMetadata) throws {
        for design in designs {
            let have = try xclbin.arguments(ofKernel: design.kernelName)
            let want = binding(design)
            func fail(_ m: String) -> KernelSignatureMismatch {
                KernelSignatureMismatch(kernel: design.kernelName, xclbin: xclbin.path, message: m)
            }
            guard have.count >= want.count else {
                let data = want.count - 3
                throw fail("the xclbin declares \(have.count) arguments (\(have.map(\.name).joined(separator: ", "))), "
                           + "but the plan binds \(want.count) (opcode, instr, ninstr and \(data) buffers: "
                           + "\(want.dropFirst(3).map(\.name).joined(separator: ", "))); XRT's run.set_arg fails on an "
                           + "argument the kernel does not declare. aiecc emits opcode, instr, ninstr and a fixed number "
                           + "of buffer arguments bo0… (mlir-aie tools/aiecc/aiecc.cpp generateKernelsJson)")
            }
            for (i, (a, w)) in zip(have, want).enumerated() where a.takesBuffer != w.buffer {
                throw fail("argument \(i) is \(a.name) (\(a.hostType)) in the xclbin, a \(a.takesBuffer ? "buffer" : "scalar"), "
                           + "but the plan binds \(w.buffer ? "a buffer" : "a scalar") there (\(w.name))")
            }
            if let a = have.dropFirst(want.count).first(where: { !$0.takesBuffer }) {
                throw fail("argument \(a.index) is \(a.name) (\(a.hostType)) in the xclbin, a scalar the plan does not bind "
                           + "(an unset scalar argument is not what aiecc emits past the plan's buffers)")
            }
        }
    }
}
