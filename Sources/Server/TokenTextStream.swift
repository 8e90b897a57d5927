// Token ids to streamed text: whole UTF-8 characters only, stop sequences held back and cut, as `generate` prints.
import Scheduler
import Tokenizers

/// Feeds generated ids one at a time; returns the text each makes safe to send. The concatenation of every piece and
/// `finish()` equals `npu-llama generate`'s output for the same ids and stop sequences.
struct TokenTextStream {
    private var decoder: StreamingDecoder
    private var filter: StopSequenceFilter

    init(tokenizer: any Tokenizer, stopSequences: [String]) {
        decoder = StreamingDecoder(tokenizer: tokenizer)
        filter = StopSequenceFilter(stopSequences)
    }

    /// The text `id` completes, and whether a stop sequence is now complete (its text and what follows withheld).
    /// An id the tokenizer does not know (a padded vocabulary's extra rows) adds no text.
    mutating func feed(_ id: Int) -> (text: String, stopped: Bool) {
        let piece = (try? decoder.append(id)) ?? ""
        let (text, stopped) = filter.feed(piece)
        return (text, stopped)
    }

    var stopped: Bool { filter.stopped }

    /// What was held back at the end: a possible stop sequence's beginning, and an unfinished character as U+FFFD.
    mutating func finish() -> String {
        guard !filter.stopped else { return "" }
        let (tail, _) = filter.feed(decoder.finish())
        return tail + filter.flush()
    }
}
