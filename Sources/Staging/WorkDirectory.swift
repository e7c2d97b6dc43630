import Glibc

/// The on-disk layout of a session's work directory, `<container>.h5mount-work/`, next to
/// the container (same filesystem, so the working copy can be renamed over it):
///
///     lock          held with flock(LOCK_EX) by the live session (a crash releases it)
///     journal       the session's records (Journal)
///     working.h5    the working copy (absent with -o inplace)
///     crashed.h5    during recovery: the crashed working copy, read for its chunks
///     spool/<id>    one sparse file per file open for writing, or closed and not yet packed
///     progress      during a commit: where it stands (ProgressRecord), read by `h5mount -u`
package struct WorkDirectory: Sendable {
    package let container: String
    package let path: String

    /// The work directory of `container`: made absolute, and symbolic links resolved, so the
    /// commit replaces the file the link points at, from a directory on its filesystem.
    package init(container: String) {
        let absolute = container.hasPrefix("/") ? container : Self.currentDirectory() + "/" + container
        let resolved = Self.resolved(absolute)
        self.container = resolved
        path = resolved + ".h5mount-work"
    }

    /// realpath of the file, or of its directory when the file does not exist (yet).
    private static func resolved(_ path: String) -> String {
        if let real = realpath(path, nil) {
            defer { free(real) }
            return String(cString: real)
        }
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return path }
        let parent = String(path[..<slash])
        guard let real = realpath(parent, nil) else { return path }
        defer { free(real) }
        let base = String(cString: real)
        return (base == "/" ? "" : base) + String(path[slash...])
    }

    package var lockPath: String { path + "/lock" }
    package var journalPath: String { path + "/journal" }
    package var workingPath: String { path + "/working.h5" }
    package var crashedPath: String { path + "/crashed.h5" }
    package var spoolDirectory: String { path + "/spool" }
    package var progressPath: String { path + "/progress" }
    package func spoolPath(_ id: UInt64) -> String { spoolDirectory + "/\(id)" }

    /// The directory holding the container (fsync'ed after the commit's rename).
    package var containerDirectory: String {
        guard let slash = container.lastIndex(of: "/") else { return "." }
        return slash == container.startIndex ? "/" : String(container[..<slash])
    }

    package var exists: Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// Takes the session lock: the open descriptor (closing it releases the lock), or EBUSY
    /// when a live session holds it. Creates the lock file if needed.
    func acquireLock() throws(StagingError) -> Int32 {
        let descriptor = try SystemCalls.open(lockPath, O_RDWR | O_CREAT)
        while flock(descriptor, LOCK_EX | LOCK_NB) != 0 {
            if errno == EINTR { continue }
            let code = errno
            close(descriptor)
            if code == EWOULDBLOCK {
                throw StagingError(EBUSY, "\(container): in use by another h5mount session (\(path))")
            }
            throw .system(lockPath, code: code)
        }
        return descriptor
    }

    /// Whether a live session holds the lock (false when there is no lock file).
    var isLocked: Bool {
        let descriptor = open(lockPath, O_RDWR | O_CLOEXEC)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        return flock(descriptor, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK
    }

    /// Spool ids found in `spool/`.
    func spoolIDs() -> [UInt64] {
        guard let directory = opendir(spoolDirectory) else { return [] }
        defer { closedir(directory) }
        var ids: [UInt64] = []
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if let id = UInt64(name) { ids.append(id) }
        }
        return ids.sorted()
    }

    /// Deletes everything this layout names, then the directory. The lock file goes last but
    /// one (the caller closes its lock descriptor after this).
    func remove() throws(StagingError) {
        for id in spoolIDs() { try SystemCalls.removeFile(spoolPath(id)) }
        if rmdir(spoolDirectory) != 0 && errno != ENOENT { throw .system("remove \(spoolDirectory)") }
        for file in [workingPath, crashedPath, journalPath, progressPath, progressPath + ".new", lockPath] { try SystemCalls.removeFile(file) }
        if rmdir(path) != 0 && errno != ENOENT { throw .system("remove \(path)") }
    }

    private static func currentDirectory() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buffer, buffer.count) != nil else { return "." }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
