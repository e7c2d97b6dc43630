import Foundation
@testable import H5Model
import TestSupport
import XCTest

/// `.npy` headers, byte for byte against what the venv's numpy writes for the same dtype
/// and shape (`numpy.lib.format`'s own header writer, the one `numpy.save` calls).
final class NumpyHeaderTests: XCTestCase {
    let u2 = DataType.integer(size: 2, signed: false, order: .little)
    let f8be = DataType.float(size: 8, order: .big)
    let i4 = DataType.integer(size: 4, signed: true, order: .little)

    /// A case: the element type, the shape, and what numpy should say.
    struct Case {
        var type: DataType
        var shape: [UInt64]
    }

    var cases: [Case] {
        let padded = DataType.compound(size: 24, members: [
            CompoundMember(name: "a", offset: 0, type: i4),
            CompoundMember(name: "b", offset: 8, type: f8be),
        ])
        let nested = DataType.compound(size: 64, members: [
            CompoundMember(name: "x", offset: 2, type: u2),
            CompoundMember(name: "v", offset: 4, type: .array(base: .float(size: 4, order: .little), dims: [3])),
            CompoundMember(name: "m", offset: 16, type: .array(base: .float(size: 4, order: .little), dims: [2, 3])),
            CompoundMember(name: "inner", offset: 40, type: padded),
        ])
        let names = ["it's", "say \"hi\"", "both ' and \"", "back\\slash", "tab\there", "é", "\u{200B}zw", "\u{85}"]
        let oddNames = DataType.compound(size: 2 * names.count, members: names.enumerated().map { index, name in
            CompoundMember(name: name, offset: 2 * index, type: u2)
        })
        let greek = DataType.compound(size: 4, members: [CompoundMember(name: "Δt", offset: 0, type: i4)])
        // Enough fields that the header passes 65535 bytes: numpy switches to format 2.0.
        let wide = DataType.compound(size: 4 * 3000, members: (0..<3000).map { index in
            CompoundMember(name: "field_with_a_long_name_\(index)", offset: 4 * index, type: i4)
        })
        return [
            Case(type: u2, shape: [8, 64, 64]),
            Case(type: f8be, shape: []),
            Case(type: .integer(size: 1, signed: false, order: .notApplicable), shape: [5]),
            Case(type: .fixedString(size: 8, padding: .nullPadded, charset: .ascii), shape: [3]),
            Case(type: .float(size: 2, order: .little), shape: [123_456_789_012, 2]),
            Case(type: .opaque(size: 7, tag: "t"), shape: [0, 4]),
            Case(type: .enumeration(base: i4, members: [EnumMember(name: "A", value: 1)]), shape: [2]),
            Case(type: padded, shape: [10]),
            Case(type: nested, shape: [4, 4]),
            Case(type: oddNames, shape: [1]),
            Case(type: greek, shape: [6]),
            Case(type: wide, shape: [2]),
        ]
    }

    func test_headers_equal_the_ones_numpy_writes() throws {
        let cases = self.cases
        let expected = try numpyHeaders(cases)
        XCTAssertEqual(expected.count, cases.count)
        for (index, (testCase, numpy)) in zip(cases, expected).enumerated() {
            let ours = try XCTUnwrap(NumpyHeader.header(element: testCase.type, shape: testCase.shape), "case \(index)")
            XCTAssertEqual(ours.count % 64, 0, "case \(index)")
            XCTAssertEqual(ours, numpy, "case \(index): ours \(String(decoding: ours, as: UTF8.self)) numpy \(String(decoding: numpy, as: UTF8.self))")
        }
    }

    func test_version_follows_header_length_and_name_encoding() throws {
        let cases = self.cases
        XCTAssertEqual(NumpyHeader.header(element: u2, shape: [8, 64, 64])?[6], 1)
        XCTAssertEqual(NumpyHeader.header(element: cases[10].type, shape: [6])?[6], 3)
        XCTAssertEqual(NumpyHeader.header(element: cases[11].type, shape: [2])?[6], 2)
    }

    func test_types_numpy_cannot_describe_have_no_header() {
        let outOfOrder = DataType.compound(size: 8, members: [
            CompoundMember(name: "b", offset: 4, type: i4), CompoundMember(name: "a", offset: 0, type: i4),
        ])
        let overlapping = DataType.compound(size: 8, members: [
            CompoundMember(name: "a", offset: 0, type: i4), CompoundMember(name: "b", offset: 2, type: i4),
        ])
        XCTAssertNil(NumpyHeader.header(element: outOfOrder, shape: [1]))
        XCTAssertNil(NumpyHeader.header(element: overlapping, shape: [1]))
        XCTAssertNil(NumpyHeader.header(element: .variableString(charset: .utf8), shape: [1]))
        XCTAssertNil(NumpyHeader.header(element: .reference(.object), shape: [1]))
    }

    func test_python_string_literals() {
        XCTAssertEqual(PythonLiteral.string("abc"), "'abc'")
        XCTAssertEqual(PythonLiteral.string("it's"), "\"it's\"")
        XCTAssertEqual(PythonLiteral.string("'\""), "'\\'\"'")
        XCTAssertEqual(PythonLiteral.string("a\u{1}\u{7F}\u{A0}é\u{10FFFF}"), "'a\\x01\\x7f\\xa0é\\U0010ffff'")
        XCTAssertEqual(PythonLiteral.tuple([UInt64]()), "()")
        XCTAssertEqual(PythonLiteral.tuple([7]), "(7,)")
        XCTAssertEqual(PythonLiteral.tuple([2, 3]), "(2, 3)")
    }

    /// numpy's header for each case, from the sidecar spelling of its dtype (the dtype the
    /// raw-array promise gives numpy).
    private func numpyHeaders(_ cases: [Case]) throws -> [[UInt8]] {
        let input = cases.map { testCase -> String in
            let dtype = testCase.type.numpyDescriptor!.compactText
            return #"{"dtype": \#(dtype), "shape": [\#(testCase.shape.map(String.init).joined(separator: ","))]}"#
        }.joined(separator: "\n")
        let script = """
        import io, json, sys, warnings
        import numpy
        try:
            from numpy.lib import _format_impl as npformat  # numpy >= 2
        except ImportError:
            from numpy.lib import format as npformat
        warnings.simplefilter("ignore")
        for line in open(sys.argv[1]):
            case = json.loads(line)
            dtype = numpy.dtype(case["dtype"])
            out = io.BytesIO()
            npformat._write_array_header(out, {"descr": npformat.dtype_to_descr(dtype), "fortran_order": False,
                        "shape": tuple(case["shape"])}, None)
            header = out.getvalue()
            # numpy must read back what it wrote: the same dtype and shape.
            back = io.BytesIO(header)
            version = npformat.read_magic(back)
            shape, fortran, read_dtype = npformat._read_array_header(back, version, max_header_size=1 << 30)
            assert shape == tuple(case["shape"]) and read_dtype == dtype and not fortran
            print(header.hex())
        """
        let inputPath = NSTemporaryDirectory() + "npy-cases-\(UUID().uuidString).jsonl"
        try Data(input.utf8).write(to: URL(fileURLWithPath: inputPath))
        defer { try? FileManager.default.removeItem(atPath: inputPath) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try Corpus.pythonPath())
        process.arguments = ["-c", script, inputPath]
        let stdout = Pipe()
        process.standardOutput = stdout
        try process.run()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0)
        return String(decoding: output, as: UTF8.self).split(separator: "\n").map { line in
            var bytes: [UInt8] = []
            var iterator = line.utf8.makeIterator()
            while let high = iterator.next(), let low = iterator.next() {
                bytes.append(UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)!)
            }
            return bytes
        }
    }
}
