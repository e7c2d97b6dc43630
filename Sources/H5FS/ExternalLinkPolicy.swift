import Glibc

/// Which files external links may lead to (`-o external=dir|any|none`, default `dir`).
///
/// A container from someone else can hold an external link to any path (`/home/you/.ssh/...`,
/// `../../other-project/secret.h5`), and with `allow_other` every user of the machine reads
/// through the mount with the mounting user's rights. So by default a link is followed only
/// to a file under the container's own directory, after resolving symbolic links.
package enum ExternalLinkPolicy: String, Sendable, Hashable, CaseIterable {
    /// Files under the container's directory (symbolic links resolved) only; others answer EACCES.
    case directory = "dir"
    /// Any file the mounting user can read.
    case any
    /// External links are not shown at all: left out of listings and lookups, no `/.external/`.
    case none

    package init?(parsing text: String) { self.init(rawValue: text) }
}

/// Where the file an external link names is, and whether the policy lets the mount open it.
package enum ExternalFileLocation {
    /// The path to open for the link's file `name` (relative names resolve against the
    /// container's directory, as libhdf5 does): symbolic links resolved once here, so the
    /// opener never follows one on its own. A file that does not exist (yet) keeps its
    /// lexically normalised path, its directory resolved; opening it then fails and the
    /// link dangles.
    /// Throws EACCES when the policy is `dir` and the file lies outside `directory`
    /// (which is itself resolved), ENOENT under `none`.
    package static func resolve(name: String, directory: String, policy: ExternalLinkPolicy,
                        realPath: (String) -> String? = systemRealPath) throws(FSError) -> String {
        guard policy != .none else { throw FSError(ENOENT, "external link to \(name): hidden (-o external=none)") }
        let joined = name.hasPrefix("/") ? name : directory + "/" + name
        let resolved = realPath(joined) ?? resolvedParent(of: lexicallyNormalized(joined), realPath: realPath)
        guard policy == .directory else { return resolved }
        let base = realPath(directory) ?? lexicallyNormalized(directory)
        guard isInside(resolved, directory: base) else {
            throw FSError(EACCES, "external link to \(name) not followed: \(resolved) is outside the container's "
                          + "directory \(base) (mount with -o external=any to follow it)")
        }
        return resolved
    }

    /// A missing file's path with its directory's symbolic links resolved (a link to a
    /// missing file still says where it would be); the lexical path if that is missing too.
    static func resolvedParent(of normalized: String, realPath: (String) -> String?) -> String {
        guard let slash = normalized.lastIndex(of: "/"), slash != normalized.startIndex,
              let parent = realPath(String(normalized[..<slash])) else { return normalized }
        return (parent == "/" ? "" : parent) + String(normalized[slash...])
    }

    /// Whether absolute `path` is `directory` itself or below it.
    static func isInside(_ path: String, directory: String) -> Bool {
        if directory == "/" { return path.hasPrefix("/") }
        return path == directory || path.hasPrefix(directory + "/")
    }

    /// "/a/./b/../c//d" -> "/a/c/d" (no file system access; ".." above "/" stays at "/").
    static func lexicallyNormalized(_ path: String) -> String {
        var parts: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) {
            switch part {
            case ".": continue
            case "..": _ = parts.popLast()
            default: parts.append(part)
            }
        }
        return "/" + parts.joined(separator: "/")
    }

    /// realpath(3), or nil.
    package static func systemRealPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
