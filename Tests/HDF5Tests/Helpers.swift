import H5Model
import HDF5
import TestSupport
import XCTest

/// Opens a corpus file.
func openCorpus(_ name: String) throws -> HDF5Container {
    try HDF5Container.open(path: Corpus.path(name))
}

extension H5Path {
    /// Test shorthand: `"/a/b".path`.
    static func p(_ text: String) -> H5Path { H5Path(parsing: text) }
}

extension HDF5Container {
    /// Every byte of a fixed-size dataset via one `readBlock` of its whole extent.
    func readAll(_ path: String) throws -> [UInt8] {
        let info = try dataset(at: .p(path))
        let shape = info.shape ?? []
        let size = try XCTUnwrap(info.type.fixedSize) * shape.reduce(1) { $0 * Int($1) }
        var bytes = [UInt8](repeating: 0xAA, count: size)
        try bytes.withUnsafeMutableBytes { buffer in
            try readBlock(dataset: .p(path), start: shape.map { _ in 0 }, count: shape, into: buffer)
        }
        return bytes
    }
}

/// Asserts that `body` throws a `StoreError` of `kind`; returns it for further checks.
@discardableResult
func assertStoreError<T>(_ kind: StoreError.Kind, file: StaticString = #filePath, line: UInt = #line,
                         _ body: () throws -> T) -> StoreError? {
    do {
        _ = try body()
        XCTFail("expected a StoreError \(kind), got a value", file: file, line: line)
    } catch let error as StoreError {
        XCTAssertEqual(error.kind, kind, "\(error.message)", file: file, line: line)
        return error
    } catch {
        XCTFail("expected a StoreError \(kind), got \(error)", file: file, line: line)
    }
    return nil
}

/// Little-endian values as bytes, for expected data built from generator formulas.
func littleEndianBytes<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
    values.flatMap { value in withUnsafeBytes(of: value.littleEndian) { Array($0) } }
}
