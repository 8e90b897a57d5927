// Safetensors round trips (every dtype, metadata), HF model folders single and sharded, canonical names.

import Foundation
import XCTest
@testable import LlamaCore

final class SafetensorsTests: XCTestCase {
    static let f32Values: [Float] = [0, -0.0, 1.5, -2.25, .infinity, -.infinity, .leastNonzeroMagnitude, 3.4028235e38]
    static let f16Bits: [UInt16] = [0x3C00, 0xC000, 0x0001, 0x7BFF, 0xFC00, 0x8000]
    static let bf16Bits: [UInt16] = [0x3F80, 0xBF80, 0x4049, 0x0001, 0x7F80, 0x8000]

    func testEveryDTypeAndMetadataRoundTrip() throws {
        let dir = try makeTempDir(self)
        let bytes = SafetensorsWriter.bytes([
            SafetensorsTensorSpec(name: "a.f32", dtype: "F32", shape: [2, 4], data: f32Bytes(Self.f32Values)),
            SafetensorsTensorSpec(name: "b.f16", dtype: "F16", shape: [3, 1, 2], data: u16Bytes(Self.f16Bits)),
            SafetensorsTensorSpec(name: "c.bf16", dtype: "BF16", shape: [6], data: u16Bytes(Self.bf16Bits)),
            SafetensorsTensorSpec(name: "d.scalar", dtype: "F32", shape: [], data: f32Bytes([42])),
            SafetensorsTensorSpec(name: "e.empty", dtype: "BF16", shape: [0, 3], data: []),
        ], metadata: ["format": "pt", "note": "héllo"])
        let path = try writeFile(bytes, to: dir.appendingPathComponent("m.safetensors"))
        let s = try SafetensorsFile(path: path)

        XCTAssertEqual(s.metadata, ["format": "pt", "note": "héllo"])
        XCTAssertEqual(s.tensorNames, ["a.f32", "b.f16", "c.bf16", "d.scalar", "e.empty"])
        XCTAssertEqual(s.dataOffset, 8 + s.headerLength)
        XCTAssertEqual(s.headerLength % 8, 0)
        XCTAssertEqual(s.info("a.f32"), TensorInfo(name: "a.f32", dtype: .f32, shape: [2, 4]))
        XCTAssertEqual(s.info("b.f16"), TensorInfo(name: "b.f16", dtype: .f16, shape: [3, 1, 2]))
        XCTAssertEqual(s.info("c.bf16"), TensorInfo(name: "c.bf16", dtype: .bf16, shape: [6]))
        XCTAssertEqual(s.info("d.scalar")?.elementCount, 1)
        XCTAssertEqual(s.info("e.empty")?.elementCount, 0)

        assertBitEqual(try s.floats("a.f32"), Self.f32Values, "f32")
        assertBitEqual(try s.floats("b.f16"), Self.f16Bits.map { Float(Float16(bitPattern: $0)) }, "f16")
        assertBitEqual(try s.floats("c.bf16"), Self.bf16Bits.map { Float(bitPattern: UInt32($0) << 16) }, "bf16")
        XCTAssertEqual(try s.floats("d.scalar"), [42])
        XCTAssertEqual(try s.floats("e.empty"), [])
        XCTAssertEqual(Array(try s.rawBytes("c.bf16")), u16Bytes(Self.bf16Bits))
        assertBitEqual(try s.floats("a.f32", rows: 1 ..< 2), Array(Self.f32Values[4...]), "row 1")
        assertModelFileError(.missingTensor, file: path, mentions: ["zzz"]) { try s.floats("zzz") }
    }

    func testHeaderWithoutPaddingOrMetadataAndOutOfOrderOffsets() throws {
        let dir = try makeTempDir(self)
        // Data stored in the reverse order of the header's keys; no padding after the JSON.
        let json = #"{"x":{"dtype":"F32","shape":[2],"data_offsets":[8,16]},"y":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#
        let path = try writeFile(SafetensorsWriter.bytes(headerJSON: json, data: f32Bytes([1, 2, 3, 4]), pad: false),
                                 to: dir.appendingPathComponent("o.safetensors"))
        let s = try SafetensorsFile(path: path)
        XCTAssertEqual(try s.floats("x"), [3, 4])
        XCTAssertEqual(try s.floats("y"), [1, 2])
        XCTAssertEqual(s.metadata, [:])
    }

    // MARK: - HF model folders

    /// A two-layer HF Llama checkpoint: every tensor F32 [2, 32] filled with a value unique to it.
    static let hfNames: [String] = {
        var names = ["model.embed_tokens.weight", "model.norm.weight", "lm_head.weight"]
        for n in 0 ..< 2 {
            for part in ["input_layernorm", "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                         "post_attention_layernorm", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"] {
                names.append("model.layers.\(n).\(part).weight")
            }
        }
        names.append("model.layers.0.self_attn.rotary_emb.inv_freq")   // unknown: kept under its HF name
        return names
    }()

    static func spec(_ index: Int) -> SafetensorsTensorSpec {
        SafetensorsTensorSpec(name: hfNames[index], dtype: "F32", shape: [2, 32],
                              data: f32Bytes(Array(repeating: Float(index), count: 64)))
    }

    static let expectedCanonical: Set<String> = {
        var names: Set<String> = ["token_embd.weight", "output_norm.weight", "output.weight",
                                  "model.layers.0.self_attn.rotary_emb.inv_freq"]
        for n in 0 ..< 2 {
            for part in ["attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm", "ffn_gate", "ffn_up", "ffn_down"] {
                names.insert("blk.\(n).\(part).weight")
            }
        }
        return names
    }()

    private func checkModel(_ m: SafetensorsModel) throws {
        XCTAssertEqual(m.tensorNames, Self.expectedCanonical.sorted())
        for (i, hf) in Self.hfNames.enumerated() {
            let canonical = canonicalTensorName(forHF: hf)
            XCTAssertEqual(m.hfName(canonical), hf)
            XCTAssertEqual(m.info(canonical), TensorInfo(name: canonical, dtype: .f32, shape: [2, 32]))
            XCTAssertEqual(try m.floats(canonical), Array(repeating: Float(i), count: 64), canonical)
            XCTAssertEqual(try m.rawBytes(canonical).count, 256)
        }
        XCTAssertNil(m.info("model.embed_tokens.weight"), "only canonical names are exposed for known tensors")
        assertModelFileError(.missingTensor, file: m.path, mentions: ["model.norm.weight"]) { try m.floats("model.norm.weight") }
    }

    func testSingleFileModelFolderUsesCanonicalNames() throws {
        let dir = try makeTempDir(self)
        let specs = Self.hfNames.indices.map(Self.spec)
        try writeFile(SafetensorsWriter.bytes(specs, metadata: ["format": "pt"]), to: dir.appendingPathComponent("model.safetensors"))
        let m = try SafetensorsModel(path: dir.path)
        XCTAssertEqual(m.shards.count, 1)
        try checkModel(m)
        // The file itself can be given too.
        try checkModel(try SafetensorsModel(path: dir.appendingPathComponent("model.safetensors").path))
    }

    func testShardedModelFolder() throws {
        let dir = try makeTempDir(self)
        let first = Array(Self.hfNames.indices.prefix(10)), second = Array(Self.hfNames.indices.dropFirst(10))
        try writeFile(SafetensorsWriter.bytes(first.map(Self.spec)), to: dir.appendingPathComponent("model-00001-of-00002.safetensors"))
        // The second shard also holds a tensor the index does not list: it is ignored, as HF does.
        try writeFile(SafetensorsWriter.bytes(second.map(Self.spec) + [SafetensorsTensorSpec(name: "extra", dtype: "F32", shape: [1], data: f32Bytes([9]))]),
                      to: dir.appendingPathComponent("model-00002-of-00002.safetensors"))
        var map: [String: String] = [:]
        for i in first { map[Self.hfNames[i]] = "model-00001-of-00002.safetensors" }
        for i in second { map[Self.hfNames[i]] = "model-00002-of-00002.safetensors" }
        let index = try JSONSerialization.data(withJSONObject: ["metadata": ["total_size": 5632], "weight_map": map])
        try index.write(to: dir.appendingPathComponent("model.safetensors.index.json"))

        let m = try SafetensorsModel(path: dir.path)
        XCTAssertEqual(m.shards.count, 2)
        XCTAssertEqual(m.shards.map { URL(fileURLWithPath: $0.path).lastPathComponent },
                       ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"])
        XCTAssertTrue(m.shard("token_embd.weight")!.path.hasSuffix("model-00001-of-00002.safetensors"))
        XCTAssertTrue(m.shard("blk.1.ffn_down.weight")!.path.hasSuffix("model-00002-of-00002.safetensors"))
        XCTAssertNil(m.info("extra"))
        try checkModel(m)
    }

    func testTiedEmbeddingsHaveNoOutputWeight() throws {
        let dir = try makeTempDir(self)
        let specs = Self.hfNames.indices.filter { Self.hfNames[$0] != "lm_head.weight" }.map(Self.spec)
        try writeFile(SafetensorsWriter.bytes(specs), to: dir.appendingPathComponent("model.safetensors"))
        let m = try SafetensorsModel(path: dir.path)
        XCTAssertNil(m.info("output.weight"))
        XCTAssertNotNil(m.info("token_embd.weight"))
    }
}

final class HFTensorNamesTests: XCTestCase {
    func testKnownNamesMapToCanonicalNames() {
        let cases: [(String, String)] = [
            ("model.embed_tokens.weight", "token_embd.weight"),
            ("model.norm.weight", "output_norm.weight"),
            ("lm_head.weight", "output.weight"),
            ("model.layers.0.input_layernorm.weight", "blk.0.attn_norm.weight"),
            ("model.layers.0.self_attn.q_proj.weight", "blk.0.attn_q.weight"),
            ("model.layers.7.self_attn.k_proj.weight", "blk.7.attn_k.weight"),
            ("model.layers.10.self_attn.v_proj.weight", "blk.10.attn_v.weight"),
            ("model.layers.15.self_attn.o_proj.weight", "blk.15.attn_output.weight"),
            ("model.layers.3.post_attention_layernorm.weight", "blk.3.ffn_norm.weight"),
            ("model.layers.3.mlp.gate_proj.weight", "blk.3.ffn_gate.weight"),
            ("model.layers.3.mlp.up_proj.weight", "blk.3.ffn_up.weight"),
            ("model.layers.123.mlp.down_proj.weight", "blk.123.ffn_down.weight"),
            ("model.layers.2.self_attn.q_proj.bias", "blk.2.attn_q.bias"),
        ]
        for (hf, canonical) in cases { XCTAssertEqual(canonicalTensorName(forHF: hf), canonical, hf) }
    }

    func testUnknownNamesAreKept() {
        for name in ["model.layers.0.self_attn.rotary_emb.inv_freq", "model.layers.01.mlp.up_proj.weight",
                     "model.layers.x.mlp.up_proj.weight", "model.layers..mlp.up_proj.weight", "model.layers.1",
                     "model.layers.1.mlp.up_proj.scales", "model.layers.1.mlp.experts.0.weight",
                     "token_embd.weight", "", "lm_head.bias", "model.layers.١.mlp.up_proj.weight"] {
            XCTAssertEqual(canonicalTensorName(forHF: name), name)
        }
    }
}
