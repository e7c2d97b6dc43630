import CFUSE
import Glibc
import H5FS

// opendir, readdir, readdirplus, releasedir.

extension Dispatcher {
    /// Snapshots the listing ("." and ".." first) and returns its handle.
    package func doOpenDirectory(_ node: NodeID) throws(FSError) -> UInt64 {
        let own = try filesystem.attributes(of: node)
        guard own.isDirectory else { throw FSError(ENOTDIR, "not a directory") }
        let listing = try filesystem.listing(node)
        var parent = own
        parent.node = parents.parent(of: node)
        let dots = [ListedEntry(name: ".", attributes: own, isDotEntry: true),
                    ListedEntry(name: "..", attributes: parent, isDotEntry: true)]
        return directories.insert(DirectorySnapshot(node: node, dots: dots, listing: listing))
    }

    func opendir(_ request: fuse_req_t?, node: NodeID, info: UnsafeMutablePointer<fuse_file_info>?) {
        guard let info else { return replyError(request, FSError(EIO, "opendir without file info"), "OPENDIR \(node)") }
        do {
            let handle = try doOpenDirectory(node)
            info.pointee.fh = handle
            // Nothing changes under a read-only mount: let the kernel keep the listing.
            if configuration.cachesContent {
                info.pointee.cache_readdir = 1
                info.pointee.keep_cache = 1
            }
            log.debug("OPENDIR \(node) -> handle \(handle)")
            if fuse_reply_open(request, info) != 0 { directories.remove(handle) }
        } catch {
            replyError(request, error, "OPENDIR \(node)")
        }
    }

    package func doReadDirectory(handle: UInt64, offset: Int64, size: Int, plus: Bool,
                                 request: fuse_req_t? = nil) throws(FSError) -> DirectoryReply {
        guard let snapshot = directories.snapshot(handle) else { throw FSError(EBADF, "unknown directory handle \(handle)") }
        guard offset >= 0 else { throw FSError(EINVAL, "negative directory offset") }
        return packDirectory(snapshot, offset: Int(clamping: offset), size: size, plus: plus, request: request)
    }

    func readdir(_ request: fuse_req_t?, node: NodeID, size: Int, offset: Int64,
                 info: UnsafeMutablePointer<fuse_file_info>?, plus: Bool) {
        let operation = "\(plus ? "READDIRPLUS" : "READDIR") \(node) offset \(offset)"
        guard let handle = info?.pointee.fh else { return replyError(request, FSError(EBADF, "no handle"), operation) }
        do {
            let reply = try doReadDirectory(handle: handle, offset: offset, size: size, plus: plus, request: request)
            log.debug("\(operation) -> \(reply.entryCount) entries")
            let status = reply.bytes.withUnsafeBytes { fuse_reply_buf(request, $0.baseAddress, $0.count) }
            if status != 0 {
                // The kernel dropped the reply, so it never learnt these nodes.
                for node in reply.countedNodes { filesystem.forget(node: node, count: 1) }
            }
        } catch {
            replyError(request, error, operation)
        }
    }

    func releasedir(_ request: fuse_req_t?, node: NodeID, info: UnsafeMutablePointer<fuse_file_info>?) {
        if let handle = info?.pointee.fh { directories.remove(handle) }
        log.debug("RELEASEDIR \(node)")
        fuse_reply_err(request, 0)
    }
}
