import Foundation
import Glibc
import H5Model
import Staging
import Synchronization
import XCTest

/// A seed in memory that counts which blocks were read (to check copy-on-write is lazy).
final class MemorySeed: SpoolSeed {
    let bytes: [UInt8]
    let blockSize: Int
    let reads = Mutex<[Range<UInt64>]>([])
    var size: UInt64 { UInt64(bytes.count) }

    init(_ bytes: [UInt8], blockSize: Int) {
        self.bytes = bytes
        self.blockSize = blockSize
    }

    func read(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(StagingError) {
        reads.withLock { $0.append(offset..<(offset + UInt64(buffer.count))) }
        let start = Int(offset)
        buffer.copyBytes(from: bytes[start..<(start + buffer.count)])
    }
}

final class SpoolTests: StagingTestCase {
    func testSparseWritesOverwritesAndHoles() throws {
        let spool = try Spool(path: path("s"), id: 7)
        XCTAssertEqual(spool.size, 0)
        XCTAssertEqual(try spool.read(at: 0, count: 10), [])
        try spool.write([1, 2, 3], at: 1_000_000)
        XCTAssertEqual(spool.size, 1_000_003)
        // The hole before the write reads as zeros.
        XCTAssertEqual(try spool.read(at: 999_998, count: 10), [0, 0, 1, 2, 3])
        XCTAssertEqual(try spool.read(at: 0, count: 4), [0, 0, 0, 0])
        try spool.write([9, 9], at: 1_000_001)
        XCTAssertEqual(try spool.read(at: 1_000_000, count: 3), [1, 9, 9])
        // Sparse on disk: a megabyte of hole costs (almost) no blocks.
        var info = stat()
        XCTAssertEqual(stat(path("s"), &info), 0)
        XCTAssertEqual(info.st_size, 1_000_003)
        XCTAssertLessThan(Int(info.st_blocks) * 512, 64 * 1024)
        XCTAssertEqual(try spool.read(at: 1_000_003, count: 5), [], "nothing past the end")
    }

    func testTruncateDownThenUpReadsZeros() throws {
        let spool = try makeSpool(path("s"), Array(repeating: 0x55, count: 100))
        try spool.truncate(to: 10)
        XCTAssertEqual(spool.size, 10)
        XCTAssertEqual(try spool.read(at: 0, count: 100), Array(repeating: 0x55, count: 10))
        try spool.truncate(to: 50)
        XCTAssertEqual(try spool.read(at: 0, count: 100), Array(repeating: 0x55, count: 10) + Array(repeating: 0, count: 40))
        try spool.write([7], at: 60)
        XCTAssertEqual(try spool.read(at: 48, count: 100), [0, 0] + Array(repeating: 0, count: 10) + [7])
        try spool.truncate(to: 0)
        XCTAssertEqual(try spool.read(at: 0, count: 10), [])
    }

    func testSeedShowsThroughAndIsCopiedOnlyWhereWritten() throws {
        let original = sampleBytes(10_000, noisy: true)
        let seed = MemorySeed(original, blockSize: 1000)
        let spool = try Spool(path: path("s"), id: 1, seed: seed)
        XCTAssertEqual(spool.size, 10_000)
        XCTAssertEqual(try spool.read(at: 0, count: 10_000), original)
        seed.reads.withLock { $0 = [] }
        // A partial write into block 2 copies that block first; block 5 is covered whole.
        try spool.write([1, 2, 3], at: 2_500)
        try spool.write(Array(repeating: 4, count: 1000), at: 5_000)
        XCTAssertEqual(seed.reads.withLock { $0 }, [2000..<3000])
        var expected = original
        expected.replaceSubrange(2_500..<2_503, with: [1, 2, 3])
        expected.replaceSubrange(5_000..<6_000, with: Array(repeating: 4, count: 1000))
        XCTAssertEqual(try spool.read(at: 0, count: 10_000), expected)
        // Block 2 and 5 now come from the spool, the rest still from the seed.
        seed.reads.withLock { $0 = [] }
        _ = try spool.read(at: 2_000, count: 4_000)
        XCTAssertEqual(seed.reads.withLock { $0 }, [3000..<4000, 4000..<5000])
    }

    func testTruncationHidesTheSeedForGood() throws {
        let original = sampleBytes(5_000, noisy: true)
        let spool = try Spool(path: path("s"), id: 1, seed: MemorySeed(original, blockSize: 1024))
        try spool.truncate(to: 1_500)
        try spool.truncate(to: 4_000)
        var expected = Array(original.prefix(1_500)) + Array(repeating: 0, count: 2_500)
        XCTAssertEqual(try spool.read(at: 0, count: 5_000), expected)
        // A write in the partly hidden block copies only the visible part of the seed.
        try spool.write([0xAB], at: 1_200)
        expected[1_200] = 0xAB
        XCTAssertEqual(try spool.read(at: 0, count: 5_000), expected)
        try spool.seal()
        XCTAssertEqual(try spool.read(at: 0, count: 5_000), expected)
    }

    func testSealCopiesTheSeedAndEndsWriting() throws {
        let original = sampleBytes(3_000)
        let seed = MemorySeed(original, blockSize: 512)
        let spool = try Spool(path: path("s"), id: 1, seed: seed)
        try spool.write([0xFF], at: 3_000)
        try spool.seal()
        XCTAssertTrue(spool.isSealed)
        assertStagingError(EBADF) { try spool.write([1], at: 0) }
        assertStagingError(EBADF) { try spool.truncate(to: 0) }
        // The file on disk alone holds the content now (what recovery reads).
        let reopened = try Spool(sealedAt: path("s"), id: 1)
        XCTAssertEqual(try reopened.read(at: 0, count: 4_000), original + [0xFF])
        spool.remove()
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("s")))
        assertStagingError(EBADF) { try spool.read(at: 0, count: 1) }
    }

    func testRefusesAnExistingFileAndHugeOffsets() throws {
        _ = try Spool(path: path("s"), id: 1)
        assertStagingError(EEXIST) { try Spool(path: path("s"), id: 2) }
        let spool = try Spool(path: path("t"), id: 3)
        assertStagingError(EFBIG) { try spool.write([1], at: UInt64.max) }
    }

    func testConcurrentWritersOfDisjointRanges() throws {
        let spool = try Spool(path: path("s"), id: 1)
        let pieces = 64, pieceSize = 4096
        let failures = Mutex(0)
        DispatchQueue.concurrentPerform(iterations: pieces) { index in
            let bytes = [UInt8](repeating: UInt8(index), count: pieceSize)
            do { try spool.write(bytes, at: UInt64(index * pieceSize)) } catch { failures.withLock { $0 += 1 } }
        }
        XCTAssertEqual(failures.withLock { $0 }, 0)
        let all = try spool.read(at: 0, count: pieces * pieceSize)
        XCTAssertEqual(all, (0..<pieces).flatMap { [UInt8](repeating: UInt8($0), count: pieceSize) })
    }

    /// A sealed spool waiting to be packed holds no descriptor; reading it (the pack) opens
    /// it again, and removing it still hands the file to the reserve.
    func testAParkedSpoolHoldsNoDescriptorAndReadsBackWhole() throws {
        func openDescriptors() -> Int { (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1 }
        let reserve = SpoolFileReserve()
        let bytes = sampleBytes(20_000)
        let spool = try Spool(path: path("parked"), id: 1, reserve: reserve)
        try spool.write(bytes, at: 0)
        spool.park()
        XCTAssertFalse(spool.isParked, "a spool still being written is not parked")
        try spool.seal()
        let before = openDescriptors()
        spool.park()
        XCTAssertTrue(spool.isParked)
        XCTAssertEqual(openDescriptors(), before - 1, "its file is closed while it waits")
        XCTAssertEqual(spool.size, UInt64(bytes.count))
        XCTAssertEqual(try spool.read(at: 0, count: bytes.count + 10), bytes, "read back whole")
        XCTAssertFalse(spool.isParked, "reading opened it again")
        spool.park()
        try spool.sync()
        XCTAssertTrue(spool.isParked, "synced and parked again")
        XCTAssertEqual(openDescriptors(), before - 1, "a sync leaves no descriptor open")
        spool.remove()
        XCTAssertEqual(reserve.count, 1, "a parked spool's file still goes to the reserve")
        reserve.closeAll()
        XCTAssertFalse(FileManager.default.fileExists(atPath: path("parked")))
    }
}
