import Glibc

/// Where the daemon's messages go: stderr in the foreground, syslog as a
/// daemon (its stderr is /dev/null). Shared by every session thread.
package final class Log: Sendable {
    package enum Destination: Sendable { case standardError, syslog }

    /// Log every request and its outcome (`h5mount -d`).
    package let debugEnabled: Bool
    private let destination: Destination

    package init(destination: Destination, debug: Bool) {
        self.destination = destination
        self.debugEnabled = debug
        if destination == .syslog { Self.openSyslog() }
    }

    package func error(_ message: String) { write(LOG_ERR, message) }
    package func warning(_ message: String) { write(LOG_WARNING, message) }
    package func info(_ message: String) { write(LOG_INFO, message) }
    /// The message is built only when debug output is on (it runs per request).
    package func debug(_ message: @autoclosure () -> String) {
        if debugEnabled { write(LOG_DEBUG, message()) }
    }

    private func write(_ priority: Int32, _ message: String) {
        switch destination {
        case .standardError:
            // One write(2) per line, so lines from concurrent session
            // threads never interleave.
            let line = Array("h5mount: \(message)\n".utf8)
            _ = line.withUnsafeBytes { Glibc.write(STDERR_FILENO, $0.baseAddress, $0.count) }
        case .syslog:
            message.withCString { text in
                withVaList([text]) { vsyslog(priority, "%s", $0) }
            }
        }
    }

    private static func openSyslog() {
        // openlog keeps the ident pointer: a static string lives for the whole process.
        let ident: StaticString = "h5mount"
        ident.withUTF8Buffer { buffer in
            buffer.baseAddress.map { openlog(UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self), LOG_PID, LOG_DAEMON) }
        }
    }
}
