import CFUSE
import Glibc
import H5FS

// lookup, forget, getattr, readlink, access, statfs.

extension Dispatcher {
    /// Counts one kernel lookup of the node (in the filesystem) on success.
    package func doLookup(parent: NodeID, name: String) throws(FSError) -> NodeAttributes {
        let attributes = try filesystem.lookup(parent: parent, name: name)
        if attributes.isDirectory { parents.record(attributes.node, in: parent) }
        return attributes
    }

    func lookup(_ request: fuse_req_t?, parent: NodeID, name: String?) {
        let operation = "LOOKUP \(parent)/\(name ?? "<not UTF-8>")"
        // A name that is not UTF-8 cannot match any entry (H5FS names are Strings).
        guard let name else { return replyNegativeEntry(request, operation) }
        do {
            replyEntry(request, try doLookup(parent: parent, name: name), operation)
        } catch where error.errno == ENOENT {
            replyNegativeEntry(request, operation)
        } catch {
            replyError(request, error, operation)
        }
    }

    /// On a read-only mount the kernel may cache "no such name" as long as
    /// any other entry (node id 0 = negative entry); elsewhere plain ENOENT.
    private func replyNegativeEntry(_ request: fuse_req_t?, _ operation: String) {
        guard configuration.cachesContent else {
            return replyError(request, FSError(ENOENT, ""), operation)
        }
        log.debug("\(operation) -> ENOENT (cached)")
        var entry = fuse_entry_param()
        entry.entry_timeout = configuration.entryTimeout
        fuse_reply_entry(request, &entry)
    }

    func forget(_ request: fuse_req_t?, node: NodeID, count: UInt64) {
        log.debug("FORGET \(node) x\(count)")
        filesystem.forget(node: node, count: count)
        fuse_reply_none(request)
    }

    func forgetMulti(_ request: fuse_req_t?, _ items: UnsafeBufferPointer<fuse_forget_data>) {
        log.debug("BATCH_FORGET \(items.count) nodes")
        for item in items { filesystem.forget(node: item.ino, count: item.nlookup) }
        fuse_reply_none(request)
    }

    func getattr(_ request: fuse_req_t?, node: NodeID) {
        do {
            var st = try filesystem.attributes(of: node).statValue
            log.debug("GETATTR \(node) -> mode \(String(st.st_mode, radix: 8)) size \(st.st_size)")
            fuse_reply_attr(request, &st, configuration.attributeTimeout)
        } catch {
            replyError(request, error, "GETATTR \(node)")
        }
    }

    func readlink(_ request: fuse_req_t?, node: NodeID) {
        do {
            let target = try filesystem.readLink(node)
            log.debug("READLINK \(node) -> \(target)")
            fuse_reply_readlink(request, target)
        } catch {
            replyError(request, error, "READLINK \(node)")
        }
    }

    /// access(2) without `-o default_permissions`: the permission bits as
    /// the kernel would check them, and no write access on a read-only mount.
    package func doAccess(node: NodeID, mask: Int32, uid: UInt32, gid: UInt32) throws(FSError) {
        let attributes = try filesystem.attributes(of: node)
        if mask & W_OK != 0 && filesystem.isReadOnly { throw FSError(EROFS, "read-only mount") }
        if let denied = accessDenied(mask: mask, attributes: attributes, uid: uid, gid: gid) {
            throw FSError(EACCES, denied)
        }
    }

    func access(_ request: fuse_req_t?, node: NodeID, mask: Int32) {
        let context = fuse_req_ctx(request)?.pointee
        do {
            try doAccess(node: node, mask: mask, uid: context?.uid ?? 0, gid: context?.gid ?? 0)
            log.debug("ACCESS \(node) mask \(mask) -> ok")
            fuse_reply_err(request, 0)
        } catch {
            replyError(request, error, "ACCESS \(node) mask \(mask)")
        }
    }

    func statfs(_ request: fuse_req_t?, node: NodeID) {
        var value = filesystem.statistics().statvfsValue(readOnly: filesystem.isReadOnly)
        log.debug("STATFS \(node)")
        fuse_reply_statfs(request, &value)
    }
}

/// The classic owner/group/other check (only the primary group is known
/// here). Root may read and write anything and execute anything with an x bit.
/// Returns why access is denied, or nil.
package func accessDenied(mask: Int32, attributes: NodeAttributes, uid: UInt32, gid: UInt32) -> String? {
    let mode = attributes.mode
    if uid == 0 {
        let anyExecute = mode & 0o111 != 0 || attributes.isDirectory
        return mask & X_OK != 0 && !anyExecute ? "no execute permission" : nil
    }
    let granted: UInt32 = if uid == attributes.uid {
        (mode >> 6) & 7
    } else if gid == attributes.gid {
        (mode >> 3) & 7
    } else {
        mode & 7
    }
    let wanted = UInt32(mask & (R_OK | W_OK | X_OK))
    return wanted & ~granted == 0 ? nil : "mode \(String(mode & 0o7777, radix: 8)) denies mask \(mask)"
}
