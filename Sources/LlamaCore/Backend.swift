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
    /// Runs `tokens` at positions start..<start+count over a cache holding 0..<start and returns
    /// logits: (1, vocab) for `.last`, (count, vocab) for `.all`.
    func step(tokens: [Int], start: Int, logitRows: LogitRows, observer: NodeObserver?) throws -> [Float]
}
