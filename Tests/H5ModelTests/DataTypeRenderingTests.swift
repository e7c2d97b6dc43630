import XCTest
@testable import H5Model

final class DataTypeRenderingTests: XCTestCase {
    func testScalarDescriptors() {
        XCTAssertEqual(DataType.integer(size: 2, signed: false, order: .little).numpyDescriptor, .string("<u2"))
        XCTAssertEqual(DataType.integer(size: 8, signed: true, order: .big).numpyDescriptor, .string(">i8"))
        XCTAssertEqual(DataType.integer(size: 1, signed: true, order: .little).numpyDescriptor, .string("|i1"))
        XCTAssertEqual(DataType.float(size: 2, order: .little).numpyDescriptor, .string("<f2"))
        XCTAssertEqual(DataType.bitfield(size: 4, order: .big).numpyDescriptor, .string(">u4"))
        XCTAssertEqual(DataType.opaque(size: 8, tag: "t").numpyDescriptor, .string("|V8"))
        XCTAssertEqual(DataType.fixedString(size: 5, padding: .nullPadded, charset: .ascii).numpyDescriptor, .string("|S5"))
        XCTAssertNil(DataType.variableString(charset: .utf8).numpyDescriptor)
        XCTAssertNil(DataType.reference(.object).numpyDescriptor)
    }

    func testCompoundUsesDictFormWithStoredOffsets() {
        let inner = DataType.compound(size: 2, members: [CompoundMember(name: "x", offset: 0, type: .integer(size: 2, signed: false, order: .little))])
        let type = DataType.compound(size: 40, members: [
            CompoundMember(name: "a", offset: 0, type: .integer(size: 4, signed: true, order: .little)),
            CompoundMember(name: "b", offset: 8, type: .array(base: .float(size: 8, order: .big), dims: [3])),
            CompoundMember(name: "c", offset: 32, type: inner),
        ])
        XCTAssertEqual(type.numpyDescriptor?.compactText,
                       #"{"names":["a","b","c"],"formats":["<i4","(3,)>f8",{"names":["x"],"formats":["<u2"],"offsets":[0],"itemsize":2}],"offsets":[0,8,32],"itemsize":40}"#)
        XCTAssertEqual(type.rendering(rank: 1), .rawArray)
        XCTAssertEqual(type.fixedSize, 40)
    }

    func testCompoundWithVariableStringIsJSONLines() {
        let type = DataType.compound(size: 24, members: [
            CompoundMember(name: "s", offset: 0, type: .variableString(charset: .utf8)),
        ])
        XCTAssertEqual(type.rendering(rank: 1), .jsonLines)
    }

    func testRenderingRules() {
        let u8 = DataType.integer(size: 1, signed: false, order: .notApplicable)
        XCTAssertEqual(u8.rendering(rank: 1), .bytes)
        XCTAssertEqual(u8.rendering(rank: 0), .bytes)
        XCTAssertEqual(u8.rendering(rank: nil), .bytes)
        XCTAssertEqual(u8.rendering(rank: 2), .rawArray)
        let enumU8 = DataType.enumeration(base: u8, members: [EnumMember(name: "A", value: 0)])
        XCTAssertEqual(enumU8.rendering(rank: 1), .rawArray)
        XCTAssertEqual(DataType.opaque(size: 16, tag: "").rendering(rank: 1), .bytes)
        XCTAssertEqual(DataType.variableString(charset: .ascii).rendering(rank: 2), .text)
        XCTAssertEqual(DataType.variableSequence(base: u8).rendering(rank: 1), .jsonLines)
    }

    func testTopLevelArrayTypeFlattens() {
        let type = DataType.array(base: .array(base: .float(size: 4, order: .little), dims: [2]), dims: [3])
        let flat = type.flattenedForRawArray
        XCTAssertEqual(flat.element, .float(size: 4, order: .little))
        XCTAssertEqual(flat.extraDims, [3, 2])
        XCTAssertEqual(type.fixedSize, 24)
    }
}
