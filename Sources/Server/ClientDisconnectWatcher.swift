// Learns that a client went away while its request waits or runs: the connection's input closing (Hummingbird
// allows remote half-closure, so a client's close arrives as `inputClosed`, not as the channel closing) or the channel
// going inactive. A handler registers what to do then (cancel its job).
import NIOConcurrencyHelpers
import NIOCore

/// One per connection, in the channel pipeline after HTTP decoding (HTTP1Channel's additional handlers). Passes
/// everything through; only watches. A client that half-closes its side after sending a request counts as gone (as
/// Hummingbird's own inbound-close handling has it): HTTP clients keep their side open while they wait.
final class ClientDisconnectWatcher: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = Never

    private struct State {
        var gone = false
        var next = 0
        var actions: [Int: @Sendable () -> Void] = [:]
    }
    private let state = NIOLockedValueBox(State())

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed { clientLeft() }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        clientLeft()
        context.fireChannelInactive()
    }

    private func clientLeft() {
        let actions = state.withLockedValue { s -> [@Sendable () -> Void] in
            s.gone = true
            defer { s.actions.removeAll() }
            return Array(s.actions.values)
        }
        for action in actions { action() }
    }

    /// Runs `action` when the client leaves (now, if it has). Returns a token for `forget`.
    func whenClientLeaves(_ action: @escaping @Sendable () -> Void) -> Int {
        let (token, goneAlready) = state.withLockedValue { s -> (Int, Bool) in
            if s.gone { return (-1, true) }
            s.next += 1
            s.actions[s.next] = action
            return (s.next, false)
        }
        if goneAlready { action() }
        return token
    }

    /// The request is over: its action is dropped (a keep-alive connection does not collect them).
    func forget(_ token: Int) {
        _ = state.withLockedValue { $0.actions.removeValue(forKey: token) }
    }
}
