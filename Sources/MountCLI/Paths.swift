import Glibc

/// realpath(3), or nil.
package func resolvedPath(_ path: String) -> String? {
    guard let resolved = realpath(path, nil) else { return nil }
    defer { free(resolved) }
    return String(cString: resolved)
}

package func currentDirectory() -> String {
    guard let cwd = getcwd(nil, 0) else { return "/" }
    defer { free(cwd) }
    return String(cString: cwd)
}

/// The absolute path the kernel lists a mount point under, without touching
/// the mount point itself when it is not a symlink: on a dead FUSE mount
/// every stat of it fails with ENOTCONN, and realpath(3) with it.
package func mountPointPath(_ path: String) -> String {
    var trimmed = path
    while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed.removeLast() }
    if trimmed == "/" { return "/" }
    let slash = trimmed.lastIndex(of: "/")
    let directory = slash.map { $0 == trimmed.startIndex ? "/" : String(trimmed[..<$0]) } ?? "."
    let name = slash.map { String(trimmed[trimmed.index(after: $0)...]) } ?? trimmed
    if name == "." || name == ".." {
        return resolvedPath(trimmed) ?? lexicallyAbsolute(trimmed)
    }
    let parent = resolvedPath(directory) ?? lexicallyAbsolute(directory)
    let joined = parent == "/" ? "/" + name : parent + "/" + name
    var info = stat()
    if lstat(joined, &info) == 0 && info.st_mode & S_IFMT == S_IFLNK {
        return resolvedPath(joined) ?? joined
    }
    return joined
}

private func lexicallyAbsolute(_ path: String) -> String {
    path.hasPrefix("/") ? path : currentDirectory() + "/" + path
}
