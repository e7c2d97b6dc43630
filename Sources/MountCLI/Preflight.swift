import Glibc

// Checks made before anything is mounted, each with its own message and
// exit status. They are cheap and racy by nature; the mount itself still
// reports what changes in between.

/// The container exists, is a file and is readable. Returns its absolute
/// path (the daemon runs from "/", and HDF5 resolves external links
/// relative to it). Whether it is HDF5 is the filesystem's to say.
package func checkContainer(_ path: String) throws(CLIError) -> String {
    var info = stat()
    guard stat(path, &info) == 0 else { throw CLIError.path(.containerUnavailable, path, errno: errno) }
    if info.st_mode & S_IFMT == S_IFDIR {
        throw CLIError(.notHDF5, "h5mount: \(path): not an HDF5 file (it is a directory)")
    }
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw CLIError.path(.containerUnavailable, path, errno: errno) }
    close(fd)
    return resolvedPath(path) ?? path
}

/// What the preflight decided about the container of a mount.
package struct ContainerPlan: Sendable, Equatable {
    /// Absolute, symbolic links resolved (the daemon runs from "/"; the commit
    /// replaces the file a link points at).
    package var path: String
    /// The container is not there yet: the filesystem creates it.
    package var isNew: Bool
    /// Mount read-only: `-o ro`, or the user cannot write the container.
    package var readOnly: Bool
    /// One line for stderr, when the mount is read-only although -o ro was not given.
    package var note: String?
}

/// The container of a mount, as `-o ro` or not:
/// - read-only: it must exist and be readable (`checkContainer(_:)`);
/// - writable and missing: its directory must exist and be writable (the
///   filesystem creates the file on mount);
/// - writable and present: readable; and writable, together with its directory
///   (the commit renames the working copy over it, and the work directory is
///   made next to it) — else the mount is read-only, with a one-line note.
package func checkContainer(_ path: String, readOnly: Bool) throws(CLIError) -> ContainerPlan {
    if readOnly {
        return ContainerPlan(path: try checkContainer(path), isNew: false, readOnly: true, note: nil)
    }
    var info = stat()
    if lstat(path, &info) != 0 {
        let code = errno
        guard code == ENOENT, !path.hasSuffix("/") else { throw CLIError.path(.containerUnavailable, path, errno: code) }
        return try newContainer(path)
    }
    let absolute = try checkContainer(path)
    let directory = parentDirectory(absolute)
    let fileWritable = access(absolute, W_OK) == 0
    let directoryWritable = access(directory, W_OK) == 0
    if fileWritable && directoryWritable {
        return ContainerPlan(path: absolute, isNew: false, readOnly: false, note: nil)
    }
    let why = fileWritable ? "its directory \(directory) is not writable" : "it is not writable"
    return ContainerPlan(path: absolute, isNew: false, readOnly: true,
                         note: "h5mount: \(path): \(why) by you; mounting read-only")
}

/// A container to be created: the directory must be there and writable.
private func newContainer(_ path: String) throws(CLIError) -> ContainerPlan {
    let slash = path.lastIndex(of: "/")
    let directory = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
    let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
    guard let resolved = resolvedPath(directory) else {
        throw CLIError.path(.containerUnavailable, path, errno: errno)
    }
    guard access(resolved, W_OK) == 0 else {
        throw CLIError.path(.containerUnavailable, path, errno: errno, hint: "cannot create it in \(directory)")
    }
    return ContainerPlan(path: (resolved == "/" ? "" : resolved) + "/" + name, isNew: true, readOnly: false, note: nil)
}

/// "/a/b/c.h5" -> "/a/b"; "/c.h5" -> "/".
package func parentDirectory(_ absolute: String) -> String {
    guard let slash = absolute.lastIndex(of: "/") else { return "." }
    return slash == absolute.startIndex ? "/" : String(absolute[..<slash])
}

/// The mount point is an existing directory, not already a mount, and (for
/// a user) writable, as fusermount3 requires. Returns its absolute path.
package func checkMountPoint(_ path: String, mounts: [MountEntry] = currentMounts()) throws(CLIError) -> String {
    let absolute = mountPointPath(path)
    var info = stat()
    if stat(path, &info) != 0 {
        let code = errno
        if code == ENOTCONN { throw deadMount(path) }
        throw CLIError.path(.mountPoint, path, errno: code)
    }
    guard info.st_mode & S_IFMT == S_IFDIR else { throw CLIError.path(.mountPoint, path, errno: ENOTDIR) }
    if let entry = mountEntry(at: absolute, in: mounts) {
        // stat may still answer from the kernel's attribute cache after the
        // daemon died; statfs always asks the daemon.
        var fsInfo = statvfs()
        if entry.fileSystemType.hasPrefix("fuse"), statvfs(path, &fsInfo) != 0, errno == ENOTCONN {
            throw deadMount(path)
        }
        let unmount = entry.fileSystemType == "fuse.h5mount" ? "h5mount -u" : "umount"
        throw CLIError(.mountPoint, "h5mount: \(path): already a mount point (\(entry.fileSystemType) from "
                       + "\(entry.source)); unmount it first: \(unmount) \(path)")
    }
    if geteuid() != 0 && access(path, W_OK) != 0 {
        throw CLIError.path(.mountPoint, path, errno: errno, hint: "fusermount3 needs write access to the mount point")
    }
    return absolute
}

/// A FUSE daemon that died without unmounting leaves its mount behind:
/// every access then fails with ENOTCONN until someone unmounts it.
package func deadMount(_ path: String) -> CLIError {
    CLIError(.mountPoint, "h5mount: \(path): a dead FUSE mount is still attached here (Transport endpoint is "
             + "not connected); remove it with: fusermount3 -u \(path)")
}

/// /dev/fuse exists and opens for reading and writing (libfuse opens it
/// itself, also for a user, before it asks fusermount3 to mount); a user
/// also needs fusermount3.
package func checkFUSEAvailable() throws(CLIError) {
    var info = stat()
    guard stat("/dev/fuse", &info) == 0 else {
        throw CLIError.path(.fuseUnavailable, "/dev/fuse", errno: errno, hint: "is the fuse module loaded? try: modprobe fuse")
    }
    guard access("/dev/fuse", R_OK | W_OK) == 0 else {
        throw CLIError.path(.fuseUnavailable, "/dev/fuse", errno: errno)
    }
    if geteuid() != 0 && findExecutable("fusermount3") == nil {
        throw CLIError(.fuseUnavailable, "h5mount: fusermount3 not found in PATH (install the fuse3 package)")
    }
}

/// The first executable `name` on PATH.
package func findExecutable(_ name: String) -> String? {
    let path = getenv("PATH").map { String(cString: $0) } ?? "/usr/bin:/bin"
    for directory in path.split(separator: ":") where !directory.isEmpty {
        let candidate = directory + "/" + name
        if access(candidate, X_OK) == 0 { return candidate }
    }
    return nil
}
