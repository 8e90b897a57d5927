// Golden outputs of an independent implementation: the manifest and its per-tensor .npy files.
import Foundation

/// A golden set: `Golden/<model>/manifest.json` plus one .npy per named tensor per case.
public struct GoldenSet: Sendable {
    public static let formatVersion = 1
    public static let regenerateHint = "regenerate with Tools/golden/generate.py (see Tools/golden/README.md)"

    public struct Case: Sendable {
        public var name: String
        public var prompt: String?
        public var promptIDs: [Int]
        public var greedyIDs: [Int]
        public var greedyText: String?
        public var greedyMargins: [Double]
        /// Tensor name (llama.cpp naming) → file path relative to the golden folder.
        public var tensorFiles: [String: String]

        public init(name: String, prompt: String?, promptIDs: [Int], greedyIDs: [Int], greedyText: String? = nil,
                    greedyMargins: [Double], tensorFiles: [String: String]) {
            self.name = name
            self.prompt = prompt
            self.promptIDs = promptIDs
            self.greedyIDs = greedyIDs
            self.greedyText = greedyText
            self.greedyMargins = greedyMargins
            self.tensorFiles = tensorFiles
        }
    }

    public let directory: String
    public let modelName: String
    public let modelFile: String?
    public let modelSHA256: String?
    public let generator: [String: String]
    public let cases: [Case]

    public init(directory: String) throws {
        let path = (directory as NSString).appendingPathComponent("manifest.json")
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ModelFileError(.notFound, file: path, "golden manifest not found")
        }
        guard let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw ModelFileError(.badHeader, file: path, "is not a JSON object")
        }
        let keys = JSONKeys(json, file: path)
        let version = try keys.requiredInt("format_version")
        guard version == Self.formatVersion else {
            throw ModelFileError(.unsupportedVersion, file: path,
                "golden format_version is \(version); this build reads \(Self.formatVersion): \(Self.regenerateHint)")
        }
        let model = try keys.object("model") ?? [:]
        let modelKeys = JSONKeys(model, file: path, prefix: "model.")
        self.directory = directory
        modelName = try modelKeys.string("name") ?? (directory as NSString).lastPathComponent
        modelFile = try modelKeys.string("file")
        modelSHA256 = try modelKeys.string("sha256")
        var generator: [String: String] = [:]
        for (k, v) in try keys.object("generator") ?? [:] { generator[k] = "\(v)" }
        self.generator = generator
        guard let caseList = json["cases"] as? [[String: Any]] else {
            throw ModelFileError(.missingKey, file: path, "cases is missing or not a list of objects")
        }
        func ints(_ object: [String: Any], _ key: String) throws -> [Int] {
            guard let list = object[key] as? [NSNumber] else {
                throw ModelFileError(.badValue, file: path, "cases[].\(key) must be a list of integers")
            }
            return list.map(\.intValue)
        }
        cases = try caseList.map { item in
            let k = JSONKeys(item, file: path, prefix: "cases[].")
            var files: [String: String] = [:]
            for (name, entry) in try k.object("tensors") ?? [:] {
                guard let file = (entry as? [String: Any])?["file"] as? String else {
                    throw ModelFileError(.badValue, file: path, "cases[].tensors.\(name).file must be a string")
                }
                files[name] = file
            }
            return Case(name: try k.string("name") ?? "case",
                        prompt: try k.string("prompt"),
                        promptIDs: try ints(item, "prompt_ids"),
                        greedyIDs: try ints(item, "greedy_ids"),
                        greedyText: try k.string("greedy_text"),
                        greedyMargins: (item["greedy_margins"] as? [NSNumber])?.map(\.doubleValue) ?? [],
                        tensorFiles: files)
        }
    }

    /// Loads one golden tensor of a case.
    public func tensor(_ name: String, of goldenCase: Case) throws -> NPYArray {
        guard let file = goldenCase.tensorFiles[name] else {
            throw ModelFileError(.missingTensor, file: directory, "case \(goldenCase.name) has no golden tensor \(name)")
        }
        return try NPY.read(path: (directory as NSString).appendingPathComponent(file))
    }
}
