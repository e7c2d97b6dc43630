/// The one error type of Codecs: a chunk that cannot be decoded (corrupt, truncated, wrong size,
/// checksum mismatch) or a filter or option this module does not implement.
package struct CodecError: Error, Sendable, CustomStringConvertible {
    package var message: String
    package init(_ message: String) { self.message = message }
    package var description: String { message }
}
