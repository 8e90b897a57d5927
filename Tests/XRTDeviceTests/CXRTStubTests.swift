// The CXRT C interface as built here: without XRT every call fails with CXRT_ERR_NO_XRT and says so.
import CXRT
import XCTest

final class CXRTStubTests: XCTestCase {
    func testStubReportsBuiltWithoutXRT() throws {
        guard cxrt_built_with_xrt() == 0 else { throw XCTSkip("the shim was built with XRT \(String(cString: cxrt_version()))") }
        XCTAssertEqual(String(cString: cxrt_version()), "")
        var device: OpaquePointer?
        XCTAssertEqual(cxrt_device_open(0, &device), CXRT_ERR_NO_XRT)
        XCTAssertNil(device)
        let message = String(cString: cxrt_last_error())
        XCTAssertTrue(message.hasPrefix("xrt::device: CXRT was built without XRT"), message)
        XCTAssertTrue(message.contains("install XRT >= 2.18"), message)
        XCTAssertEqual(cxrt_last_errno(), 0)
        XCTAssertEqual(cxrt_last_command_state(), 0)
    }

    func testEveryStubFails() throws {
        guard cxrt_built_with_xrt() == 0 else { throw XCTSkip("the shim was built with XRT") }
        var handle: OpaquePointer?
        var value: Int32 = 7
        var pointer: UnsafeMutableRawPointer?
        var name = [CChar](repeating: 1, count: 8)
        let statuses = [
            cxrt_device_name(nil, &name, name.count),
            cxrt_context_open(nil, "x.xclbin", &handle), cxrt_kernel_open(nil, "MLIR_AIE", &handle),
            cxrt_kernel_group_id(nil, 1, &value), cxrt_bo_alloc(nil, 4096, CXRT_BO_HOST_ONLY, 3, &handle),
            cxrt_bo_map(nil, &pointer), cxrt_bo_sync(nil, CXRT_SYNC_TO_DEVICE, 4096, 0), cxrt_bo_sub(nil, 64, 0, &handle),
            cxrt_run_create(nil, &handle), cxrt_run_set_arg_bo(nil, 3, nil), cxrt_run_set_arg_u64(nil, 0, 3),
            cxrt_run_start(nil), cxrt_run_wait(nil, 100, &value), cxrt_runlist_create(nil, &handle),
            cxrt_runlist_add(nil, nil), cxrt_runlist_execute(nil), cxrt_runlist_wait(nil, 100, &value),
        ]
        XCTAssertTrue(String(cString: cxrt_last_error()).hasPrefix("xrt::runlist::wait: "))
        var count = 5
        var arg = cxrt_xclbin_arg()
        arg.index = 9
        var path = [CChar](repeating: 1, count: 8)
        let metadata = [cxrt_xclbin_open("x.xclbin", &handle), cxrt_xclbin_kernel_arg_count(nil, "k", &count),
                        cxrt_xclbin_kernel_arg(nil, "k", 0, &arg), cxrt_xrt_library_path(&path, path.count)]
        XCTAssertTrue(metadata.allSatisfy { $0 == CXRT_ERR_NO_XRT }, "\(metadata.map(\.rawValue))")
        XCTAssertEqual(count, 0)
        XCTAssertEqual(arg.index, 0)
        XCTAssertEqual(path[0], 0)
        XCTAssertTrue(String(cString: cxrt_last_error()).hasPrefix("cxrt_xrt_library_path: CXRT was built without XRT"))
        XCTAssertTrue(statuses.allSatisfy { $0 == CXRT_ERR_NO_XRT }, "\(statuses.map(\.rawValue))")
        XCTAssertNil(handle)
        XCTAssertNil(pointer)
        XCTAssertEqual(value, -1)          // the runlist's failed index, reset
        XCTAssertEqual(name[0], 0)         // the name buffer, emptied
    }

    func testLastErrorIsPerThread() throws {
        guard cxrt_built_with_xrt() == 0 else { throw XCTSkip("the shim was built with XRT") }
        var device: OpaquePointer?
        XCTAssertEqual(cxrt_device_open(0, &device), CXRT_ERR_NO_XRT)
        final class Seen: @unchecked Sendable { var message = "unset" }
        let seen = Seen()
        let done = expectation(description: "thread")
        Thread {   // a fresh thread has no last error
            seen.message = String(cString: cxrt_last_error())
            done.fulfill()
        }.start()
        wait(for: [done], timeout: 10)
        XCTAssertEqual(seen.message, "")
        XCTAssertFalse(String(cString: cxrt_last_error()).isEmpty)
    }
}
