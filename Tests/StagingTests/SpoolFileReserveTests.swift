import Foundation
import Glibc
import Staging
import XCTest

/// A removed spool's file is emptied and reused by the next spool (renamed to its name),
/// so a copied-in tree does not create and delete a file per file it writes.
final class SpoolFileReserveTests: StagingTestCase {
    func inode(_ path: String) -> UInt64? {
        var info = stat()
        return stat(path, &info) == 0 ? UInt64(info.st_ino) : nil
    }

    func testARemovedSpoolsFileIsEmptiedAndBecomesTheNextSpool() throws {
        let reserve = SpoolFileReserve()
        let first = try Spool(path: path("1"), id: 1, reserve: reserve)
        try first.write(Array(repeating: 0xAB, count: 100_000), at: 0)
        let kept = try XCTUnwrap(inode(path("1")))
        first.remove()
        XCTAssertEqual(reserve.count, 1)
        var info = stat()
        XCTAssertEqual(stat(path("1"), &info), 0, "kept under its old name until reused")
        XCTAssertEqual(info.st_size, 0, "emptied when kept")

        let second = try Spool(path: path("2"), id: 2, reserve: reserve)
        XCTAssertEqual(reserve.count, 0)
        XCTAssertNil(inode(path("1")), "renamed to the new spool's name")
        XCTAssertEqual(inode(path("2")), kept, "the same file, not a new one")
        XCTAssertEqual(second.size, 0)
        XCTAssertEqual(try second.read(at: 0, count: 10), [], "nothing of the old spool shows")
        try second.truncate(to: 50)
        XCTAssertEqual(try second.read(at: 0, count: 50), Array(repeating: 0, count: 50), "holes read as zeros")
        try second.write(Array("new".utf8), at: 10)
        XCTAssertEqual(try second.read(at: 8, count: 6), [0, 0] + Array("new".utf8) + [0])
    }

    /// With `naming`, the rename happens when the old spool is given back (on the packing
    /// thread), so taking the file for the next spool (on the thread answering a CREATE)
    /// costs no system call.
    func testANamingReserveRenamesAtGiveSoTheNextSpoolTakesItAsItIs() throws {
        final class Counter: @unchecked Sendable { var next: UInt64 = 7 }
        let counter = Counter()
        let reserve = SpoolFileReserve(naming: { [directory] in
            defer { counter.next += 1 }
            return (counter.next, directory + "/\(counter.next)")
        })
        XCTAssertNil(reserve.takeNamed(), "nothing kept yet")
        let first = try Spool(path: path("1"), id: 1, reserve: reserve)
        try first.write(Array(repeating: 0xCD, count: 50_000), at: 0)
        let file = try XCTUnwrap(inode(path("1")))
        first.remove()
        XCTAssertNil(inode(path("1")), "renamed when given back")
        XCTAssertEqual(inode(path("7")), file, "to the name of the id it was given")
        var info = stat()
        XCTAssertEqual(stat(path("7"), &info), 0)
        XCTAssertEqual(info.st_size, 0, "and emptied")
        let kept = try XCTUnwrap(reserve.takeNamed())
        XCTAssertEqual(kept.id, 7)
        XCTAssertEqual(kept.path, path("7"))
        let second = try Spool(reusing: kept, reserve: reserve)
        XCTAssertEqual(second.id, 7)
        XCTAssertEqual(inode(path("7")), file, "taken as it is")
        XCTAssertEqual(second.size, 0)
        try second.write(Array("next".utf8), at: 3)
        XCTAssertEqual(try second.read(at: 0, count: 10), [0, 0, 0] + Array("next".utf8))
        second.remove()
        XCTAssertEqual(inode(path("8")), file, "and named ahead again when given back")
        reserve.closeAll()
        XCTAssertNil(inode(path("8")))
    }

    /// A reused file is emptied by truncation, after which ext4 flushes it at the close of
    /// its descriptor; the reserve closes that descriptor and keeps a new one, so parking
    /// the next spool (closing its file while it waits to be packed) writes nothing to disk.
    func testParkingASpoolInAReusedFileDoesNotFlushIt() throws {
        let reserve = SpoolFileReserve()
        let first = try Spool(path: path("1"), id: 1, reserve: reserve)
        try first.write(sampleBytes(64 * 1024), at: 0)
        first.remove()
        let second = try Spool(path: path("2"), id: 2, reserve: reserve)
        try second.write(sampleBytes(64 * 1024, seed: 2), at: 0)
        try second.seal()
        guard let before = isOnlyInMemory(path("2")) else {
            throw XCTSkip("delayed allocation cannot be seen here (no FIEMAP, or no delayed allocation)")
        }
        XCTAssertTrue(before, "just written, nothing is on disk yet")
        second.park()
        XCTAssertEqual(isOnlyInMemory(path("2")), true, "parking the spool flushed its file")
        XCTAssertEqual(try second.read(at: 0, count: 64 * 1024), sampleBytes(64 * 1024, seed: 2))
        second.remove()
        reserve.closeAll()
    }

    func testAFullReserveDeletesAndCloseAllDeletesWhatItKept() throws {
        let reserve = SpoolFileReserve(limit: 1)
        let a = try Spool(path: path("a"), id: 1, reserve: reserve)
        let b = try Spool(path: path("b"), id: 2, reserve: reserve)
        a.remove()
        b.remove()
        XCTAssertEqual(reserve.count, 1)
        XCTAssertNotNil(inode(path("a")))
        XCTAssertNil(inode(path("b")), "past the limit a spool file is deleted as before")
        reserve.closeAll()
        XCTAssertEqual(reserve.count, 0)
        XCTAssertNil(inode(path("a")))
        // With nothing kept, a spool makes its file as before.
        let c = try Spool(path: path("c"), id: 3, reserve: reserve)
        XCTAssertNotNil(inode(path("c")))
        c.remove()
        reserve.closeAll()
    }

    func testASealedSpoolKeptUntilCommitIsReadBackIntact() throws {
        // The reserve only takes a file at remove(): a sealed spool still being read (a
        // closed file waiting to be packed) is untouched by later spools.
        let reserve = SpoolFileReserve()
        let old = try Spool(path: path("old"), id: 1, reserve: reserve)
        old.remove()
        let waiting = try Spool(path: path("waiting"), id: 2, reserve: reserve)
        try waiting.write(Array("keep me".utf8), at: 0)
        try waiting.seal()
        let other = try Spool(path: path("other"), id: 3, reserve: reserve)
        try other.write(Array("other".utf8), at: 0)
        XCTAssertEqual(try Spool(sealedAt: path("waiting"), id: 2).read(at: 0, count: 7), Array("keep me".utf8))
        other.remove()
        waiting.remove()
        reserve.closeAll()
    }
}
