// The system C++ compiler, run on sources against Kernels/aie_emu as the AIE API rule and arithmetic tests need it.
import Foundation
import XCTest

/// A C++ compiler on this machine (clang++, else c++), used to prove what the AIE API emulation accepts
/// and rejects (-fsyntax-only) and to build small probes of its arithmetic. Tests skip without one.
struct HostCompiler {
    let path: String
    static let emulationInclude = TestPlans.kernelsDirectory.appendingPathComponent("aie_emu").path

    /// The first of clang++ and c++ on PATH.
    static func find() throws -> HostCompiler {
        let dirs = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":").map(String.init)
        for name in ["clang++", "c++"] {
            if let dir = dirs.first(where: { FileManager.default.isExecutableFile(atPath: "\($0)/\(name)") }) {
                return HostCompiler(path: "\(dir)/\(name)")
            }
        }
        throw XCTSkip("no C++ compiler (clang++ or c++) on PATH: the AIE API emulation's rules cannot be compiled here")
    }

    struct Result {
        var status: Int32
        var output: String
    }

    /// Runs the compiler with `arguments` plus the emulation's include path; stdout and stderr together.
    func run(_ arguments: [String]) throws -> Result {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = ["-std=c++20", "-I", Self.emulationInclude] + arguments
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, output: String(decoding: data, as: UTF8.self))
    }

    /// Runs the compiler once per argument list, two at a time (the machine's cores); nil where it could not start.
    func runAll(_ argumentLists: [[String]]) -> [Result?] {
        final class Results: @unchecked Sendable {
            var items: [Result?]
            let lock = NSLock()
            init(_ n: Int) { items = Array(repeating: nil, count: n) }
        }
        let results = Results(argumentLists.count)
        DispatchQueue.concurrentPerform(iterations: argumentLists.count) { i in
            let r = try? run(argumentLists[i])
            results.lock.lock()
            results.items[i] = r
            results.lock.unlock()
        }
        return results.items
    }

    /// Checks the syntax (and every template instantiation) of each translation unit.
    func syntaxCheck(sources: [String]) throws -> [Result?] {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("aie-emu-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var lists: [[String]] = []
        for (i, source) in sources.enumerated() {
            let file = dir.appendingPathComponent("unit\(i).cc")
            try source.write(to: file, atomically: true, encoding: .utf8)
            lists.append(["-fsyntax-only", file.path])
        }
        return runAll(lists)
    }
}

/// Kernels/npu2_target.json's `aieApi.*` entries.
enum AIEAPITargetModel {
    static let path = TestPlans.kernelsDirectory.appendingPathComponent("npu2_target.json").path

    static func entries() throws -> [String: [String: Any]] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let root = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let limits = try XCTUnwrap(root["limits"] as? [String: [String: Any]])
        return limits.filter { $0.key.hasPrefix("aieApi.") }
    }
}
