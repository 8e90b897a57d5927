// `npu-llama serve` as a user starts it: the device rules of `generate` (no NPU here: exit 69, no fallback), bad
// options (exit 64), and a server that starts, answers and stops cleanly on SIGTERM.
import Foundation
import LlamaCore
import XCTest

final class ServeCommandTests: XCTestCase {
    func executable() throws -> URL {
        let candidates = [Bundle.main.bundleURL, Bundle(for: ServeCommandTests.self).bundleURL.deletingLastPathComponent(),
                          URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()]
            .map { $0.appendingPathComponent("npu-llama") }
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
            throw XCTSkip("npu-llama is not built beside the tests")
        }
        return found
    }

    func start(_ args: [String]) throws -> (Process, Pipe) {
        let process = Process()
        process.executableURL = try executable()
        process.arguments = args
        process.currentDirectoryURL = URL(fileURLWithPath: CLITests.repo)
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        return (process, err)
    }

    func testBadOptionsAndAMissingNPUFailWithTheirCodes() throws {
        try XCTSkipUnless(FileManager.default.fileExists(atPath: ModelCache.smolLM2GGUF), "SmolLM2 GGUF not cached; \(ModelCache.fetchHint)")
        let (bad, badErr) = try start(["serve", "--device", "reference", "--port", "70000"])
        bad.waitUntilExit()
        XCTAssertEqual(bad.terminationStatus, 64)
        let badMessage = String(decoding: badErr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertTrue(badMessage.contains("--port must be a whole number in 0…65535") && badMessage.contains("'70000'"), badMessage)
        guard !FileManager.default.fileExists(atPath: "/dev/accel/accel0") else { throw XCTSkip("an NPU is present") }
        let (npu, npuErr) = try start(["serve", "--port", "0"])
        npu.waitUntilExit()
        let message = String(decoding: npuErr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(npu.terminationStatus, 69, message)
        XCTAssertTrue(message.contains("never falls back"), message)
    }

    func testServesAndStopsOnSIGTERM() throws {
        try XCTSkipUnless(FileManager.default.fileExists(atPath: ModelCache.smolLM2GGUF), "SmolLM2 GGUF not cached; \(ModelCache.fetchHint)")
        let (server, err) = try start(["serve", "--device", "reference", "--port", "0", "--context", "256", "--quiet"])
        defer { if server.isRunning { server.terminate() } }
        // The 'listening on' line names the port.
        var text = ""
        let deadline = Date().addingTimeInterval(180)
        while !text.contains("listening on"), Date() < deadline {
            let data = err.fileHandleForReading.availableData
            if data.isEmpty { break }
            text += String(decoding: data, as: UTF8.self)
        }
        let port = try XCTUnwrap(text.firstMatch(of: /127\.0\.0\.1:(\d+)/).map { String($0.1) }, text)
        // curl: Foundation on Linux reads no http URLs without FoundationNetworking.
        let curl = Process()
        curl.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        curl.arguments = ["-sS", "--max-time", "10", "http://127.0.0.1:\(port)/health"]
        let out = Pipe()
        curl.standardOutput = out
        try curl.run()
        let health = out.fileHandleForReading.readDataToEndOfFile()
        curl.waitUntilExit()
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: health) as? [String: Any])
        XCTAssertEqual(json["device"] as? String, "CPU reference")
        XCTAssertEqual(json["context_length"] as? Int, 256)
        server.terminate()   // SIGTERM: graceful shutdown
        server.waitUntilExit()
        XCTAssertEqual(server.terminationStatus, 0)
    }
}
