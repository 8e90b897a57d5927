// A progress bar on a TTY (stderr), plain lines otherwise, silent with --quiet.
import Foundation

final class Progress {
    private let title: String
    private let isTTY: Bool
    private var lastPercent = -1

    init?(_ title: String, quiet: Bool) {
        if quiet { return nil }
        self.title = title
        self.isTTY = isatty(STDERR_FILENO) != 0
    }

    func update(_ done: Int, _ total: Int) {
        let percent = total > 0 ? done * 100 / total : 100
        guard percent != lastPercent else { return }
        lastPercent = percent
        if isTTY {
            let width = 30
            let filled = width * percent / 100
            let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
            FileHandle.standardError.write(Data("\r\(title) \(bar) \(percent)% (\(done)/\(total))".utf8))
        } else if percent % 25 == 0 {
            FileHandle.standardError.write(Data("\(title): \(percent)% (\(done)/\(total))\n".utf8))
        }
    }

    func finish() {
        if isTTY { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}

func note(_ text: String, quiet: Bool) {
    if !quiet { FileHandle.standardError.write(Data((text + "\n").utf8)) }
}
