// The request context: Hummingbird's, plus the connection, so a handler learns when its client goes away.
import Hummingbird
import NIOCore

public struct ServerContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The client's connection; its close future fires when the client disconnects.
    public let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }

    /// The connection's disconnect watcher (InferenceServer puts one in every connection's pipeline).
    func disconnectWatcher() async -> ClientDisconnectWatcher? {
        try? await channel.pipeline.handler(type: ClientDisconnectWatcher.self).get()
    }
}
