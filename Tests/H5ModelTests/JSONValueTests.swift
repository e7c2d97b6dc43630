import XCTest
@testable import H5Model

final class JSONValueTests: XCTestCase {
    func testPrettyTextKeepsKeyOrderAndFlatScalarArrays() {
        let value = JSONValue.object([
            ("kind", .string("dataset")),
            ("shape", .array([.int(2), .int(3)])),
            ("attributes", .object([("units", .string("m"))])),
        ])
        XCTAssertEqual(value.prettyText, """
        {
          "kind": "dataset",
          "shape": [2, 3],
          "attributes": {
            "units": "m"
          }
        }

        """)
    }

    func testCompactTextEscapesAndNonFiniteFloats() {
        let value = JSONValue.array([.string("a\"b\\c\n\u{01}"), .double(.nan), .double(-.infinity), .double(0.5)])
        XCTAssertEqual(value.compactText, #"["a\"b\\c\n\u0001","NaN","-Infinity",0.5]"#)
    }

    func testRoundTripThroughParser() throws {
        let value = JSONValue.object([
            ("big", .uint(UInt64.max)),
            ("neg", .int(Int64.min)),
            ("pi", .double(3.141592653589793)),
            ("list", .array([.null, .bool(true), .bool(false), .array([]), .object([JSONMember]())])),
            ("text", .string("größe ✓ 😀")),
        ])
        XCTAssertEqual(try JSONValue.parse(value.prettyText), value)
        XCTAssertEqual(try JSONValue.parse(value.compactText), value)
    }

    func testParserDecodesSurrogatePairs() throws {
        XCTAssertEqual(try JSONValue.parse(#""\ud83d\ude00""#), .string("😀"))
    }

    func testParserRejectsMalformedInput() {
        for bad in ["", "{", "[1,]", "{\"a\" 1}", "01", "1.", "\"\\x\"", "tru", "[1] 2", "\"\u{01}\"", "\"\\udc00\""] {
            XCTAssertThrowsError(try JSONValue.parse(bad), "accepted \(bad)")
        }
    }

    /// Found by the json fuzz target: "1e311" parsed as +infinity, which renders as the
    /// string "Infinity", so parse(render(v)) != v.
    func testParserRefusesNumbersBeyondDoubleRange() throws {
        for text in ["1e311", "-1e400", "[1, 2e999]", "123456789e999"] {
            XCTAssertThrowsError(try JSONValue.parse(text), "accepted \(text)") { error in
                XCTAssertTrue("\(error)".contains("out of range"), "\(error)")
            }
        }
        // The largest finite doubles and underflow to zero are fine, and round-trip.
        for text in ["1.7976931348623157e308", "-1.7976931348623157e+308", "1e-400", "5e-324"] {
            let value = try JSONValue.parse(text)
            XCTAssertEqual(try JSONValue.parse(value.compactText), value, text)
        }
    }

    func testParserBoundsNesting() {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        XCTAssertThrowsError(try JSONValue.parse(deep))
    }

    func testNaNEqualsNaNAndHashesAlike() {
        XCTAssertEqual(JSONValue.double(.nan), .double(-.nan))
        XCTAssertEqual(Set([JSONValue.double(.nan), .double(.nan)]).count, 1)
        XCTAssertNotEqual(JSONValue.double(0), .int(0))
    }
}
