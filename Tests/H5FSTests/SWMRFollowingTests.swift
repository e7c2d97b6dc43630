import Foundation
import Glibc
import H5Model
@testable import H5FS
import TestSupport
import XCTest

/// `-o swmr` through ContainerFilesystem: a dataset a SWMR writer appends to shows its new
/// size, sidecar shape and frames after the refresh interval; a plain mount does not.
final class SWMRFollowingTests: XCTestCase {
    var directory = ""

    override func setUpWithError() throws {
        directory = NSTemporaryDirectory() + "h5fs-swmr-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// A SWMR writer in a child process, started before the container is opened (as SWMR
    /// wants: a reader's shared lock keeps a later writer out). `/frames` uint16 (N, 4, 6) in
    /// (2, 4, 6) gzip chunks, frame i filled with i, in the 1.10 file format (the test's
    /// h5py may be newer than the library under the mount). `append(upTo:)` writes frames
    /// up to a count and returns once they are flushed.
    final class Writer {
        let process = Process()
        let input = Pipe(), output = Pipe()
        let path: String

        init(path: String, frames: Int) throws {
            self.path = path
            process.executableURL = URL(fileURLWithPath: try Corpus.pythonPath())
            process.arguments = ["-c", """
            import sys, h5py
            with h5py.File(sys.argv[1], 'w', libver=('v110', 'v110')) as f:
                ds = f.create_dataset('frames', shape=(0, 4, 6), maxshape=(None, 4, 6), chunks=(2, 4, 6),
                                      dtype='<u2', compression='gzip')
                f.swmr_mode = True
                for line in sys.stdin:
                    for i in range(ds.shape[0], int(line)):
                        ds.resize((i + 1, 4, 6))
                        ds[i] = i
                        ds.flush()
                    print('ok', flush=True)
            """, path]
            process.standardInput = input
            process.standardOutput = output
            try process.run()
            try append(upTo: frames)
        }

        func append(upTo frames: Int) throws {
            input.fileHandleForWriting.write(Data("\(frames)\n".utf8))
            var answer = Data()
            while !answer.contains(UInt8(ascii: "\n")) {
                let more = output.fileHandleForReading.availableData
                guard !more.isEmpty else { throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "the writer exited"]) }
                answer += more
            }
        }

        func stop() {
            try? input.fileHandleForWriting.close()
            process.waitUntilExit()
        }
    }

    private func expected(_ count: Int) -> [UInt8] {
        (0..<count).flatMap { i in (0..<24).flatMap { _ in [UInt8(i), 0] } }
    }

    private func readAll(_ fs: ContainerFilesystem, _ node: NodeID) throws -> [UInt8] {
        let handle = try fs.open(node, flags: O_RDONLY)
        defer { fs.release(node, handle: handle) }
        return try fs.read(node, handle: handle, offset: 0, size: 1 << 20)
    }

    private func shape(_ fs: ContainerFilesystem) throws -> JSONValue? {
        let sidecar = try fs.lookup(parent: 1, name: "frames.attrs")
        return try JSONValue.parse(String(decoding: try readAll(fs, sidecar.node), as: UTF8.self))["shape"]
    }

    func testGrowthShowsAfterTheIntervalWithTheWritersFrames() throws {
        let writer = try Writer(path: directory + "/live.h5", frames: 3)
        defer { writer.stop() }
        var options = MountOptions(readOnly: true)
        options.swmr = true
        options.swmrInterval = 0.05
        let fs = try ContainerFilesystem(containerPath: writer.path, options: options)
        let node = try fs.lookup(parent: 1, name: "frames").node
        XCTAssertEqual(try fs.attributes(of: node).size, 3 * 48)
        XCTAssertEqual(try readAll(fs, node), expected(3), "frame 2 sits in a half-full edge chunk")
        XCTAssertEqual(try shape(fs), .array([.int(3), .int(4), .int(6)]))

        try writer.append(upTo: 6)
        usleep(100_000)
        XCTAssertEqual(try fs.attributes(of: node).size, 6 * 48)
        XCTAssertEqual(try readAll(fs, node), expected(6), "the old edge chunk is read again, not served from the cache")
        usleep(100_000)
        XCTAssertEqual(try shape(fs), .array([.int(6), .int(4), .int(6)]))
        XCTAssertEqual(try fs.listDirectory(1).first { $0.name == "frames" }?.attributes.size, 6 * 48)
    }

    func testWithoutSWMRAFileBeingWrittenIsRefusedNamingTheOption() throws {
        let writer = try Writer(path: directory + "/live.h5", frames: 1)
        defer { writer.stop() }
        do {
            _ = try ContainerFilesystem(containerPath: writer.path, options: MountOptions(readOnly: true))
            XCTFail("a file a SWMR writer holds opened without -o swmr")
        } catch {
            XCTAssertEqual(error.errno, EBUSY)
            XCTAssertTrue(error.message.contains("-o swmr"), error.message)
        }
    }

    func testARefreshIsClaimedOncePerInterval() {
        let schedule = RefreshSchedule(interval: 1)
        XCTAssertTrue(schedule.claim(7, now: 100))
        XCTAssertFalse(schedule.claim(7, now: 100.5), "within the interval: the node stays as it is")
        XCTAssertTrue(schedule.claim(8, now: 100.5), "each node has its own clock")
        XCTAssertTrue(schedule.claim(7, now: 101))
        XCTAssertFalse(schedule.claim(7, now: 101.999))
    }
}
