import Foundation
import Glibc
import H5Model
import HDF5
@testable import H5FS
import TestSupport
import XCTest

/// Writing typed datasets' raw-array files through ContainerFilesystem: reads see the
/// written bytes before and after the close, the shape rules answer EFBIG / EINVAL / EPERM,
/// the sidecar follows the shape, and commit leaves what h5py expects.
final class TypedWriteTests: XCTestCase {
    var directory = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "h5fs-typed-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// `/stack` uint16 (3, 4, 5) gzip, unlimited first dim, fill 9; `/fixed` (2, 2) int32; `/text` strings.
    private func mount() throws -> (ContainerFilesystem, String) {
        let path = directory + "/c.h5"
        try Python.run("""
        import sys, h5py, numpy as np
        with h5py.File(sys.argv[1], 'w') as f:
            f.create_dataset('stack', data=np.arange(60, dtype='<u2').reshape(3, 4, 5), maxshape=(None, 4, 5),
                             chunks=(2, 2, 5), compression='gzip', fillvalue=9)
            f.create_dataset('fixed', data=np.arange(4, dtype='<i4').reshape(2, 2))
            f.create_dataset('text', data=[b'a', b'b'])
        """, arguments: [path])
        let fs = try ContainerFilesystem(containerPath: path, options: MountOptions(readOnly: false, uid: 1000, gid: 100))
        return (fs, path)
    }

    private func write(_ fs: ContainerFilesystem, _ node: NodeID, _ handle: UInt64, _ bytes: [UInt8], at offset: UInt64) throws {
        _ = try bytes.withUnsafeBytes { try fs.write(node, handle: handle, offset: offset, data: $0) }
    }

    private func errno(_ body: () throws -> Void) -> Int32? {
        do { try body() } catch let error as FSError { return error.errno } catch { return nil }
        return 0
    }

    private func shape(_ fs: ContainerFilesystem, _ name: String) throws -> JSONValue? {
        let sidecar = try fs.lookup(parent: 1, name: name + ".attrs")
        let handle = try fs.open(sidecar.node, flags: O_RDONLY)
        defer { fs.release(sidecar.node, handle: handle) }
        let text = String(decoding: try fs.read(sidecar.node, handle: handle, offset: 0, size: 1 << 16), as: UTF8.self)
        return try JSONValue.parse(text)["shape"]
    }

    func test_unaligned_write_reads_back_before_and_after_close_and_commits() throws {
        let (fs, path) = try mount()
        let stack = try fs.lookup(parent: 1, name: "stack").node
        let handle = try fs.open(stack, flags: O_WRONLY)
        try write(fs, stack, handle, [0xAB, 0xCD, 0xEF], at: 41)      // high byte of element 20, element 21
        var expected: [UInt8] = (0..<60).flatMap { [UInt8($0), UInt8(0)] }
        expected.replaceSubrange(41..<44, with: [0xAB, 0xCD, 0xEF])
        XCTAssertEqual(try fs.read(stack, handle: handle, offset: 0, size: 1000), expected, "the writer's view before close")
        try fs.flush(stack, handle: handle)
        fs.release(stack, handle: handle)
        let reader = try fs.open(stack, flags: O_RDONLY)
        XCTAssertEqual(try fs.read(stack, handle: reader, offset: 0, size: 1000), expected, "a fresh open after close")
        fs.release(stack, handle: reader)
        try fs.commit()
        try Python.run("""
        import sys, h5py, numpy as np
        got = h5py.File(sys.argv[1], 'r')['stack'][()].ravel()
        want = np.arange(60, dtype='<u2'); want[20] = 0xAB00 | 20; want[21] = 0xEFCD
        assert np.array_equal(got, want), got
        """, arguments: [path])
    }

    func test_appending_grows_by_whole_rows_with_the_fill_value() throws {
        let (fs, path) = try mount()
        let stack = try fs.lookup(parent: 1, name: "stack").node
        let handle = try fs.open(stack, flags: O_WRONLY | O_APPEND)
        try write(fs, stack, handle, [1, 0, 2, 0], at: 120)            // two elements of row 3
        XCTAssertEqual(try fs.attributes(of: stack).size, 124, "exact while open (what the kernel appends after)")
        try fs.flush(stack, handle: handle)
        fs.release(stack, handle: handle)
        XCTAssertEqual(try fs.attributes(of: stack).size, 160, "a whole row once stored")
        XCTAssertEqual(try shape(fs, "stack"), .array([.int(4), .int(4), .int(5)]))
        let reader = try fs.open(stack, flags: O_RDONLY)
        let row = try fs.read(stack, handle: reader, offset: 120, size: 40)
        fs.release(stack, handle: reader)
        XCTAssertEqual(row, [1, 0, 2, 0] + (0..<18).flatMap { _ -> [UInt8] in [9, 0] }, "the rest of the row is the fill value")
        try fs.commit()
        try Python.run("""
        import sys, h5py
        d = h5py.File(sys.argv[1], 'r')['stack']
        assert d.shape == (4, 4, 5) and d[3].ravel().tolist() == [1, 2] + [9] * 18, d[3]
        """, arguments: [path])
    }

    func test_shape_rules_and_what_is_not_writable() throws {
        let (fs, _) = try mount()
        let fixed = try fs.lookup(parent: 1, name: "fixed").node
        let handle = try fs.open(fixed, flags: O_WRONLY)
        XCTAssertEqual(errno { try write(fs, fixed, handle, [1, 2, 3, 4], at: 14) }, EFBIG)
        XCTAssertEqual(errno { _ = try fs.setAttributes(fixed, handle: handle, AttributeChanges(size: 8)) }, EINVAL)
        XCTAssertEqual(errno { _ = try fs.setAttributes(fixed, handle: handle, AttributeChanges(size: 32)) }, EFBIG)
        XCTAssertEqual(errno { _ = try fs.setAttributes(fixed, handle: handle, AttributeChanges(size: 16)) }, 0, "same size: no-op")
        try fs.flush(fixed, handle: handle)
        fs.release(fixed, handle: handle)
        XCTAssertEqual(try fs.attributes(of: fixed).size, 16)

        let stack = try fs.lookup(parent: 1, name: "stack").node
        XCTAssertEqual(errno { _ = try fs.setAttributes(stack, handle: nil, AttributeChanges(size: 41)) }, EINVAL, "not whole rows")
        XCTAssertEqual(errno { _ = try fs.setAttributes(stack, handle: nil, AttributeChanges(size: 40)) }, 0)
        XCTAssertEqual(try fs.attributes(of: stack).size, 40)
        XCTAssertEqual(try shape(fs, "stack"), .array([.int(1), .int(4), .int(5)]))

        // O_TRUNC on a fixed shape: written whole again, or refused at the close.
        let replacing = try fs.open(fixed, flags: O_WRONLY | O_TRUNC)
        XCTAssertEqual(try fs.attributes(of: fixed).size, 0)
        try write(fs, fixed, replacing, [5, 0, 0, 0, 6, 0, 0, 0], at: 0)
        XCTAssertEqual(errno { try fs.flush(fixed, handle: replacing) }, EINVAL)
        fs.release(fixed, handle: replacing)
        XCTAssertEqual(try fs.attributes(of: fixed).size, 16, "a refused rewrite changes nothing")

        let text = try fs.lookup(parent: 1, name: "text").node
        XCTAssertEqual(errno { _ = try fs.open(text, flags: O_WRONLY) }, EPERM)
    }

    func test_fsync_stores_and_an_unlinked_open_dataset_is_dropped() throws {
        let (fs, path) = try mount()
        let fixed = try fs.lookup(parent: 1, name: "fixed").node
        let handle = try fs.open(fixed, flags: O_RDWR)
        try write(fs, fixed, handle, [42, 0, 0, 0], at: 12)
        try fs.synchronize(fixed, handle: handle)
        let other = try fs.open(fixed, flags: O_RDONLY)
        XCTAssertEqual(try fs.read(fixed, handle: other, offset: 12, size: 4), [42, 0, 0, 0], "stored by fsync")
        fs.release(fixed, handle: other)
        try write(fs, fixed, handle, [43, 0, 0, 0], at: 8)
        try fs.unlink(parent: 1, name: "fixed")
        XCTAssertEqual(try fs.read(fixed, handle: handle, offset: 8, size: 8), [43, 0, 0, 0, 42, 0, 0, 0],
                       "an open descriptor keeps reading it")
        try fs.flush(fixed, handle: handle)
        fs.release(fixed, handle: handle)
        try fs.commit()
        try Python.run("""
        import sys, h5py
        f = h5py.File(sys.argv[1], 'r')
        assert 'fixed' not in f and '.h5mount-unlinked' not in f, list(f)
        """, arguments: [path])
    }

    func test_geometry_of_scalar_fixed_and_unlimited_datasets() throws {
        let unlimited = try XCTUnwrap(RawArrayGeometry(DatasetInfo(
            type: .integer(size: 2, signed: false, order: .little), shape: [3, 4], maxShape: [nil, 4],
            layout: .chunked(chunkShape: [1, 4]), filters: [], fillValue: nil, fillValueBytes: [7, 0],
            storageSize: 0, virtualSources: [])))
        XCTAssertEqual(unlimited.rowBytes, 8)
        XCTAssertTrue(unlimited.growable)
        XCTAssertEqual(unlimited.storedSize(for: 25), 32)
        XCTAssertEqual(unlimited.fillElement, [7, 0])
        XCTAssertNoThrow(try unlimited.checkWrite(end: 1 << 40, path: H5Path.root))
        XCTAssertThrowsError(try unlimited.checkTruncate(from: 24, to: 20, replacing: false, path: H5Path.root))
        let scalar = try XCTUnwrap(RawArrayGeometry(DatasetInfo(
            type: .float(size: 8, order: .big), shape: [], maxShape: [], layout: .contiguous(offset: 0), filters: [],
            fillValue: nil, fillValueBytes: nil, storageSize: 8, virtualSources: [])))
        XCTAssertEqual(scalar.fixedBytes, 8)
        XCTAssertEqual(scalar.fillElement, [UInt8](repeating: 0, count: 8))
        XCTAssertThrowsError(try scalar.checkWrite(end: 9, path: H5Path.root))
    }
}
