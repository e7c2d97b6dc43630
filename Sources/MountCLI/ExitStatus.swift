import Glibc

/// h5mount's exit codes: distinct, so scripts can tell failures apart.
package enum ExitStatus: Int32, Sendable {
    case success = 0
    /// Anything at run time that is not one of the below.
    case runtime = 1
    /// Bad command line or `-o` option.
    case usage = 2
    /// The container exists but is not an HDF5 file.
    case notHDF5 = 3
    /// The container is missing or unreadable.
    case containerUnavailable = 4
    /// The mount point is missing, not a directory, already mounted, or not a mount point (`-u`).
    case mountPoint = 5
    /// FUSE itself is missing or refused the mount.
    case fuseUnavailable = 6
    /// The commit at unmount (or `--recover`) failed: the changes are kept in the
    /// work directory next to the container, which is as it was.
    case commitFailed = 7
}

/// A failure the CLI reports with one line on stderr and an exit status.
package struct CLIError: Error, Sendable, Equatable, CustomStringConvertible {
    package var status: ExitStatus
    /// The whole line, "h5mount: ..." included.
    package var message: String

    package init(_ status: ExitStatus, _ message: String) {
        self.status = status
        self.message = message
    }

    /// "h5mount: PATH: No such file or directory", as the C library words errno.
    package static func path(_ status: ExitStatus, _ path: String, errno code: Int32, hint: String? = nil) -> CLIError {
        let reason = String(cString: strerror(code))
        return CLIError(status, "h5mount: \(path): \(reason)" + (hint.map { " (\($0))" } ?? ""))
    }

    package var description: String { message }
}

/// Writes one line to stdout (what -u and --recover report; -q silences it).
package func printLine(_ line: String) {
    let bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(STDOUT_FILENO, $0.baseAddress, $0.count) }
}

/// Writes one line to stderr.
package func printError(_ line: String) {
    let bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
}
