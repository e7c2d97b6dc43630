/// A malformed or unsupported on-disk structure met while reading a chunk index natively.
/// Never shown to users: the engine falls back to asking the reader.
struct IndexFormatError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Little-endian fields of bytes read from the file, every access bounds-checked.
struct ByteCursor {
    let bytes: [UInt8]
    var position: Int

    init(_ bytes: [UInt8], at position: Int = 0) {
        self.bytes = bytes
        self.position = position
    }

    var remaining: Int { bytes.count - position }

    mutating func skip(_ count: Int) throws(IndexFormatError) {
        guard count >= 0, count <= remaining else { throw IndexFormatError("truncated structure") }
        position += count
    }

    mutating func byte() throws(IndexFormatError) -> UInt8 {
        guard remaining >= 1 else { throw IndexFormatError("truncated structure") }
        defer { position += 1 }
        return bytes[position]
    }

    /// An unsigned little-endian integer of `size` bytes (1...8).
    mutating func uint(_ size: Int) throws(IndexFormatError) -> UInt64 {
        guard (1...8).contains(size), remaining >= size else { throw IndexFormatError("truncated structure") }
        var value: UInt64 = 0
        for i in stride(from: size - 1, through: 0, by: -1) {
            value = value << 8 | UInt64(bytes[position + i])
        }
        position += size
        return value
    }

    mutating func int(_ size: Int) throws(IndexFormatError) -> Int {
        let value = try uint(size)
        guard value <= UInt64(Int.max) else { throw IndexFormatError("field out of range") }
        return Int(value)
    }

    /// Consumes `signature` (ASCII) or throws.
    mutating func expect(_ signature: String) throws(IndexFormatError) {
        for expected in signature.utf8 where try byte() != expected {
            throw IndexFormatError("missing \(signature) signature")
        }
    }
}

extension OpenFile {
    /// `count` bytes at `offset` (at most 64 MiB: no index structure is bigger).
    func bytes(at offset: UInt64, count: Int) throws(IndexFormatError) -> [UInt8] {
        guard count >= 0, count <= 64 << 20 else { throw IndexFormatError("structure of \(count) bytes") }
        var failure: IndexFormatError?
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            switch read(into: UnsafeMutableRawBufferPointer(buffer), at: offset) {
            case .success(let n) where n == count:
                initialized = n
            case .success:
                initialized = 0
                failure = IndexFormatError("structure at \(offset) runs past the end of the file")
            case .failure(let error):
                initialized = 0
                failure = IndexFormatError("pread at \(offset): \(error.text)")
            }
        }
        if let failure { throw failure }
        return bytes
    }
}
