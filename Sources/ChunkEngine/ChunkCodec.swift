import H5Model

/// A decoding failure, as the codec words it (the engine adds dataset and chunk).
package struct ChunkCodecError: Error, Sendable, CustomStringConvertible {
    package var message: String
    package init(_ message: String) { self.message = message }
    package var description: String { message }
}

/// Turns one stored chunk into its decoded bytes. The engine's default is the Codecs
/// filter pipeline; tests inject their own to count decodes or to fail on purpose.
package protocol ChunkCodec: Sendable {
    /// Whether every filter of the pipeline can be decoded natively.
    func canDecode(_ filters: [FilterSpec]) -> Bool
    /// Decodes `chunk` (filters applied in pipeline order, skipped where `filterMask` has the
    /// filter's bit set) into `output`, which holds exactly the decoded chunk's size.
    /// Must throw unless it filled all of `output`.
    func decode(_ chunk: UnsafeRawBufferPointer, filters: [FilterSpec], filterMask: UInt32,
                elementSize: Int, into output: UnsafeMutableRawBufferPointer) throws(ChunkCodecError)
}

extension FilterSpec {
    /// The filters of a pipeline that a chunk with `mask` actually went through.
    static func applied(_ filters: [FilterSpec], mask: UInt32) -> [FilterSpec] {
        filters.enumerated().compactMap { index, filter in
            index < 32 && mask & (1 << UInt32(index)) != 0 ? nil : filter
        }
    }
}
