import ChunkEngine
import Glibc
import H5Model
import Synchronization

/// The source files of virtual datasets, found and opened as the mount's rules say
/// (docs/mapping.md, "Virtual datasets"): for the chunk engine's native reads and for the
/// sidecar's `"missing": true`.
///
/// Where a name leads, as libhdf5 1.10 looks for it (H5F_prefix_open_file) minus what a
/// daemon cannot mean: `"."` is the virtual dataset's own file; an absolute name is tried as
/// it is, then its last component in the virtual dataset's directory; a relative name is
/// resolved against the virtual dataset's directory (not the daemon's working directory).
/// `HDF5_VDS_PREFIX` is not applied: when it is set, the engine is given no table and
/// virtual datasets are read through libhdf5, which applies it.
/// What `-o external=` allows external links to lead to, it allows sources to be opened
/// from: under `dir` only files under the container's directory, under `none` none. A
/// refused source reads as the fill value, like a missing one. Files are opened with the
/// mount's opener, so a contained mount vets them in a forked child as it does external files.
final class VirtualSourceTable: VirtualSourceFiles {
    private let opener: ContainerOpener
    private let containerDirectory: String
    private let policy: ExternalLinkPolicy
    private let log: @Sendable (String) -> Void
    /// The directory relative names resolve against, for the file holding a virtual dataset:
    /// its own, except that the container's working copy (in a work directory) stands for
    /// the container, whose directory holds the sources.
    private let directoryOfFile: @Sendable (String) -> String
    /// Opened (or failed) files by resolved path; the failure's message for a missing one.
    private let opened = Mutex<[String: Result<any ContainerReader, FSError>]>([:])

    init(opener: @escaping ContainerOpener, containerDirectory: String, policy: ExternalLinkPolicy,
         log: @escaping @Sendable (String) -> Void,
         directoryOfFile: @escaping @Sendable (String) -> String = VirtualSourceTable.directory(of:)) {
        self.opener = opener; self.containerDirectory = containerDirectory
        self.policy = policy; self.log = log; self.directoryOfFile = directoryOfFile
    }

    /// Whether virtual datasets can be read natively with this table: not when libhdf5
    /// would look for sources under a prefix from the environment.
    static var prefixFromEnvironment: Bool { getenv("HDF5_VDS_PREFIX") != nil }

    func reader(forSourceFile name: String, of virtualFile: any ContainerReader) -> (any ContainerReader)? {
        try? open(name, of: virtualFile.filePath, virtualFile: virtualFile).get()
    }

    func note(_ message: String) { log(message) }

    /// Whether a mapping's source file cannot be read (does not exist, cannot be opened
    /// as HDF5, or the policy refuses it): what the sidecar marks `"missing": true`.
    func isMissing(_ name: String, of virtualFile: any ContainerReader) -> Bool {
        if case .failure = open(name, of: virtualFile.filePath, virtualFile: virtualFile) { return true }
        return false
    }

    private func open(_ name: String, of virtualPath: String,
                      virtualFile: any ContainerReader) -> Result<any ContainerReader, FSError> {
        if name == "." { return .success(virtualFile) }
        var last: Result<any ContainerReader, FSError> = .failure(FSError(ENOENT, "\(name): no source file"))
        for candidate in Self.candidates(for: name, virtualDirectory: directoryOfFile(virtualPath)) {
            last = openResolved(candidate)
            if case .success = last { return last }
        }
        return last
    }

    /// Where libhdf5 looks for `name`, in order (see the type's comment).
    static func candidates(for name: String, virtualDirectory: String) -> [String] {
        guard name.hasPrefix("/") else { return [virtualDirectory + "/" + name] }
        let base = name.split(separator: "/").last.map(String.init) ?? name
        return [name, virtualDirectory + "/" + base]
    }

    @Sendable static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let directory = String(path[..<slash])
        return directory.isEmpty ? "/" : directory
    }

    private func openResolved(_ path: String) -> Result<any ContainerReader, FSError> {
        let resolved: String
        do {
            // The policy is the external links' one, "none" included (no other file is read).
            resolved = try ExternalFileLocation.resolve(name: path, directory: containerDirectory, policy: policy)
        } catch {
            return .failure(error)
        }
        if let known = opened.withLock({ $0[resolved] }) { return known }
        let result: Result<any ContainerReader, FSError>
        if access(resolved, F_OK) != 0 {
            result = .failure(FSError(ENOENT, "virtual source \(resolved): No such file or directory"))
        } else {
            do {
                result = .success(try opener(resolved))
            } catch {
                log("virtual source \(resolved) cannot be opened (its elements read as the fill value): \(error.message)")
                result = .failure(FSError(EIO, error.message))
            }
        }
        return opened.withLock { table in
            if let first = table[resolved] { return first }
            table[resolved] = result
            return result
        }
    }
}
