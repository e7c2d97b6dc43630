import H5Model
import HDF5
import TestSupport
import XCTest

/// `dataset(at:).type` for every datatype of types.h5 (integration/corpus.py).
final class DatatypeTests: XCTestCase {
    private var container: HDF5Container!

    override func setUpWithError() throws {
        container = try openCorpus("types.h5")
    }

    override func tearDown() {
        container = nil
    }

    private func type(_ path: String) throws -> DataType {
        try container.dataset(at: .p(path)).type
    }

    func testIntegersOfEverySizeAndOrder() throws {
        XCTAssertEqual(try type("/numeric/int8"), .integer(size: 1, signed: true, order: .little))
        XCTAssertEqual(try type("/numeric/uint8"), .integer(size: 1, signed: false, order: .little))
        for bits in [16, 32, 64] {
            for (suffix, order) in [("le", ByteOrder.little), ("be", .big)] {
                XCTAssertEqual(try type("/numeric/int\(bits)_\(suffix)"),
                               .integer(size: bits / 8, signed: true, order: order))
                XCTAssertEqual(try type("/numeric/uint\(bits)_\(suffix)"),
                               .integer(size: bits / 8, signed: false, order: order))
            }
        }
    }

    func testFloatsOfEverySizeAndOrder() throws {
        for size in [2, 4, 8] {
            XCTAssertEqual(try type("/numeric/float\(size * 8)_le"), .float(size: size, order: .little))
            XCTAssertEqual(try type("/numeric/float\(size * 8)_be"), .float(size: size, order: .big))
        }
    }

    func testNestedCompoundKeepsOffsetsAndPadding() throws {
        let inner = DataType.compound(size: 12, members: [
            CompoundMember(name: "x", offset: 0, type: .integer(size: 1, signed: false, order: .little)),
            CompoundMember(name: "y", offset: 4, type: .integer(size: 4, signed: true, order: .little)),
        ])
        XCTAssertEqual(try type("/compound/nested"), .compound(size: 64, members: [
            CompoundMember(name: "a", offset: 0, type: .integer(size: 2, signed: true, order: .little)),
            CompoundMember(name: "b", offset: 4, type: .float(size: 8, order: .big)),
            CompoundMember(name: "inner", offset: 16, type: inner),
            CompoundMember(name: "arr", offset: 28,
                           type: .array(base: .integer(size: 4, signed: true, order: .little), dims: [2, 3])),
        ]))
        XCTAssertEqual(try type("/compound/packed"), .compound(size: 12, members: [
            CompoundMember(name: "x", offset: 0, type: .float(size: 4, order: .little)),
            CompoundMember(name: "y", offset: 4, type: .integer(size: 8, signed: true, order: .little)),
        ]))
    }

    func testCompoundWithVariableStringHasNoRawForm() throws {
        guard case .compound(_, let members) = try type("/compound/with_vlen_string") else {
            return XCTFail("not a compound")
        }
        XCTAssertEqual(members.map(\.name), ["id", "name"])
        XCTAssertEqual(members.last?.type, .variableString(charset: .utf8))
        XCTAssertEqual(try type("/compound/with_vlen_string").rendering(rank: 1), .jsonLines)
    }

    func testEnumerations() throws {
        guard case .enumeration(let base, let members) = try type("/enum/int8") else { return XCTFail("not an enum") }
        XCTAssertEqual(base, .integer(size: 1, signed: true, order: .little))
        XCTAssertEqual(Set(members), [EnumMember(name: "RED", value: 0), EnumMember(name: "GREEN", value: 1),
                                      EnumMember(name: "BLUE", value: 42)])
        guard case .enumeration(let bigBase, let bigMembers) = try type("/enum/uint32_be") else {
            return XCTFail("not an enum")
        }
        XCTAssertEqual(bigBase, .integer(size: 4, signed: false, order: .big))
        XCTAssertEqual(Set(bigMembers), [EnumMember(name: "LOW", value: 1), EnumMember(name: "HIGH", value: 70000)])
        guard case .enumeration(_, let boolMembers) = try type("/enum/bool") else { return XCTFail("not an enum") }
        XCTAssertEqual(Set(boolMembers), [EnumMember(name: "FALSE", value: 0), EnumMember(name: "TRUE", value: 1)])
    }

    func testArraysBitfieldsOpaque() throws {
        XCTAssertEqual(try type("/array/f4x3"), .array(base: .float(size: 4, order: .little), dims: [3]))
        XCTAssertEqual(try type("/array/i2x2x3"),
                       .array(base: .integer(size: 2, signed: true, order: .little), dims: [2, 3]))
        XCTAssertEqual(try type("/bitfield/b8"), .bitfield(size: 1, order: .little))
        XCTAssertEqual(try type("/bitfield/b16"), .bitfield(size: 2, order: .little))
        XCTAssertEqual(try type("/opaque/v8"), .opaque(size: 8, tag: ""))
        XCTAssertEqual(try type("/opaque/tagged"), .opaque(size: 4, tag: "h5mount tag"))
    }

    func testStrings() throws {
        XCTAssertEqual(try type("/strings/fixed_ascii"), .fixedString(size: 10, padding: .nullPadded, charset: .ascii))
        XCTAssertEqual(try type("/strings/fixed_utf8"), .fixedString(size: 12, padding: .nullPadded, charset: .utf8))
        XCTAssertEqual(try type("/strings/fixed_spacepad"),
                       .fixedString(size: 8, padding: .spacePadded, charset: .ascii))
        XCTAssertEqual(try type("/strings/fixed_nullterm"),
                       .fixedString(size: 6, padding: .nullTerminated, charset: .ascii))
        XCTAssertEqual(try type("/strings/vlen_ascii_scalar"), .variableString(charset: .ascii))
        XCTAssertEqual(try type("/strings/vlen_utf8_2d"), .variableString(charset: .utf8))
    }

    func testSequencesAndReferences() throws {
        XCTAssertEqual(try type("/vlen/int32"), .variableSequence(base: .integer(size: 4, signed: true, order: .little)))
        XCTAssertEqual(try type("/vlen/float64"), .variableSequence(base: .float(size: 8, order: .little)))
        XCTAssertEqual(try type("/refs/object"), .reference(.object))
        XCTAssertEqual(try type("/refs/region"), .reference(.region))
    }

    func testShapes() throws {
        let scalar = try container.dataset(at: .p("/shapes/scalar_f8"))
        XCTAssertEqual(scalar.shape, [])
        XCTAssertEqual(scalar.maxShape, [])
        XCTAssertEqual(try container.dataset(at: .p("/shapes/empty_1d")).shape, [0])
        XCTAssertEqual(try container.dataset(at: .p("/shapes/empty_2d")).shape, [3, 0])
        let null = try container.dataset(at: .p("/shapes/null"))
        XCTAssertNil(null.shape)
        XCTAssertNil(null.maxShape)
        XCTAssertEqual(null.type, .float(size: 4, order: .little))
        let grow = try container.dataset(at: .p("/layouts/chunked_unlimited"))
        XCTAssertEqual(grow.shape, [3, 4])
        XCTAssertEqual(grow.maxShape, [nil, 4])
        XCTAssertEqual(try container.dataset(at: .p("/array/f4x3")).shape, [5])
    }

    func testNotADatasetAndMissing() {
        assertStoreError(.invalidArgument) { try self.container.dataset(at: .p("/numeric")) }
        assertStoreError(.notFound) { try self.container.dataset(at: .p("/numeric/nope")) }
        assertStoreError(.notFound) { try self.container.dataset(at: .p("/nope/deeper")) }
        XCTAssertEqual(container.openObjectCount(), 0)
    }
}
