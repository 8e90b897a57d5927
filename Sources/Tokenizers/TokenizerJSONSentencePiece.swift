// Reads the SentencePiece-style parts of an HF tokenizer.json (Llama 2, TinyLlama, Mistral): normalizers, Metaspace, decoders.
import Foundation
import LlamaCore

/// A SentencePiece-style BPE tokenizer.json as HF tokenizers runs it (tokenizers `normalizers/`,
/// `pre_tokenizers/metaspace.rs`, `models/bpe/model.rs`, `decoders/`).
struct SentencePieceJSONDescription {
    enum NormalizerStep: Equatable {
        /// `Prepend`: the text (when not empty) gets `prefix` in front.
        case prepend([UInt8])
        /// `Replace` with a String pattern: every occurrence becomes `content`.
        case replace(pattern: [UInt8], content: [UInt8])
    }

    enum PrependScheme: String { case always, first, never }

    struct Metaspace: Equatable {
        var replacement: [UInt8]
        var prepend: PrependScheme
        /// Each occurrence of the replacement starts a new word (tokenizers' MergedWithNext split).
        var split: Bool
    }

    var model: TokenizerJSON.Model
    var normalizer: [NormalizerStep]
    var metaspace: Metaspace?
    var decoder: TokenDecoderChain
    var bosID: Int?
    var eosIDs: Set<Int>

    init(_ m: TokenizerJSON.Model, file: String) throws(ModelFileError) {
        model = m
        let root = m.root
        func unsupported(_ key: String, _ v: Any?) -> ModelFileError { TokenizerJSON.unsupported(file, key, v) }
        func string(_ o: [String: Any], _ key: String, _ at: String) throws(ModelFileError) -> [UInt8] {
            guard let s = o[key] as? String else { throw TokenizerJSON.bad(file, "\(at).\(key)", "expected a string") }
            return Array(s.utf8)
        }
        func members(_ v: Any, _ key: String, _ listKey: String) throws(ModelFileError) -> [(String, [String: Any])] {
            guard let o = v as? [String: Any], let type = o["type"] as? String else { throw unsupported(key, v) }
            guard type == "Sequence" else { return [(key, o)] }
            guard let list = o[listKey] as? [Any] else { throw TokenizerJSON.bad(file, "\(key).\(listKey)", "expected an array") }
            var out: [(String, [String: Any])] = []
            for (i, e) in list.enumerated() {
                guard let eo = e as? [String: Any] else { throw unsupported("\(key).\(listKey)[\(i)]", e) }
                out.append(("\(key).\(listKey)[\(i)]", eo))
            }
            return out
        }
        /// tokenizers' Replace pattern: {"String": s} (a Regex pattern is not reproduced).
        func pattern(_ o: [String: Any], _ at: String) throws(ModelFileError) -> [UInt8] {
            guard let p = o["pattern"] as? [String: Any], let s = p["String"] as? String, !s.isEmpty else {
                throw unsupported("\(at).pattern", o["pattern"])
            }
            return Array(s.utf8)
        }

        normalizer = []
        if let v = root["normalizer"], !TokenizerJSON.isNull(v) {
            for (at, o) in try members(v, "normalizer", "normalizers") {
                switch o["type"] as? String {
                case "Prepend": normalizer.append(.prepend(try string(o, "prepend", at)))
                case "Replace": normalizer.append(.replace(pattern: try pattern(o, at), content: try string(o, "content", at)))
                default: throw unsupported(at, o)
                }
            }
            if let t = m.normalizedAdded.first {
                throw TokenizerJSON.bad(file, "added_tokens", "\"\(t)\" is matched on normalized text (\"normalized\": true), which is not supported with a normalizer")
            }
        }

        if let v = root["pre_tokenizer"], !TokenizerJSON.isNull(v) {
            let steps = try members(v, "pre_tokenizer", "pretokenizers")
            guard steps.count == 1, steps[0].1["type"] as? String == "Metaspace" else { throw unsupported("pre_tokenizer", v) }
            metaspace = try Self.metaspace(steps[0].1, at: steps[0].0, file: file)
        }

        var chain: [TokenDecoderStep] = []
        guard let d = root["decoder"], !TokenizerJSON.isNull(d) else {
            throw TokenizerJSON.bad(file, "decoder", "missing (a SentencePiece-style tokenizer needs its decoders)")
        }
        for (at, o) in try members(d, "decoder", "decoders") {
            switch o["type"] as? String {
            case "Replace": chain.append(.replace(pattern: try pattern(o, at), content: try string(o, "content", at)))
            case "ByteFallback": chain.append(.byteFallback)
            case "Fuse": chain.append(.fuse)
            case "Strip":
                let content = try string(o, "content", at)
                guard String(decoding: content, as: UTF8.self).unicodeScalars.count == 1,
                      let start = o["start"] as? Int, let stop = o["stop"] as? Int, start >= 0, stop >= 0 else {
                    throw unsupported(at, o)
                }
                chain.append(.strip(content: content, start: start, stop: stop))
            case "Metaspace":
                let ms = try Self.metaspace(o, at: at, file: file)
                chain.append(.metaspace(replacement: ms.replacement, dropInFirst: ms.prepend != .never))
            default: throw unsupported(at, o)
            }
        }
        decoder = TokenDecoderChain(steps: chain)
        bosID = try TokenizerJSON.bosFromTemplate(root["post_processor"], added: m.added, vocab: m.vocab, file: file)
        eosIDs = Set(m.added.filter { $0.special && TokenizerJSON.knownEOS.contains($0.content) }.map(\.id))
    }

    /// tokenizers' Metaspace settings: `replacement` (one character), `prepend_scheme` (or the older
    /// `add_prefix_space`: true is "always"), `split` (default true).
    static func metaspace(_ o: [String: Any], at: String, file: String) throws(ModelFileError) -> Metaspace {
        guard let r = o["replacement"] as? String, r.unicodeScalars.count == 1 else {
            throw TokenizerJSON.bad(file, "\(at).replacement", "expected one character")
        }
        let scheme: PrependScheme
        if let s = o["prepend_scheme"] as? String {
            guard let p = PrependScheme(rawValue: s) else { throw TokenizerJSON.unsupported(file, "\(at).prepend_scheme", s) }
            scheme = p
        } else {
            scheme = ((o["add_prefix_space"] as? Bool) ?? true) ? .always : .never
        }
        return Metaspace(replacement: Array(r.utf8), prepend: scheme, split: (o["split"] as? Bool) ?? true)
    }
}
