import Foundation

/// The test corpus written by `integration/corpus.py` (see its docstring for what
/// each file exercises). Generated once per test process into a temporary directory.
///
/// Python comes from `H5MOUNT_PYTHON`, else `<package root>/.venv/bin/python`,
/// else `/tmp/venv-probe/bin/python`; it needs h5py, hdf5plugin and numpy.
package enum Corpus {
    package struct Failure: Error, CustomStringConvertible {
        package var description: String
    }

    /// The directory holding the corpus files; throws (failing the test) when it cannot be made.
    package static func directory() throws -> String {
        try generated.get()
    }

    /// Path of a corpus file, e.g. `Corpus.path("types.h5")`.
    package static func path(_ name: String) throws -> String {
        try directory() + "/" + name
    }

    /// The raw bytes numpy wrote for a dataset of a corpus file (`expected/<file>/<path>.expected.bin`).
    package static func expectedBytes(file: String, dataset: String) throws -> [UInt8] {
        let path = try directory() + "/expected/" + file + "/" + dataset.drop { $0 == "/" } + ".expected.bin"
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Failure(description: "corpus has no expected bytes at \(path)")
        }
        return [UInt8](data)
    }

    /// What h5py says about every dataset of a corpus file (odd names excepted), by path.
    package static func facts(file: String) throws -> [String: DatasetFacts] {
        guard let entries = try manifest.get().files[file] else {
            throw Failure(description: "expected.json knows no file \(file)")
        }
        return entries
    }

    /// What h5py says about one dataset.
    package static func facts(file: String, dataset: String) throws -> DatasetFacts {
        guard let entry = try facts(file: file)[dataset] else {
            throw Failure(description: "expected.json knows no dataset \(dataset) in \(file)")
        }
        return entry
    }

    /// hdf5plugin's directory of filter plugins (lz4, bitshuffle, ...).
    package static func pluginPath() throws -> String {
        try manifest.get().pluginPath
    }

    /// A dataset's storage as h5py (HDF5 2.0) reports it: the oracle for `HDF5Container`.
    package struct DatasetFacts: Decodable, Sendable, Hashable {
        /// Contiguous data offset; nil when chunked, unallocated or external.
        package var offset: UInt64?
        package var storageSize: UInt64
        /// Chunk shape; nil unless chunked.
        package var chunks: [UInt64]?
        /// Every stored chunk (`get_chunk_info`).
        package var stored: [StoredChunk]
        /// Whether `expected/<file>/<path>.expected.bin` holds the raw bytes.
        package var expectedBin: Bool

        enum CodingKeys: String, CodingKey {
            case offset, chunks, stored
            case storageSize = "storage_size"
            case expectedBin = "expected_bin"
        }
    }

    /// One stored chunk as h5py reports it.
    package struct StoredChunk: Decodable, Sendable, Hashable {
        /// Chunk origin in element coordinates.
        package var origin: [UInt64]
        package var offset: UInt64
        package var size: UInt64
        package var filterMask: UInt32

        enum CodingKeys: String, CodingKey {
            case origin, offset, size
            case filterMask = "filter_mask"
        }
    }

    private struct Manifest: Decodable {
        var pluginPath: String
        var files: [String: [String: DatasetFacts]]

        enum CodingKeys: String, CodingKey {
            case files
            case pluginPath = "plugin_path"
        }
    }

    /// Runs once per process (a static let is initialised exactly once, thread-safely).
    private static let generated: Result<String, Failure> = generate()

    private static let manifest: Result<Manifest, Failure> = generated.flatMap { directory in
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/expected.json"))
            return .success(try JSONDecoder().decode(Manifest.self, from: data))
        } catch {
            return .failure(Failure(description: "Corpus: cannot read expected.json: \(error)"))
        }
    }

    private static var packageRoot: URL {
        // This file is <root>/Tests/TestSupport/Corpus.swift.
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
    }

    /// The python with h5py that the corpus uses, for tests that write their own small files.
    package static func pythonPath() throws -> String {
        guard let python = python() else { throw Failure(description: "Corpus: no python found (set H5MOUNT_PYTHON)") }
        return python
    }

    private static func python() -> String? {
        let environment = ProcessInfo.processInfo.environment
        let candidates = [environment["H5MOUNT_PYTHON"], packageRoot.path + "/.venv/bin/python",
                          "/tmp/venv-probe/bin/python"]
        return candidates.compactMap { $0 }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    private static func generate() -> Result<String, Failure> {
        guard let python = python() else {
            return .failure(Failure(description: """
                Corpus: no python found. Set H5MOUNT_PYTHON, or create \(packageRoot.path)/.venv \
                with h5py, hdf5plugin and numpy (or /tmp/venv-probe).
                """))
        }
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("h5mount-corpus")
        removeStale(in: base)
        let directory = base.appendingPathComponent(String(getpid()))
        do {
            try? FileManager.default.removeItem(at: directory)
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: python)
            process.arguments = [packageRoot.path + "/integration/corpus.py", directory.path]
            let errors = Pipe()
            process.standardError = errors
            try process.run()
            let output = errors.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else {
                return .failure(Failure(description: "Corpus: \(python) corpus.py failed (status "
                    + "\(process.terminationStatus)): " + String(decoding: output, as: UTF8.self)))
            }
            return .success(directory.path)
        } catch {
            return .failure(Failure(description: "Corpus: cannot run \(python): \(error)"))
        }
    }

    /// Removes corpora left by test processes that are gone (directories are named by pid).
    private static func removeStale(in base: URL) {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: base.path)) ?? []
        for name in names {
            guard let pid = Int32(name), pid != getpid() else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH {
                try? FileManager.default.removeItem(at: base.appendingPathComponent(name))
            }
        }
    }
}
