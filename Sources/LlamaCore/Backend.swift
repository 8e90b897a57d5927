// The Backend protocol: what the scheduler needs from anything that runs the graph.

/// Which rows of `result_output` a step computes: the last (generation) or every row (verify).
public enum LogitRows: Sendable { case last, all }

/// Called after each node with its output (rows × node.width, row-major) and the row count.
public typealias NodeObserver = (_ node: Node, _ output: UnsafeBufferPointer<Float>, _ rows: Int) -> Void

/// Runs the model graph over its own KV cache. Backends implement ops; the graph is the model.
public protocol Backend: AnyObject {
    var graph: Graph { get }
    /// KV cache capacity in positions.
    var contextLength: Int { get }
    /// Most tokens one step takes; the scheduler runs longer prompts in chunks of this size.
    var maxBatch: Int { get }
    /// What produced the figures: "CPU reference", "emulated NPU" or "NPU hardware".
    var label: String { get }
    /// The precision this backend computes `node` in (its activations, or its weights when those
    /// are quantized): keys the tolerance table.
    func dtype(of node: Node) -> DType
    /// nil when the backend can run `node`; otherwise why not. Checked for every node before a
    /// model runs: production placement is all-NPU, so an unsupported node is an error, never a
    /// fallback.
    func unsupportedReason(_ node: Node) -> String?
    /// Runs `tokens` at positions start..<start+count over a cache holding 0..<start and returns
    /// logits: (1, vocab) for `.last`, (count, vocab) for `.all`.
    func step(tokens: [Int], start: Int, logitRows: LogitRows, observer: NodeObserver?) throws -> [Float]
    /// One greedy decode step: runs `token` at `position` and returns the argmax of its logits.
    /// A backend that computes the argmax on its device brings back one id instead of the logits.
    func nextTokenGreedy(after token: Int, position: Int) throws -> Int
}

extension Backend {
    public func nextTokenGreedy(after token: Int, position: Int) throws -> Int {
        Sampler.argmax(try step(tokens: [token], start: position, logitRows: .last, observer: nil))
    }

    /// Plan-time placement check: throws naming the first node this backend cannot run.
    public func checkPlacement() throws {
        for node in graph.nodes {
            if let reason = unsupportedReason(node) { throw StepError.unsupportedNode(name: node.name, reason: reason) }
        }
    }
}
