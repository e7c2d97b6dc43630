import Foundation
import H5Model
import HDF5
import TestSupport
import XCTest

/// Replacing an attribute keeps its type when the new value fits it; a rewritten byte
/// dataset keeps its attributes. h5py (the corpus's python) says what the types are.
final class AttributeTypeTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "attribute-types-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// A copy of types.h5, whose /attrs group has attributes of many types.
    func typesCopy() throws -> String {
        let path = directory + "/types.h5"
        try FileManager.default.copyItem(atPath: try Corpus.path("types.h5"), toPath: path)
        return path
    }

    /// name -> numpy dtype string (h5py's view) of the attributes of `object`.
    func dtypes(_ path: String, _ object: String) throws -> [String: String] {
        let script = """
        import h5py, json, sys
        with h5py.File(sys.argv[1], "r") as f:
            o = f[sys.argv[2]]
            out = {}
            for k in o.attrs:
                t = o.attrs.get_id(k).dtype
                out[k] = t.str if h5py.check_string_dtype(t) is None else "str:" + h5py.check_string_dtype(t).encoding + ":" + str(h5py.check_string_dtype(t).length)
            print(json.dumps(out))
        """
        let printed = try Python.run(script, arguments: [path, object])
        return try JSONDecoder().decode([String: String].self, from: Data(printed.utf8))
    }

    func testValuesThatFitKeepTheType() throws {
        let path = try typesCopy()
        let writer = try HDF5Writer.open(path: path)
        let g = H5Path.p("/attrs")
        try writer.setAttribute(of: g, name: "ints_1d", value: .array([.int(-7), .int(300), .int(32767)]))
        try writer.setAttribute(of: g, name: "floats_2d", value: .array([.array([.double(0.1), .int(2)]),
                                                                       .array([.string("NaN"), .double(4)])]))
        try writer.setAttribute(of: g, name: "fixed_ascii", value: .string("abc"))
        try writer.setAttribute(of: g, name: "bool", value: .bool(false))
        try writer.setAttribute(of: g, name: "vlen_utf8", value: .string("ünï"))
        try writer.setAttribute(of: g, name: "empty", value: .null)
        try writer.setAttribute(of: g, name: "nan", value: .int(3))
        try writer.close()
        let types = try dtypes(path, "/attrs")
        XCTAssertEqual(types["ints_1d"], ">i2")
        XCTAssertEqual(types["floats_2d"], "<f4")
        XCTAssertEqual(types["fixed_ascii"], "str:ascii:5")
        XCTAssertEqual(types["bool"], "|b1")
        XCTAssertEqual(types["vlen_utf8"], "str:utf-8:None")
        XCTAssertEqual(types["empty"], "<f4")
        XCTAssertEqual(types["nan"], "<f4")
        let read = Dictionary(uniqueKeysWithValues: try HDF5Container.open(path: path).attributes(of: g).map { ($0.name, $0.value) })
        XCTAssertEqual(read["ints_1d"], .array([.int(-7), .int(300), .int(32767)]))
        XCTAssertEqual(read["floats_2d"], .array([.array([.double(Double(Float(0.1))), .double(2)]),
                                                 .array([.double(.nan), .double(4)])]))
        XCTAssertEqual(read["fixed_ascii"], .string("abc"))
        XCTAssertEqual(read["bool"], .bool(false))
        XCTAssertEqual(read["vlen_utf8"], .string("ünï"))
        XCTAssertEqual(read["empty"], .null)
        XCTAssertEqual(read["nan"], .double(3))
    }

    func testValuesThatDoNotFitGetTheirOwnType() throws {
        let path = try typesCopy()
        let writer = try HDF5Writer.open(path: path)
        let g = H5Path.p("/attrs")
        try writer.setAttribute(of: g, name: "ints_1d", value: .array([.int(40000)]))      // beyond int16
        try writer.setAttribute(of: g, name: "floats_2d", value: .double(1e300))          // beyond float32
        try writer.setAttribute(of: g, name: "fixed_ascii", value: .string("longer than five"))
        try writer.setAttribute(of: g, name: "float", value: .string("text now"))
        try writer.setAttribute(of: g, name: "compound", value: .int(1))
        try writer.setAttribute(of: g, name: "bool", value: .int(1))
        try writer.close()
        let types = try dtypes(path, "/attrs")
        XCTAssertEqual(types["ints_1d"], "<i8")
        XCTAssertEqual(types["floats_2d"], "<f8")
        XCTAssertEqual(types["fixed_ascii"], "str:utf-8:None")
        XCTAssertEqual(types["float"], "str:utf-8:None")
        XCTAssertEqual(types["compound"], "<i8")
        XCTAssertEqual(types["bool"], "<i8")
    }

    func testARewrittenByteDatasetKeepsItsAttributes() throws {
        let path = directory + "/w.h5"
        let writer = try HDF5Writer.create(path: path)
        let layout = ByteDatasetLayout(logicalSize: 3, preferredChunkSize: 4096, compression: .none)
        let chunk = [EncodedChunk(index: 0, bytes: [1, 2, 3])]
        try writer.writeByteDataset(at: .p("/f"), chunks: chunk, layout: layout)
        try writer.setAttribute(of: .p("/f"), name: "units", value: .string("m"))
        try writer.setAttribute(of: .p("/f"), name: "scale", value: .array([.double(0.5), .double(2)]))
        try writer.setAttribute(of: .p("/f"), name: "nothing", value: .null)
        let bigger = ByteDatasetLayout(logicalSize: 5, preferredChunkSize: 4096, compression: .none)
        try writer.writeByteDataset(at: .p("/f"), chunks: [EncodedChunk(index: 0, bytes: [5, 6, 7, 8, 9])], layout: bigger,
                                    replacing: true)
        XCTAssertEqual(writer.openObjectCount(), 0)
        try writer.close()
        let reader = try HDF5Container.open(path: path)
        XCTAssertEqual(try reader.readAll("/f"), [5, 6, 7, 8, 9])
        XCTAssertEqual(try reader.attributes(of: .p("/f")), [
            Attribute(name: "nothing", value: .null),
            Attribute(name: "scale", value: .array([.double(0.5), .double(2)])),
            Attribute(name: "units", value: .string("m")),
        ])
    }

    func testValidationNeedsNoFile() {
        XCTAssertNoThrow(try HDF5Writer.validateAttribute(name: "a", value: .array([.int(1), .double(2)])))
        assertStoreError(.invalidArgument) { try HDF5Writer.validateAttribute(name: "", value: .int(1)) }
        assertStoreError(.invalidArgument) { try HDF5Writer.validateAttribute(name: "a\u{0}b", value: .int(1)) }
        assertStoreError(.invalidArgument) { try HDF5Writer.validateAttribute(name: "a", value: .object([("k", .int(1))])) }
        assertStoreError(.invalidArgument) {
            try HDF5Writer.validateAttribute(name: "a", value: .array([.array([.int(1)]), .array([])]))
        }
    }
}

extension AttributeTypeTests {
    func testAnEditLibhdf5RefusesChangesNothing() throws {
        // types.h5 is h5py's default format: an attribute's data must fit a 64 KiB header message.
        let path = try typesCopy()
        let writer = try HDF5Writer.open(path: path)
        let g = H5Path.p("/attrs")
        let before = try HDF5Container.open(path: path).attributes(of: g)
        try writer.close()
        let again = try HDF5Writer.open(path: path)
        let big = JSONValue.array((0..<20_000).map { .int(Int64($0)) })
        assertStoreError(.invalidArgument) {
            try again.changeAttributes(of: g, [.set(name: "int", value: .int(1)), .remove(name: "float"),
                                               .set(name: "new", value: .string("x")), .set(name: "big", value: big)])
        }
        assertStoreError(.notFound) { try again.changeAttributes(of: g, [.remove(name: "absent")]) }
        XCTAssertEqual(again.openObjectCount(), 0)
        try again.close()
        XCTAssertEqual(try HDF5Container.open(path: path).attributes(of: g), before, "values and names as they were")
        XCTAssertEqual(try dtypes(path, "/attrs")["int"], try dtypes(try Corpus.path("types.h5"), "/attrs")["int"])
    }
}
