import Glibc

/// `-o mkdir`: the mount point is created when missing and removed again when
/// the session ends (the daemon removes it on exit, after the unmount and the
/// commit, so `h5mount -u` returns with it gone). A directory that existed is
/// never removed.
package struct CreatedMountPoint: Sendable {
    /// Absolute path of the directory this process created.
    package let path: String

    /// Creates `path` (one level: its parent must exist) unless something is
    /// already there; nil when nothing was created.
    package static func createIfMissing(_ path: String) throws(CLIError) -> CreatedMountPoint? {
        var info = stat()
        if lstat(path, &info) == 0 { return nil }
        guard errno == ENOENT else { return nil }  // checkMountPoint words the failure
        let absolute = mountPointPath(path)
        guard mkdir(absolute, 0o755) == 0 else {
            throw CLIError.path(.mountPoint, path, errno: errno, hint: "-o mkdir could not create it")
        }
        return CreatedMountPoint(path: absolute)
    }

    /// rmdir: only an empty directory goes (whatever someone put there stays).
    package func remove() {
        _ = rmdir(path)
    }
}
