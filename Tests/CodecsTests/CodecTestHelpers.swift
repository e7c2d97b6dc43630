import Codecs
import H5Model
import XCTest

/// Decodes `chunk` into a fresh buffer of `size` bytes.
func decode(_ chunk: [UInt8], _ filters: [FilterSpec], mask: UInt32 = 0, elementSize: Int,
            size: Int, workspace: CodecWorkspace? = nil) throws -> [UInt8] {
    var output = [UInt8](repeating: 0xEE, count: size)
    try chunk.withUnsafeBytes { input in
        try output.withUnsafeMutableBytes { out in
            if let workspace {
                try FilterPipeline.decode(input, filters: filters, filterMask: mask, elementSize: elementSize,
                                          into: out, workspace: workspace)
            } else {
                try FilterPipeline.decode(input, filters: filters, filterMask: mask, elementSize: elementSize, into: out)
            }
        }
    }
    return output
}

func encode(_ data: [UInt8], _ filters: [FilterSpec], elementSize: Int) throws -> [UInt8] {
    try data.withUnsafeBytes { try FilterPipeline.encode($0, filters: filters, elementSize: elementSize) }
}

/// Filter specs as libhdf5 reports them for datasets made by h5py / hdf5plugin.
enum Spec {
    static func deflate(_ level: UInt32 = 6) -> FilterSpec { FilterSpec(id: 1, name: "deflate", flags: 1, clientData: [level]) }
    static func shuffle(_ size: UInt32) -> FilterSpec { FilterSpec(id: 2, name: "shuffle", flags: 1, clientData: [size]) }
    static let fletcher32 = FilterSpec(id: 3, name: "fletcher32", flags: 0, clientData: [])
    static func lz4(blockSize: UInt32 = 0) -> FilterSpec { FilterSpec(id: 32004, name: "lz4", flags: 1, clientData: [blockSize]) }
    static func bitshuffle(_ size: UInt32, block: UInt32 = 0, compression: UInt32 = 2) -> FilterSpec {
        FilterSpec(id: 32008, name: "bitshuffle", flags: 1, clientData: [0, 4, size, block, compression])
    }
}

/// Deterministic test data: small Poisson-like counts in `elementSize`-byte little-endian
/// elements, so that compressors have something to find.
func sampleData(elements: Int, elementSize: Int, seed: UInt64 = 1) -> [UInt8] {
    var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
    var bytes = [UInt8]()
    bytes.reserveCapacity(elements * elementSize)
    for _ in 0..<elements {
        state ^= state << 13; state ^= state >> 7; state ^= state << 17
        // Mostly small values with an occasional large one.
        let value = state % 16 == 0 ? state >> 20 : (state >> 40) % 4
        for byte in 0..<elementSize { bytes.append(UInt8(truncatingIfNeeded: value >> (8 * UInt64(byte)))) }
    }
    return bytes
}

/// Bytes that do not compress.
func noise(_ count: Int, seed: UInt64 = 7) -> [UInt8] {
    var state = seed &* 0x2545_F491_4F6C_DD1D | 1
    return (0..<count).map { _ in
        state ^= state << 13; state ^= state >> 7; state ^= state << 17
        return UInt8(truncatingIfNeeded: state >> 24)
    }
}

func XCTAssertCodecError(_ expression: @autoclosure () throws -> some Any, containing text: String,
                         file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertThrowsError(try expression(), file: file, line: line) { error in
        guard let codecError = error as? CodecError else {
            return XCTFail("expected CodecError, got \(error)", file: file, line: line)
        }
        XCTAssertTrue(codecError.message.contains(text), "\"\(codecError.message)\" lacks \"\(text)\"",
                      file: file, line: line)
    }
}
