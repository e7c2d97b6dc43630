/// Reads a harness's parameters off the front of a fuzz input, in the manner of LLVM's
/// FuzzedDataProvider: every read succeeds (bytes past the end read as zero), so any input
/// is a valid one, mutations of the first bytes explore parameters, and the rest is payload.
/// Each harness documents its layout; fuzz/make_corpus.py writes seeds in the same layouts.
struct FuzzInput {
    private let bytes: UnsafeRawBufferPointer
    private(set) var offset = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    mutating func uint8() -> UInt8 {
        guard offset < bytes.count else { return 0 }
        defer { offset += 1 }
        return bytes[offset]
    }

    /// Little-endian.
    mutating func uint32() -> UInt32 {
        var value: UInt32 = 0
        for shift in stride(from: 0, to: 32, by: 8) { value |= UInt32(uint8()) << UInt32(shift) }
        return value
    }

    /// Whatever follows the parameters.
    var rest: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: bytes[min(offset, bytes.count)...])
    }
}
