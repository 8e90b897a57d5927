// How failures read: command states in XRT's words with hints, CXRT errors with the kernel and label.
import CXRT
@testable import NPUBackend
import XCTest

final class XRTDeviceErrorTests: XCTestCase {
    func testCommandErrorNamesKernelLayerAndState() {
        let e = NPUDeviceError.command(kernel: "MLIR_AIE", label: "layer 3 attention", state: .timeout)
        XCTAssertEqual(e.what, "XRT command of kernel 'MLIR_AIE' (layer 3 attention)")
        XCTAssertEqual(e.detail, "ended in ERT_CMD_STATE_TIMEOUT (8)")
        XCTAssertTrue(e.hint?.contains("watchdog") ?? false)
        let f = NPUDeviceError.command(kernel: "gemv_q4_1", label: nil, state: .noResponse, detail: "xrt says")
        XCTAssertEqual(f.description, "XRT command of kernel 'gemv_q4_1': ended in ERT_CMD_STATE_NORESPONSE (9): "
                           + "xrt says (the NPU stopped responding: check `dmesg`; reloading amdxdna or rebooting may be needed)")
    }

    func testStateNamesAndHints() {
        XCTAssertEqual(CommandState.error.ertName, "ERT_CMD_STATE_ERROR")
        XCTAssertEqual(CommandState.abort.ertName, "ERT_CMD_STATE_ABORT")
        XCTAssertNil(CommandState.completed.failureHint)
        for state in [CommandState.error, .abort, .timeout, .noResponse] { XCTAssertNotNil(state.failureHint) }
    }

    func testCXRTFailureBecomesDeviceError() throws {
        guard cxrt_built_with_xrt() == 0 else { throw XCTSkip("the shim was built with XRT") }
        var run: OpaquePointer?
        let status = cxrt_run_create(nil, &run)
        let e = xrtError(status, XRTFailureSubject(operation: "makeRun", kernel: "MLIR_AIE", label: "layer 0 mlp"))
        XCTAssertEqual(e.what, "XRT makeRun of kernel 'MLIR_AIE' (layer 0 mlp)")
        XCTAssertTrue(e.detail.hasPrefix("xrt::run: CXRT was built without XRT"), e.detail)
        XCTAssertEqual(e.hint, "this build has no XRT: install XRT >= 2.18 (or set XRT_ROOT) and rebuild from clean (rm -rf .build)")
    }
}
