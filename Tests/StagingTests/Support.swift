import Codecs
import Foundation
import H5Model
import HDF5
import Staging
import TestSupport
import XCTest

/// A fresh temporary directory per test, removed afterwards.
class StagingTestCase: XCTestCase {
    var directory = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "staging-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    func path(_ name: String) -> String { directory + "/" + name }
}

/// Deterministic test content: text-like (compressible) or noisy (not).
func sampleBytes(_ count: Int, seed: UInt64 = 1, noisy: Bool = false) -> [UInt8] {
    var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
    let words = Array("the quick brown fox jumps over the lazy dog 0123456789\n".utf8)
    return (0..<count).map { index in
        state ^= state << 13; state ^= state >> 7; state ^= state << 17
        return noisy ? UInt8(truncatingIfNeeded: state) : words[(index + Int(state % 3)) % words.count]
    }
}

extension H5Path {
    static func p(_ text: String) -> H5Path { H5Path(parsing: text) }
}

extension HDF5Container {
    /// Every byte of a byte dataset, through libhdf5 (the reference reader).
    func bytes(_ path: String) throws -> [UInt8] {
        let info = try dataset(at: .p(path))
        let shape = info.shape ?? []
        let count = shape.reduce(1) { $0 * Int($1) }
        var bytes = [UInt8](repeating: 0xAA, count: count)
        try bytes.withUnsafeMutableBytes { buffer in
            try readBlock(dataset: .p(path), start: shape.map { _ in 0 }, count: shape, into: buffer)
        }
        return bytes
    }
}

/// A spool filled with `bytes` (unsealed).
func makeSpool(_ path: String, id: UInt64 = 1, _ bytes: [UInt8]) throws -> Spool {
    let spool = try Spool(path: path, id: id)
    try spool.write(bytes, at: 0)
    return spool
}

/// Runs the test venv's python (TestSupport's `Python`); fails the test with its stderr on
/// a non-zero exit. Returns stdout.
@discardableResult
func runPython(_ script: String, arguments: [String] = [], file: StaticString = #filePath, line: UInt = #line) throws -> String {
    do {
        return try Python.run(script, arguments: arguments)
    } catch {
        XCTFail("\(error)", file: file, line: line)
        throw error
    }
}

/// Every byte of a byte dataset decoded natively (chunk locations from libhdf5, `pread`,
/// Codecs), as the chunk engine reads: needs no filter plugin, so lz4 and bitshuffle files are
/// checked without touching libhdf5's process-wide plugin path.
func nativeBytes(_ reader: HDF5Container, _ path: String) throws -> [UInt8] {
    let info = try reader.dataset(at: .p(path))
    let size = Int(info.shape?.first ?? 0)
    guard case .chunked(let chunk) = info.layout, let chunkSize = chunk.first.map(Int.init) else {
        throw StagingError(EINVAL, "\(path): not chunked")
    }
    var bytes = [UInt8](repeating: 0, count: size)
    let origins = stride(from: 0, to: size, by: chunkSize).map { [UInt64($0)] }
    let locations = try reader.chunkLocations(dataset: .p(path), chunks: origins)
    let file = try XCTUnwrap(FileHandle(forReadingAtPath: reader.filePath))
    defer { try? file.close() }
    for (origin, location) in zip(origins, locations) {
        guard let location else { continue }
        try file.seek(toOffset: location.offset)
        let stored = try XCTUnwrap(try file.read(upToCount: Int(location.size)))
        var decoded = [UInt8](repeating: 0, count: chunkSize)
        try stored.withUnsafeBytes { input in
            try decoded.withUnsafeMutableBytes { output in
                try FilterPipeline.decode(input, filters: info.filters, filterMask: location.filterMask,
                                          elementSize: 1, into: output)
            }
        }
        let start = Int(origin[0])
        let count = min(chunkSize, size - start)
        bytes.replaceSubrange(start..<(start + count), with: decoded.prefix(count))
    }
    return bytes
}

/// The files of a directory tree and their bytes (a work directory snapshot = what a
/// kill -9 at this moment leaves on disk: the page cache is the file's content).
func snapshot(_ root: String) throws -> [String: Data] {
    var files: [String: Data] = [:]
    guard let walker = FileManager.default.enumerator(atPath: root) else { return files }
    for case let relative as String in walker {
        var isDirectory: ObjCBool = false
        let full = root + "/" + relative
        if FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory), !isDirectory.boolValue {
            files[relative] = FileManager.default.contents(atPath: full)
        }
    }
    return files
}

/// Puts a snapshot back in place of whatever is at `root` now.
func restore(_ files: [String: Data], to root: String) throws {
    try? FileManager.default.removeItem(atPath: root)
    for (relative, data) in files {
        let full = root + "/" + relative
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        XCTAssertTrue(FileManager.default.createFile(atPath: full, contents: data))
    }
}

/// Asserts that `body` throws a `StagingError` with errno `code`.
func assertStagingError<T>(_ code: Int32, file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> T) {
    do {
        _ = try body()
        XCTFail("expected errno \(code), got a value", file: file, line: line)
    } catch let error as StagingError {
        XCTAssertEqual(error.code, code, error.message, file: file, line: line)
    } catch {
        XCTFail("expected a StagingError, got \(error)", file: file, line: line)
    }
}
