import Glibc
import H5Model
import Synchronization

/// One HDF5 file served by the mount: the container itself, or a file that an
/// external link names (served under `/.external/<entry>/`).
final class MountedFile: Sendable {
    let index: FileIndex
    let reader: ContainerReader
    /// Where this file's root sits in the mount: [] for the container,
    /// [".external", entry] for an external file.
    let mountPrefix: [String]
    /// Shown for objects whose modification time the file does not track: the file's own mtime.
    let fallbackTime: Timestamp
    /// Canonical paths of groups with several hard links, computed on first need.
    let canonicalGroups = Mutex<[UInt64: H5Path]?>(nil)

    init(index: FileIndex, reader: ContainerReader, mountPrefix: [String], knownTime: Timestamp? = nil) {
        self.index = index
        self.reader = reader
        self.mountPrefix = mountPrefix
        if let knownTime {
            fallbackTime = knownTime
            return
        }
        var st = stat()
        if stat(reader.filePath, &st) == 0 {
            fallbackTime = Timestamp(seconds: Int64(st.st_mtim.tv_sec), nanoseconds: Int32(st.st_mtim.tv_nsec))
        } else {
            fallbackTime = Timestamp(seconds: 0)
        }
    }

    /// Mount-absolute components of an HDF5 path of this file.
    func mountComponents(_ path: H5Path) -> [String] { mountPrefix + path.components }
}

/// Opens a container read-only; injected so tests can serve files from memory.
package typealias ContainerOpener = @Sendable (String) throws(StoreError) -> ContainerReader

/// The container plus every external file opened so far, by index and by resolved path.
final class MountedFiles: Sendable {
    private struct State {
        var files: [MountedFile] = []
        var byPath: [String: FileIndex] = [:]
    }
    private let state = Mutex(State())
    private let opener: ContainerOpener
    let containerDirectory: String
    let policy: ExternalLinkPolicy

    init(container: ContainerReader, opener: @escaping ContainerOpener, policy: ExternalLinkPolicy = .directory) {
        self.opener = opener
        self.policy = policy
        let path = container.filePath
        if let slash = path.lastIndex(of: "/") {
            let dir = String(path[..<slash])
            containerDirectory = dir.isEmpty ? "/" : dir
        } else {
            containerDirectory = "."
        }
        let main = MountedFile(index: 0, reader: container, mountPrefix: [])
        state.withLock { s in
            s.files = [main]
            s.byPath[path] = 0
        }
    }

    var container: MountedFile { self[0] }

    /// After the first change the container is served from its working copy: same
    /// objects at the same addresses, so every node keeps its identity.
    func replaceContainer(with reader: ContainerReader) {
        state.withLock { s in
            let old = s.files[0]
            s.files[0] = MountedFile(index: 0, reader: reader, mountPrefix: [], knownTime: old.fallbackTime)
            s.byPath[reader.filePath] = 0
        }
    }

    subscript(index: FileIndex) -> MountedFile {
        state.withLock { $0.files[index] }
    }

    var openedExternalFiles: [MountedFile] {
        state.withLock { Array($0.files.dropFirst()) }
    }

    /// The external file an entry of `/.external/` names, opening it on first use.
    /// Relative names resolve against the container's directory, as libhdf5 does; the
    /// policy decides which files may be opened (`ExternalFileLocation`: EACCES outside).
    func externalFile(entry: String) throws(FSError) -> MountedFile {
        guard let name = NameRules.externalFileName(forEntry: entry), !name.isEmpty else {
            throw FSError.notFound("/.external/\(entry)")
        }
        let resolved = try ExternalFileLocation.resolve(name: name, directory: containerDirectory, policy: policy)
        if let known = state.withLock({ s in s.byPath[resolved].map { s.files[$0] } }) {
            return known
        }
        let reader: ContainerReader
        do {
            reader = try opener(resolved)
        } catch {
            throw FSError(ENOENT, "external file \(resolved): \(error.message)")
        }
        return state.withLock { s in
            if let index = s.byPath[resolved] { return s.files[index] }
            let file = MountedFile(index: s.files.count, reader: reader,
                                   mountPrefix: [NameRules.externalDirectory, entry])
            s.files.append(file)
            s.byPath[resolved] = file.index
            return file
        }
    }
}
