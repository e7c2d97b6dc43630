import CFUSE
import Glibc
import H5FS

// open, read, release, flush. (fsync is in Dispatcher+Writing.)

extension Dispatcher {
    package func doOpen(_ node: NodeID, flags: Int32) throws(FSError) -> UInt64 {
        let writing = flags & O_ACCMODE != O_RDONLY || flags & O_TRUNC != 0
        // Opening for writing (or O_TRUNC, passed here with atomic_o_trunc) is the
        // filesystem's to decide, on a writable mount.
        if writing && writer == nil { throw mutationError }
        return try filesystem.open(node, flags: flags)
    }

    func open(_ request: fuse_req_t?, node: NodeID, info: UnsafeMutablePointer<fuse_file_info>?) {
        guard let info else { return replyError(request, FSError(EIO, "open without file info"), "OPEN \(node)") }
        let flags = info.pointee.flags
        let operation = "OPEN \(node) flags 0x\(String(flags, radix: 16))"
        do {
            let handle = try doOpen(node, flags: flags)
            info.pointee.fh = handle
            // File contents never change under a read-only mount: keep the page cache across
            // opens. On a writable mount the kernel drops a file's pages at each open
            // (and, with auto_inval_data, when its mtime or size changes).
            if configuration.cachesContent { info.pointee.keep_cache = 1 }
            // Sidecars change length when attributes or a SWMR dataset's shape change; the kernel
            // would cut reads at the size it cached (entry/attr timeouts), so read them directly.
            if filesystem.isGeneratedText(node) { info.pointee.direct_io = 1; info.pointee.keep_cache = 0 }
            log.debug("\(operation) -> handle \(handle)")
            if fuse_reply_open(request, info) != 0 {
                // The kernel will never release a handle it did not receive.
                filesystem.release(node, handle: handle)
            }
        } catch {
            replyError(request, error, operation)
        }
    }

    /// READ into `buffer` (the read's size): the bytes the reply carries.
    package func doRead(_ node: NodeID, handle: UInt64, offset: Int64,
                        into buffer: UnsafeMutableRawBufferPointer) throws(FSError) -> Int {
        guard offset >= 0 else { throw FSError(EINVAL, "negative read offset") }
        let count = try filesystem.read(node, handle: handle, offset: UInt64(offset), into: buffer)
        if count > buffer.count {
            log.error("READ \(node): filesystem returned \(count) bytes for \(buffer.count); truncating")
            return buffer.count
        }
        return count
    }

    /// `doRead(into:)` into a new array, for callers without a buffer (tests).
    package func doRead(_ node: NodeID, handle: UInt64, offset: Int64, size: Int) throws(FSError) -> [UInt8] {
        var failure: FSError? = nil
        let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
            do throws(FSError) {
                count = try doRead(node, handle: handle, offset: offset, into: UnsafeMutableRawBufferPointer(buffer))
            } catch {
                failure = error
                count = 0
            }
        }
        if let failure { throw failure }
        return bytes
    }

    func read(_ request: fuse_req_t?, node: NodeID, size: Int, offset: Int64,
              info: UnsafeMutablePointer<fuse_file_info>?) {
        let operation = "READ \(node) offset \(offset) size \(size)"
        guard let handle = info?.pointee.fh else { return replyError(request, FSError(EBADF, "no handle"), operation) }
        if replyFromSegments(request, node: node, handle: handle, offset: offset, size: size, operation: operation) { return }
        readBuffers.with(size: size) { buffer in
            do throws(FSError) {
                let count = try doRead(node, handle: handle, offset: offset, into: buffer)
                log.debug("\(operation) -> \(count) bytes")
                _ = fuse_reply_buf(request, buffer.baseAddress, count)
            } catch {
                replyError(request, error, operation)
            }
        }
    }

    func release(_ request: fuse_req_t?, node: NodeID, info: UnsafeMutablePointer<fuse_file_info>?) {
        if let handle = info?.pointee.fh { filesystem.release(node, handle: handle) }
        log.debug("RELEASE \(node)")
        fuse_reply_err(request, 0)
    }

    /// close(2) of one descriptor. On a writable mount the filesystem stores a
    /// file when its last writer closes it, so ENOSPC or EIO reach close(2).
    package func doFlush(_ node: NodeID, handle: UInt64) throws(FSError) {
        guard let writer else { return }
        try writer.flush(node, handle: handle)
    }

    func flush(_ request: fuse_req_t?, node: NodeID, info: UnsafeMutablePointer<fuse_file_info>?) {
        let operation = "FLUSH \(node)"
        do {
            if let handle = info?.pointee.fh { try doFlush(node, handle: handle) }
            log.debug("\(operation) -> ok")
            fuse_reply_err(request, 0)
        } catch {
            replyError(request, error, operation)
        }
    }

    /// fsync(2) on a directory: nothing to do, directory changes are in the
    /// journal as soon as they are made (and fsync'ed with it at commit).
    func fsyncDirectory(_ request: fuse_req_t?, node: NodeID) {
        log.debug("FSYNCDIR \(node)")
        fuse_reply_err(request, 0)
    }
}
