/// The chunk engine's one error type. The message names the dataset path and, where one is
/// involved, the chunk (tile) coordinates; H5FS turns it into EIO plus a log line.
package struct ChunkReadError: Error, Sendable, CustomStringConvertible {
    package var message: String
    package init(_ message: String) { self.message = message }
    package var description: String { message }
}
