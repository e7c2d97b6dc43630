import CFUSE
import Glibc
import H5FS

// mkdir, rmdir, unlink, rename, symlink, link, mknod: changes to the tree.
// Each goes to the filesystem when it is writable (`writer`), else EROFS.
// Those that hand a node to the kernel reply through `replyEntry`, which gives
// the filesystem's lookup count back if the reply fails.

/// rename(2) flags as the kernel passes them (linux/fs.h; Glibc does not export them).
let renameNoReplace: UInt32 = 1
let renameExchange: UInt32 = 2

/// The longest name statfs promises (f_namemax) and HDF5 link names get here.
let maximumNameLength = 255

extension Dispatcher {
    /// A name for a new entry: UTF-8 (H5FS names are Strings) and at most 255 bytes.
    /// The kernel does not check either for FUSE.
    func newName(_ name: String?) throws(FSError) -> String {
        guard let name else { throw FSError(EILSEQ, "name is not UTF-8") }
        guard name.utf8.count <= maximumNameLength else { throw FSError(ENAMETOOLONG, "name longer than 255 bytes") }
        return name
    }

    package func doMakeDirectory(parent: NodeID, name: String?, mode: UInt32) throws(FSError) -> NodeAttributes {
        let attributes = try writable().makeDirectory(parent: parent, name: try newName(name), mode: mode & 0o7777)
        parents.record(attributes.node, in: parent)
        return attributes
    }

    package func doRemoveDirectory(parent: NodeID, name: String?) throws(FSError) {
        guard let name else { throw FSError(ENOENT, "name is not UTF-8") }
        try writable().removeDirectory(parent: parent, name: name)
    }

    package func doUnlink(parent: NodeID, name: String?) throws(FSError) {
        guard let name else { throw FSError(ENOENT, "name is not UTF-8") }
        try writable().unlink(parent: parent, name: name)
    }

    /// RENAME_NOREPLACE and RENAME_EXCHANGE pass through; anything else
    /// (RENAME_WHITEOUT, for overlayfs) is EINVAL, as on filesystems without it.
    package func doRename(parent: NodeID, name: String?, newParent: NodeID, newName target: String?,
                          flags: UInt32) throws(FSError) {
        let filesystem = try writable()
        guard let name else { throw FSError(ENOENT, "name is not UTF-8") }
        let destination = try newName(target)
        guard flags & ~(renameNoReplace | renameExchange) == 0 else {
            throw FSError(EINVAL, "unsupported rename flags 0x\(String(flags, radix: 16))")
        }
        var renameFlags: RenameFlags = []
        if flags & renameNoReplace != 0 { renameFlags.insert(.noReplace) }
        if flags & renameExchange != 0 { renameFlags.insert(.exchange) }
        try filesystem.rename(parent: parent, name: name, newParent: newParent, newName: destination, flags: renameFlags)
        if newParent != parent { recordMovedDirectory(newParent, destination) }
    }

    /// A directory moved to another parent: readdir's ".." must follow it. Its
    /// node id comes from a lookup that is given back at once.
    private func recordMovedDirectory(_ parent: NodeID, _ name: String) {
        guard let moved = try? filesystem.lookup(parent: parent, name: name) else { return }
        filesystem.forget(node: moved.node, count: 1)
        if moved.isDirectory { parents.record(moved.node, in: parent) }
    }

    /// `target` is stored verbatim (DESIGN.md §2); it must be UTF-8.
    package func doSymlink(parent: NodeID, name: String?, target: String?) throws(FSError) -> NodeAttributes {
        let filesystem = try writable()
        guard let target else { throw FSError(EILSEQ, "link target is not UTF-8") }
        return try filesystem.symlink(parent: parent, name: try newName(name), target: target)
    }

    package func doLink(_ node: NodeID, newParent: NodeID, newName target: String?) throws(FSError) -> NodeAttributes {
        try writable().link(node, newParent: newParent, newName: try newName(target))
    }

    /// mknod(2): a regular file is created (and closed at once); HDF5 has no
    /// device nodes, FIFOs or sockets: EPERM, as vfat answers.
    package func doMakeNode(parent: NodeID, name: String?, mode: UInt32) throws(FSError) -> NodeAttributes {
        let filesystem = try writable()
        let type: UInt32 = mode & UInt32(Glibc.S_IFMT)
        guard type == UInt32(Glibc.S_IFREG) || type == 0 else {
            throw FSError(EPERM, "HDF5 has no special files")
        }
        let (attributes, handle) = try filesystem.create(parent: parent, name: try newName(name),
                                                         mode: mode & 0o7777, flags: O_WRONLY)
        filesystem.release(attributes.node, handle: handle)
        return attributes
    }

    // MARK: - libfuse side

    func mkdir(_ request: fuse_req_t?, parent: NodeID, name: String?, mode: mode_t) {
        let operation = "MKDIR \(parent)/\(name ?? "<not UTF-8>") mode \(String(mode, radix: 8))"
        do {
            replyEntry(request, try doMakeDirectory(parent: parent, name: name, mode: UInt32(mode)), operation)
        } catch {
            replyError(request, error, operation)
        }
    }

    func rmdir(_ request: fuse_req_t?, parent: NodeID, name: String?) {
        let operation = "RMDIR \(parent)/\(name ?? "<not UTF-8>")"
        do {
            try doRemoveDirectory(parent: parent, name: name)
            log.debug("\(operation) -> ok")
            fuse_reply_err(request, 0)
        } catch {
            replyError(request, error, operation)
        }
    }

    func unlink(_ request: fuse_req_t?, parent: NodeID, name: String?) {
        let operation = "UNLINK \(parent)/\(name ?? "<not UTF-8>")"
        do {
            try doUnlink(parent: parent, name: name)
            log.debug("\(operation) -> ok")
            fuse_reply_err(request, 0)
        } catch {
            replyError(request, error, operation)
        }
    }

    func rename(_ request: fuse_req_t?, parent: NodeID, name: String?, newParent: NodeID, newName: String?, flags: UInt32) {
        let operation = "RENAME \(parent)/\(name ?? "<not UTF-8>") -> \(newParent)/\(newName ?? "<not UTF-8>")"
            + (flags == 0 ? "" : " flags \(flags)")
        do {
            try doRename(parent: parent, name: name, newParent: newParent, newName: newName, flags: flags)
            log.debug("\(operation) -> ok")
            fuse_reply_err(request, 0)
        } catch {
            replyError(request, error, operation)
        }
    }

    func symlink(_ request: fuse_req_t?, parent: NodeID, name: String?, target: String?) {
        let operation = "SYMLINK \(parent)/\(name ?? "<not UTF-8>") -> \(target ?? "<not UTF-8>")"
        do {
            replyEntry(request, try doSymlink(parent: parent, name: name, target: target), operation)
        } catch {
            replyError(request, error, operation)
        }
    }

    func link(_ request: fuse_req_t?, node: NodeID, newParent: NodeID, newName: String?) {
        let operation = "LINK \(node) -> \(newParent)/\(newName ?? "<not UTF-8>")"
        do {
            replyEntry(request, try doLink(node, newParent: newParent, newName: newName), operation)
        } catch {
            replyError(request, error, operation)
        }
    }

    func mknod(_ request: fuse_req_t?, parent: NodeID, name: String?, mode: mode_t) {
        let operation = "MKNOD \(parent)/\(name ?? "<not UTF-8>") mode \(String(mode, radix: 8))"
        do {
            replyEntry(request, try doMakeNode(parent: parent, name: name, mode: UInt32(mode)), operation)
        } catch {
            replyError(request, error, operation)
        }
    }

    /// Mutations h5mount cannot express: EROFS on a read-only mount, `code` otherwise.
    func refuseMutation(_ request: fuse_req_t?, unsupported code: Int32, _ operation: @autoclosure () -> String) {
        let error = writer == nil ? mutationError : FSError(code, "not supported by h5mount")
        replyError(request, error, operation())
    }
}
