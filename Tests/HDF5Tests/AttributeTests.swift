import H5Model
import HDF5
import TestSupport
import XCTest

/// Attributes as JSON: types.h5 /attrs (a group) and /attrs/dataset carry the same set.
final class AttributeTests: XCTestCase {
    private var container: HDF5Container!

    override func setUpWithError() throws {
        container = try openCorpus("types.h5")
    }

    override func tearDown() {
        container = nil
    }

    private let expected: [Attribute] = [
        Attribute(name: "bool", value: .bool(true)),
        Attribute(name: "compound", value: .object([("n", .int(7)), ("v", .double(1.5))])),
        Attribute(name: "empty", value: .null),
        Attribute(name: "enum", value: .int(42)),
        Attribute(name: "fixed_ascii", value: .string("fixed")),
        Attribute(name: "float", value: .double(0.25)),
        Attribute(name: "floats_2d", value: .array([.array([.double(1), .double(2)]),
                                                   .array([.double(3), .double(4.5)])])),
        Attribute(name: "inf", value: .double(.infinity)),
        Attribute(name: "int", value: .int(-5)),
        Attribute(name: "int64_min", value: .int(Int64.min)),
        Attribute(name: "ints_1d", value: .array([.int(1), .int(2), .int(3)])),
        Attribute(name: "nan", value: .double(.nan)),
        Attribute(name: "neg_inf", value: .double(-.infinity)),
        Attribute(name: "opaque", value: .string("0102fe")),
        Attribute(name: "ref", value: .string("/numeric/int32_le")),
        Attribute(name: "strings", value: .array([.string("a"), .string("bc")])),
        Attribute(name: "uint64_max", value: .uint(UInt64.max)),
        Attribute(name: "vlen_seq", value: .array([.array([.int(1), .int(2)]), .array([.int(3)])])),
        Attribute(name: "vlen_utf8", value: .string("héllo")),
        Attribute(name: "zero_length", value: .array([])),
    ]

    func testGroupAttributes() throws {
        XCTAssertEqual(try container.attributes(of: .p("/attrs")), expected)
        XCTAssertEqual(try container.object(at: .p("/attrs")).attributeCount, expected.count)
        XCTAssertEqual(container.openObjectCount(), 0)
    }

    func testDatasetAttributes() throws {
        XCTAssertEqual(try container.attributes(of: .p("/attrs/dataset")), expected)
    }

    func testRootAndPlainObjects() throws {
        XCTAssertEqual(try container.attributes(of: .root), [Attribute(name: "root_attr", value: .string("on the root"))])
        XCTAssertEqual(try container.attributes(of: .p("/numeric")), [])
        XCTAssertEqual(try container.attributes(of: .p("/shadow/x")), [Attribute(name: "unit", value: .string("m"))])
        let bytes = try openCorpus("bytes.h5")
        XCTAssertEqual(try bytes.attributes(of: .p("/with_attrs")), [
            Attribute(name: "note", value: .string("bytes with attributes")),
            Attribute(name: "version", value: .int(3)),
        ])
    }

    func testMissingObject() {
        assertStoreError(.notFound) { try self.container.attributes(of: .p("/nope")) }
        XCTAssertEqual(container.openObjectCount(), 0)
    }
}
