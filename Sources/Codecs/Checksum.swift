import CDeflate

/// CRC-32 (the zlib/gzip polynomial) through libdeflate: several GB/s, so the write path's
/// journal can check every chunk it refers to without slowing packing down.
package enum Checksum {
    package static func crc32(_ bytes: UnsafeRawBufferPointer, continuing previous: UInt32 = 0) -> UInt32 {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return previous }
        return libdeflate_crc32(previous, base, bytes.count)
    }

    package static func crc32(_ bytes: [UInt8], continuing previous: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes { crc32($0, continuing: previous) }
    }
}
