import Foundation
import H5Model
import HDF5
import TestSupport
import XCTest

/// HDF5Writer's raw-array writes into typed datasets made by h5py: stored bytes in, the
/// same bytes out (h5py as the oracle), for the layouts and types a user meets.
final class RawArrayWriterTests: XCTestCase {
    private var directory = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "h5raw-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// A container made by `script` (h5py, numpy as np; `f` is the open file).
    private func container(_ script: String) throws -> String {
        let path = directory + "/c.h5"
        try Python.run("import sys, h5py, numpy as np\nwith h5py.File(sys.argv[1], 'w') as f:\n" + script, arguments: [path])
        return path
    }

    private func check(_ path: String, _ script: String) throws {
        try Python.run("import sys, h5py, numpy as np\nf = h5py.File(sys.argv[1], 'r')\nif True:\n" + script, arguments: [path])
    }

    func test_a_run_across_chunks_of_a_gzip_stack_round_trips() throws {
        let path = try container("""
            f.create_dataset('s', data=np.arange(6*20*30, dtype='<u2').reshape(6, 20, 30), chunks=(2, 8, 8), compression='gzip', shuffle=True)
        """)
        let writer = try HDF5Writer.open(path: path)
        let target = try writer.beginRawWrite(at: .p("/s"))
        XCTAssertEqual(target.shape, [6, 20, 30])
        XCTAssertEqual(target.elementSize, 2)
        XCTAssertEqual(target.slabBytes, 2 * 2 * 24 * 32, "one row of chunks, edge chunks whole")
        let values = (0..<2345).map { UInt16(60_000 - $0) }
        try littleEndianBytes(values).withUnsafeBytes { try writer.writeRaw(target, firstElement: 777, bytes: $0) }
        var back = [UInt8](repeating: 0, count: 2345 * 2)
        try back.withUnsafeMutableBytes { try writer.readRaw(target, firstElement: 777, into: $0) }
        XCTAssertEqual(back, littleEndianBytes(values))
        try writer.finishRawWrite(target)
        try writer.close()
        try check(path, """
            s = np.arange(6*20*30, dtype='<u2'); s[777:777+2345] = 60000 - np.arange(2345)
            assert np.array_equal(f['s'][()].ravel(), s)
            assert f['s'].compression == 'gzip' and f['s'].shuffle
        """)
    }

    func test_compound_and_big_endian_elements_are_written_without_conversion() throws {
        let path = try container("""
            t = np.dtype([('a', '<i2'), ('b', '>f8')])
            f.create_dataset('c', data=np.zeros(10, dtype=t))
            f.create_dataset('be', data=np.zeros((4, 3), dtype='>i4'), chunks=(2, 3), compression='gzip')
        """)
        let writer = try HDF5Writer.open(path: path)
        let compound = try writer.beginRawWrite(at: .p("/c"))
        XCTAssertEqual(compound.elementSize, 10)
        let element: [UInt8] = [0x34, 0x12] + [0x3f, 0xf8, 0, 0, 0, 0, 0, 0]   // a = 0x1234, b = 1.5 big-endian
        try (element + element).withUnsafeBytes { try writer.writeRaw(compound, firstElement: 4, bytes: $0) }
        try writer.finishRawWrite(compound)
        let bigEndian = try writer.beginRawWrite(at: .p("/be"))
        let bytes: [UInt8] = [0, 0, 1, 2, 0xff, 0xff, 0xff, 0xfe]              // 258, -2 as >i4
        try bytes.withUnsafeBytes { try writer.writeRaw(bigEndian, firstElement: 5, bytes: $0) }
        try writer.finishRawWrite(bigEndian)
        try writer.close()
        try check(path, """
            c = f['c'][()]
            assert list(c['a']) == [0, 0, 0, 0, 0x1234, 0x1234, 0, 0, 0, 0], c
            assert list(c['b'][4:6]) == [1.5, 1.5]
            assert f['be'].dtype == np.dtype('>i4')
            assert list(f['be'][()].ravel()) == [0, 0, 0, 0, 0, 258, -2, 0, 0, 0, 0, 0], f['be'][()]
        """)
    }

    func test_contiguous_and_scalar_datasets() throws {
        let path = try container("""
            f.create_dataset('x', data=np.arange(100, dtype='<f4'))
            f.create_dataset('one', data=np.float64(2.5))
        """)
        let writer = try HDF5Writer.open(path: path)
        let x = try writer.beginRawWrite(at: .p("/x"))
        let minusOne: [UInt8] = [0, 0, 0x80, 0xbf]
        try (minusOne + minusOne + minusOne).withUnsafeBytes { try writer.writeRaw(x, firstElement: 97, bytes: $0) }
        try writer.finishRawWrite(x)
        let one = try writer.beginRawWrite(at: .p("/one"))
        XCTAssertEqual(one.shape, [])
        let seven = withUnsafeBytes(of: Double(7).bitPattern.littleEndian) { Array($0) }
        try seven.withUnsafeBytes { try writer.writeRaw(one, firstElement: 0, bytes: $0) }
        try writer.finishRawWrite(one)
        try writer.close()
        try check(path, """
            assert list(f['x'][95:]) == [95, 96, -1, -1, -1]
            assert f['one'][()] == 7.0
        """)
    }

    func test_an_unlimited_first_dimension_grows_with_the_fill_value_and_shrinks() throws {
        let path = try container("""
            f.create_dataset('g', data=np.ones((2, 3), dtype='<i8'), maxshape=(None, 3), chunks=(2, 3), fillvalue=-9)
            f.create_dataset('fixed', data=np.ones((2, 3), dtype='<i8'), chunks=(2, 3))
        """)
        let writer = try HDF5Writer.open(path: path)
        var target = try writer.beginRawWrite(at: .p("/g"))
        XCTAssertEqual(target.fillElement, littleEndianBytes([Int64(-9)]))
        try writer.setRawExtent(&target, firstDimension: 5)
        XCTAssertEqual(target.shape, [5, 3])
        try littleEndianBytes([Int64(4), 4, 4]).withUnsafeBytes { try writer.writeRaw(target, firstElement: 9, bytes: $0) }
        try writer.finishRawWrite(target)
        var fixed = try writer.beginRawWrite(at: .p("/fixed"))
        assertStoreError(.invalidArgument) { try writer.setRawExtent(&fixed, firstDimension: 3) }
        try writer.finishRawWrite(fixed)
        try writer.close()
        try check(path, """
            g = f['g'][()]
            assert g.shape == (5, 3), g.shape
            assert (g[:2] == 1).all() and (g[2] == -9).all() and (g[3] == 4).all() and (g[4] == -9).all(), g
            assert f['fixed'].shape == (2, 3)
        """)
        let again = try HDF5Writer.open(path: path)
        var shrink = try again.beginRawWrite(at: .p("/g"))
        try again.setRawExtent(&shrink, firstDimension: 1)
        try again.finishRawWrite(shrink)
        try again.close()
        try check(path, "    assert f['g'].shape == (1, 3)")
    }

    func test_datasets_that_cannot_take_raw_writes_say_why() throws {
        let path = try container("""
            f.create_dataset('text', data=[b'a', b'bb'], dtype=h5py.string_dtype())
            f.create_dataset('ok', data=np.arange(4, dtype='<u2'))
            layout = h5py.VirtualLayout(shape=(4,), dtype='<u2')
            layout[:] = h5py.VirtualSource(f['ok'])
            f.create_virtual_dataset('v', layout)
            import hdf5plugin
            f.create_dataset('lz4', data=np.arange(100, dtype='<u2'), chunks=(10,), **hdf5plugin.LZ4())
        """)
        let writer = try HDF5Writer.open(path: path)
        XCTAssertEqual(try writer.rawWriteRefusal(at: .p("/text")), .noFixedSize)
        XCTAssertEqual(try writer.rawWriteRefusal(at: .p("/v")), .virtual)
        XCTAssertNil(try writer.rawWriteRefusal(at: .p("/ok")))
        // hdf5plugin is not on this process's plugin path: libhdf5 cannot encode lz4.
        guard case .filterUnavailable(let name)? = try writer.rawWriteRefusal(at: .p("/lz4")) else {
            return XCTFail("lz4 without its plugin must be refused")
        }
        XCTAssertTrue(name.contains("32004"), name)
        assertStoreError(.unsupported) { try writer.beginRawWrite(at: .p("/lz4")) }
        try writer.close()
    }
}
