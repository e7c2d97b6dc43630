import H5Model
import HDF5
import TestSupport
import XCTest

/// `readStrings` and `readJSONElements` (the same element rules as attributes).
final class ElementTests: XCTestCase {
    private var container: HDF5Container!

    override func setUpWithError() throws {
        container = try openCorpus("types.h5")
    }

    override func tearDown() {
        container = nil
    }

    private func strings(_ path: String) throws -> [String] { try container.readStrings(dataset: .p(path)) }
    private func json(_ path: String) throws -> [JSONValue] { try container.readJSONElements(dataset: .p(path)) }

    func testFixedStringsLoseTheirPadding() throws {
        XCTAssertEqual(try strings("/strings/fixed_ascii"), ["alpha", "be", "gamma-ray!"])
        XCTAssertEqual(try strings("/strings/fixed_ascii_scalar"), ["hello"])
        XCTAssertEqual(try strings("/strings/fixed_utf8"), ["café", "naïve", "x"])
        XCTAssertEqual(try strings("/strings/fixed_spacepad"), ["pad", "two  x", ""])
        XCTAssertEqual(try strings("/strings/fixed_nullterm"), ["abc", "abcde", ""])
    }

    func testVariableStrings() throws {
        XCTAssertEqual(try strings("/strings/vlen_ascii_scalar"), ["just ascii"])
        XCTAssertEqual(try strings("/strings/vlen_utf8_scalar"), ["größe ✓"])
        XCTAssertEqual(try strings("/strings/vlen_utf8"), ["one", "two", "", "drei ✓"])
        XCTAssertEqual(try strings("/strings/vlen_utf8_2d"), ["a", "b", "c", "d", "e", "f"])
        XCTAssertEqual(try strings("/strings/vlen_ascii_badbyte"), ["plain", "bad\u{FFFD}byte"])
        assertStoreError(.invalidArgument) { try self.strings("/numeric/int8") }
        XCTAssertEqual(container.openObjectCount(), 0)
    }

    func testSequencesAndReferences() throws {
        XCTAssertEqual(try json("/vlen/int32"), [.array([.int(1)]), .array([.int(2), .int(3)]), .array([])])
        XCTAssertEqual(try json("/vlen/float64"), [.array([.double(0.5), .double(.nan)]), .array([.double(-1)])])
        XCTAssertEqual(try json("/refs/object"), [.string("/numeric/int32_le"), .string("/compound"), .null])
        XCTAssertEqual(try json("/refs/region"), [.string("/numeric/int32_le")])
    }

    func testCompounds() throws {
        XCTAssertEqual(try json("/compound/with_vlen_string"), [
            .object([("id", .int(1)), ("name", .string("one"))]),
            .object([("id", .int(2)), ("name", .string("zwei"))]),
            .object([("id", .int(3)), ("name", .string("três"))]),
        ])
        let nested = try json("/compound/nested")
        XCTAssertEqual(nested.count, 4)
        XCTAssertEqual(nested[1], .object([
            ("a", .int(-1)), ("b", .double(0.5)),
            ("inner", .object([("x", .uint(201)), ("y", .int(-1000))])),
            ("arr", .array([.array([.int(10), .int(11), .int(12)]), .array([.int(13), .int(14), .int(15)])])),
        ]))
    }

    func testNumbersEnumsOpaque() throws {
        let floats: [JSONValue] = [.double(0), .double(-1.5), .double(3.25), .double(.infinity),
                                   .double(-.infinity), .double(.nan)]
        for path in ["/numeric/float16_be", "/numeric/float32_le", "/numeric/float64_be"] {
            XCTAssertEqual(Array(try json(path).prefix(6)), floats, path)
        }
        XCTAssertEqual(try json("/numeric/float16_le").last, .double(65504))
        XCTAssertEqual(Array(try json("/numeric/int64_be").prefix(2)), [.int(Int64.min), .int(Int64.max)])
        XCTAssertEqual(Array(try json("/numeric/uint64_le").prefix(2)), [.uint(0), .uint(UInt64.max)])
        XCTAssertEqual(try json("/enum/int8"), [.int(0), .int(1), .int(42), .int(1)])
        XCTAssertEqual(try json("/enum/uint32_be"), [.uint(1), .uint(70000), .uint(70000)])
        XCTAssertEqual(try json("/enum/bool"), [.bool(true), .bool(false), .bool(true)])
        XCTAssertEqual(try json("/bitfield/b16"), [1, 256, 0xBEEF, 0xFFFF, 0, 7].map { .uint($0) })
        XCTAssertEqual(try json("/opaque/tagged"), [.string("41424344"), .string("45464748"), .string("494a4b4c")])
        XCTAssertEqual(try json("/array/i2x2x3").first,
                       .array([.array([.int(0), .int(-1), .int(-2)]), .array([.int(-3), .int(-4), .int(-5)])]))
    }

    func testShapesAsElementLists() throws {
        XCTAssertEqual(try json("/shapes/scalar_i4"), [.int(-42)])
        XCTAssertEqual(try json("/shapes/empty_2d"), [])
        XCTAssertEqual(try json("/shapes/null"), [])
        XCTAssertEqual(try strings("/strings/vlen_utf8_2d").count, 6)
    }

    func testFillValuesAsJSON() throws {
        XCTAssertEqual(try container.dataset(at: .p("/compound/with_vlen_string")).fillValue,
                       .object([("id", .int(0)), ("name", .string(""))]))
        XCTAssertNil(try container.dataset(at: .p("/compound/with_vlen_string")).fillValueBytes)
        XCTAssertEqual(try container.dataset(at: .p("/strings/fixed_ascii")).fillValue, .string(""))
        XCTAssertEqual(try container.dataset(at: .p("/refs/object")).fillValue, .null)
    }
}
