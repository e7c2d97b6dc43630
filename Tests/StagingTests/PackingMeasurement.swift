import Foundation
import H5Model
import HDF5
import Staging
import Synchronization
import XCTest

/// Not a timed test: a measurement for the write-path report, run on demand in release:
///
///     H5MOUNT_MEASURE=/path/to/tree swift test -c release --filter PackingMeasurement
///
/// Packs every regular file of the tree (without site-packages and __pycache__) into a new
/// container, gzip 6, through the real write path (WorkingCopy: one spool per file, closed
/// and packed; commit), and compares seconds and bytes with an h5py script doing what the
/// seed's h5zip does (one gzip dataset per file, level 6 and 9) and with `tar czf`.
final class PackingMeasurement: StagingTestCase {
    func testMeasurePackingATree() throws {
        guard let tree = ProcessInfo.processInfo.environment["H5MOUNT_MEASURE"] else {
            throw XCTSkip("set H5MOUNT_MEASURE=TREE to measure packing")
        }
        let (directories, files) = try walk(tree)
        let total = files.reduce(0) { $0 + $1.size }
        print("tree \(tree): \(files.count) regular files, \(directories.count) directories, \(total) bytes")
        // Warm the page cache so every contender reads from memory.
        for file in files { _ = FileManager.default.contents(atPath: tree + "/" + file.path) }

        for concurrent in [false, true] {
            let container = path("ours-\(concurrent).h5")
            let started = Date()
            try pack(tree, directories, files, into: container, concurrent: concurrent)
            let seconds = Date().timeIntervalSince(started)
            print(String(format: "h5mount gzip 6 (%@): %.2f s, %d bytes", concurrent ? "packs on 2 threads, as FUSE releases" : "one thread",
                         seconds, try size(container)))
            // Spot check through libhdf5.
            let reader = try HDF5Container.open(path: container)
            for file in files.prefix(20) {
                let expected = try XCTUnwrap(FileManager.default.contents(atPath: tree + "/" + file.path))
                XCTAssertEqual(try reader.bytes("/" + file.path), [UInt8](expected), file.path)
            }
        }

        for level in [6, 9] {
            let container = path("h5py-\(level).h5")
            let started = Date()
            try runPython(Self.h5zip, arguments: [tree, container, String(level)])
            print(String(format: "h5py (h5zip-like) gzip %d: %.2f s, %d bytes", level, Date().timeIntervalSince(started),
                         try size(container)))
        }

        let archive = path("tree.tgz")
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/bin/tar")
        let url = URL(fileURLWithPath: tree)
        tar.arguments = ["czf", archive, "--exclude=site-packages", "--exclude=__pycache__",
                         "-C", url.deletingLastPathComponent().path, url.lastPathComponent]
        let started = Date()
        try tar.run()
        tar.waitUntilExit()
        print(String(format: "tar czf: %.2f s, %d bytes", Date().timeIntervalSince(started), try size(archive)))
    }

    /// The seed's h5zip, as h5py code: every regular file a dataset at its relative path.
    static let h5zip = """
    import os, sys, h5py, numpy
    root, out, level = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with h5py.File(out, 'w') as f:
        for directory, dirs, files in os.walk(root):
            dirs[:] = sorted(d for d in dirs if d not in ('site-packages', '__pycache__'))
            for name in sorted(files):
                full = os.path.join(directory, name)
                if os.path.islink(full) or not os.path.isfile(full):
                    continue
                with open(full, 'rb') as handle:
                    data = numpy.frombuffer(handle.read(), dtype='u1')
                key = os.path.relpath(full, root)
                if data.size:
                    f.create_dataset(key, data=data, compression='gzip', compression_opts=level)
                else:
                    f.create_dataset(key, data=data)
    """

    struct File { var path: String; var size: Int }

    private func walk(_ root: String) throws -> ([String], [File]) {
        var directories: [String] = []
        var files: [File] = []
        guard let walker = FileManager.default.enumerator(atPath: root) else { return ([], []) }
        while let relative = walker.nextObject() as? String {
            let name = (relative as NSString).lastPathComponent
            var info = stat()
            guard lstat(root + "/" + relative, &info) == 0 else { continue }
            switch info.st_mode & S_IFMT {
            case S_IFDIR:
                if name == "site-packages" || name == "__pycache__" { walker.skipDescendants(); continue }
                directories.append(relative)
            case S_IFREG:
                files.append(File(path: relative, size: Int(info.st_size)))
            default:
                continue
            }
        }
        return (directories.sorted(), files.sorted { $0.path < $1.path })
    }

    /// The write path as the daemon will drive it: groups, then per file a spool filled
    /// with write()-sized pieces, closed, and packed (on this thread, or on two threads
    /// as the FUSE session's release callbacks would), then the commit.
    private func pack(_ tree: String, _ directories: [String], _ files: [File], into container: String,
                      concurrent: Bool) throws {
        let session = try WorkingCopy(container: container, options: WorkingCopyOptions(compression: .standard))
        for directory in directories { try session.createGroup(at: .p("/" + directory)) }
        let queue = PackQueue(capacity: 8)
        let failures = Mutex<[String]>([])
        var threads: [Thread] = []
        if concurrent {
            for _ in 0..<2 {
                let thread = Thread {
                    while let (spool, path) = queue.pop() {
                        do { try session.packFile(spool, at: path) } catch { failures.withLock { $0.append("\(error)") } }
                    }
                }
                thread.start()
                threads.append(thread)
            }
        }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 4096)
        defer { buffer.deallocate() }
        for file in files {
            let spool = try session.makeSpool()
            let descriptor = open(tree + "/" + file.path, O_RDONLY)
            XCTAssertGreaterThanOrEqual(descriptor, 0)
            var offset: UInt64 = 0
            while true {
                let got = read(descriptor, buffer.baseAddress, buffer.count)
                if got <= 0 { break }
                try spool.write(UnsafeRawBufferPointer(rebasing: buffer[0..<got]), at: offset)
                offset += UInt64(got)
            }
            close(descriptor)
            let path = H5Path.p("/" + file.path)
            try session.closeFile(spool, at: path)
            if concurrent {
                queue.push((spool, path))
            } else {
                try session.packFile(spool, at: path)
            }
        }
        queue.finish()
        while threads.contains(where: { !$0.isFinished }) { usleep(1000) }
        XCTAssertEqual(failures.withLock { $0 }, [])
        try session.commit()
    }

    private func size(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? 0
    }
}

/// A bounded hand-off from the writing thread to the packing threads.
final class PackQueue: @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [(Spool, H5Path)] = []
    private var finished = false
    private let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    func push(_ item: (Spool, H5Path)) {
        condition.lock()
        while items.count >= capacity { condition.wait() }
        items.append(item)
        condition.broadcast()
        condition.unlock()
    }

    func pop() -> (Spool, H5Path)? {
        condition.lock()
        defer { condition.unlock() }
        while items.isEmpty && !finished { condition.wait() }
        guard !items.isEmpty else { return nil }
        condition.broadcast()
        return items.removeFirst()
    }

    func finish() {
        condition.lock()
        finished = true
        condition.broadcast()
        condition.unlock()
    }
}
