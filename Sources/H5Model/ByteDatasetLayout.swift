/// How the write path stores one regular file: a 1-D uint8 chunked dataset (DESIGN.md §2).
///
/// The choices keep small files small and big files appendable:
/// - a file no bigger than the preferred chunk size is one chunk of exactly its size with a
///   fixed maximum shape, which libhdf5 (1.10 format) indexes with the single-chunk index:
///   no index structure at all, the chunk's address lives in the layout message;
/// - a bigger file uses chunks of the preferred size and an unlimited maximum shape
///   (extensible-array index), so it can grow in place later;
/// - an empty file has shape (0,), chunk (1,) and an unlimited maximum shape (a fixed
///   maximum of 0 cannot hold a chunk of 1), with nothing allocated.
/// Every chunk decodes to the full chunk size: the last chunk of a file is padded with zeros
/// before encoding, as libhdf5 expects for a partial edge chunk.
package struct ByteDatasetLayout: Sendable, Hashable {
    /// The file's size in bytes: the dataset's shape.
    package var logicalSize: UInt64
    /// Bytes per chunk (the decoded size of every chunk).
    package var chunkSize: Int
    /// Whether the maximum shape is unlimited.
    package var extendable: Bool
    package var compression: Compression

    /// The dataset's type (uint8, little-endian: what the writer creates) and shape, as a
    /// reader describes it.
    package var summary: DatasetSummary {
        DatasetSummary(type: .integer(size: 1, signed: false, order: .little), shape: [logicalSize])
    }

    /// Chunk sizes this layout accepts: libhdf5 limits a chunk to 4 GiB - 1; LZ4 framing to 2 GiB.
    package static let chunkSizeLimit = Int(Int32.max)

    /// The layout for a file of `logicalSize` bytes with `-o chunk_size=preferredChunkSize`.
    /// `preferredChunkSize` is clamped to `1 ... chunkSizeLimit`.
    package init(logicalSize: UInt64, preferredChunkSize: Int, compression: Compression) {
        let preferred = min(max(preferredChunkSize, 1), Self.chunkSizeLimit)
        self.logicalSize = logicalSize
        self.compression = compression
        if logicalSize == 0 {
            chunkSize = 1
            extendable = true
        } else if logicalSize <= UInt64(preferred) {
            chunkSize = Int(logicalSize)
            extendable = false
        } else {
            chunkSize = preferred
            extendable = true
        }
    }

    /// A layout given field by field (a dataset found in a file, or a test).
    package init(logicalSize: UInt64, chunkSize: Int, extendable: Bool, compression: Compression) {
        self.logicalSize = logicalSize
        self.chunkSize = chunkSize
        self.extendable = extendable
        self.compression = compression
    }

    /// Number of chunks that hold the file's bytes.
    package var chunkCount: Int {
        guard chunkSize > 0 else { return 0 }
        return Int((logicalSize + UInt64(chunkSize) - 1) / UInt64(chunkSize))
    }

    /// The file bytes chunk `index` holds (shorter than `chunkSize` for a partial last chunk).
    package func byteRange(ofChunk index: Int) -> Range<UInt64> {
        let start = UInt64(index) * UInt64(chunkSize)
        return start ..< min(start + UInt64(chunkSize), logicalSize)
    }
}

/// One chunk ready for direct chunk write: its index along the dataset (origin = index *
/// chunk size) and its bytes after the whole filter pipeline (filter mask 0).
package struct EncodedChunk: Sendable, Hashable {
    package var index: Int
    package var bytes: [UInt8]
    package init(index: Int, bytes: [UInt8]) { self.index = index; self.bytes = bytes }
}
