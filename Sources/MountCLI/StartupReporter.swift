import Glibc

/// How the daemon tells the waiting parent that the mount is ready or why it
/// is not: one line on a pipe, "0" or "STATUS MESSAGE". In the foreground
/// there is no pipe and failures go straight to stderr.
struct StartupReporter {
    let pipe: Int32?

    enum Outcome: Equatable {
        case ready
        case failed(CLIError)
    }

    func fail(_ error: CLIError) -> ExitStatus {
        if let pipe {
            send("\(error.status.rawValue) \(error.message)\n", to: pipe)
        } else {
            printError(error.message)
        }
        return error.status
    }

    func ready() {
        guard let pipe else { return }
        send("0\n", to: pipe)
        close(pipe)
    }

    private func send(_ line: String, to fd: Int32) {
        let bytes = Array(line.utf8)
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return }
            sent += count
        }
    }

    /// Reads the daemon's line; EOF without one means it died on the way.
    static func awaitOutcome(from fd: Int32) -> Outcome {
        var bytes: [UInt8] = []
        var byte: UInt8 = 0
        while bytes.last != UInt8(ascii: "\n") {
            let count = read(fd, &byte, 1)
            if count < 0 && errno == EINTR { continue }
            guard count == 1 else { break }
            bytes.append(byte)
        }
        return parseOutcome(String(decoding: bytes, as: UTF8.self))
    }

    static func parseOutcome(_ line: String) -> Outcome {
        let trimmed = line.hasSuffix("\n") ? String(line.dropLast()) : line
        let parts = trimmed.split(separator: " ", maxSplits: 1)
        guard let code = parts.first.flatMap({ Int32($0) }) else {
            return .failed(CLIError(.runtime, "h5mount: the daemon exited before the mount was ready"))
        }
        if code == 0 { return .ready }
        let status = ExitStatus(rawValue: code) ?? .runtime
        return .failed(CLIError(status, parts.count > 1 ? String(parts[1]) : "h5mount: mount failed"))
    }
}
