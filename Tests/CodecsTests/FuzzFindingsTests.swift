import Codecs
import H5Model
import XCTest

/// Regressions for what the fuzz targets found (docs/fuzzing.md), one test per finding,
/// each in the smallest form that failed.
final class FuzzFindingsTests: XCTestCase {
    /// pipeline target: encoding with bitshuffle client values whose element size times block
    /// elements overflows Int trapped ("arithmetic overflow" in BitshuffleCodec.encode). The
    /// write path encodes with a typed dataset's own pipeline, which comes from the file.
    func testBitshuffleEncodeWithOverflowingBlockIsAnError() {
        let huge = FilterSpec(id: 32008, name: "bitshuffle", flags: 1,
                              clientData: [0, 4, 0xFFFF_FFFF, 0xFFFF_FFF8, 0])
        for data in [[UInt8](), [UInt8](repeating: 1, count: 0)] {
            XCTAssertCodecError(try encode(data, [huge], elementSize: 1), containing: "too large")
        }
        var withLZ4 = huge
        withLZ4.clientData[4] = 2
        XCTAssertCodecError(try encode([], [withLZ4], elementSize: 1), containing: "too large")
        // A block just inside the LZ4 limit still encodes.
        let fine = FilterSpec(id: 32008, name: "bitshuffle", flags: 1, clientData: [0, 4, 4, 1 << 20, 2])
        XCTAssertNoThrow(try encode(sampleData(elements: 64, elementSize: 4), [fine], elementSize: 4))
    }
}
