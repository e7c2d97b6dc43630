import CFUSE
import Glibc
import H5FS

// create, write, setattr, fsync: changes to files. (open, read, release,
// flush are in Dispatcher+Files.)

extension Dispatcher {
    /// Creates and opens a regular file. Counts one lookup (create hands the node to the kernel).
    package func doCreate(parent: NodeID, name: String?, mode: UInt32, flags: Int32) throws(FSError) -> (NodeAttributes, UInt64) {
        let filesystem = try writable()
        return try filesystem.create(parent: parent, name: try newName(name), mode: mode & 0o7777, flags: flags)
    }

    /// The bytes are used only during the call (the filesystem copies them into
    /// its spool before returning), because libfuse reuses the buffer afterwards.
    package func doWrite(_ node: NodeID, handle: UInt64, offset: Int64, data: UnsafeRawBufferPointer) throws(FSError) -> Int {
        let filesystem = try writable()
        guard offset >= 0 else { throw FSError(EINVAL, "negative write offset") }
        let written = try filesystem.write(node, handle: handle, offset: UInt64(offset), data: data)
        guard written >= 0, written <= data.count else {
            throw FSError(EIO, "filesystem reported \(written) bytes written of \(data.count)")
        }
        return written
    }

    /// chmod, chown, truncate, utimens. An empty change (a ctime-only setattr)
    /// still goes to the filesystem, which answers the current attributes.
    package func doSetAttributes(_ node: NodeID, handle: UInt64?, _ changes: AttributeChanges) throws(FSError) -> NodeAttributes {
        try writable().setAttributes(node, handle: handle, changes)
    }

    /// fsync(2): a read-only mount has nothing to make durable.
    package func doSynchronize(_ node: NodeID, handle: UInt64) throws(FSError) {
        guard let writer else { return }
        try writer.synchronize(node, handle: handle)
    }

    // MARK: - libfuse side

    func create(_ request: fuse_req_t?, parent: NodeID, name: String?, mode: mode_t, info: UnsafeMutablePointer<fuse_file_info>?) {
        let operation = "CREATE \(parent)/\(name ?? "<not UTF-8>") mode \(String(mode, radix: 8))"
        guard let info else { return replyError(request, FSError(EIO, "create without file info"), operation) }
        do {
            let (attributes, handle) = try doCreate(parent: parent, name: name, mode: UInt32(mode), flags: info.pointee.flags)
            info.pointee.fh = handle
            // A file being written: its pages must not outlive this open (no keep_cache).
            info.pointee.keep_cache = 0
            var entry = entryParameter(attributes)
            log.debug("\(operation) -> node \(attributes.node) handle \(handle)")
            if fuse_reply_create(request, &entry, info) != 0 {
                // The kernel never got the node nor the handle: give both back.
                filesystem.release(attributes.node, handle: handle)
                filesystem.forget(node: attributes.node, count: 1)
            }
        } catch {
            replyError(request, error, operation)
        }
    }

    func write(_ request: fuse_req_t?, node: NodeID, buffer: UnsafePointer<CChar>?, size: Int, offset: Int64,
               info: UnsafeMutablePointer<fuse_file_info>?) {
        let operation = "WRITE \(node) offset \(offset) size \(size)"
        guard let handle = info?.pointee.fh else { return replyError(request, FSError(EBADF, "no handle"), operation) }
        do {
            let data = UnsafeRawBufferPointer(start: buffer.map(UnsafeRawPointer.init), count: buffer == nil ? 0 : size)
            let written = try doWrite(node, handle: handle, offset: offset, data: data)
            log.debug("\(operation) -> \(written)")
            fuse_reply_write(request, written)
        } catch {
            replyError(request, error, operation)
        }
    }

    func setattr(_ request: fuse_req_t?, node: NodeID, attributes: UnsafeMutablePointer<stat>?, toSet: Int32,
                 info: UnsafeMutablePointer<fuse_file_info>?) {
        let operation = "SETATTR \(node) valid 0x\(String(toSet, radix: 16))"
        guard let attributes else { return replyError(request, FSError(EIO, "setattr without attributes"), operation) }
        do {
            let changes = try attributeChanges(attributes.pointee, toSet: toSet, now: currentTime())
            var st = try doSetAttributes(node, handle: info?.pointee.fh, changes).statValue
            log.debug("\(operation) -> mode \(String(st.st_mode, radix: 8)) size \(st.st_size)")
            fuse_reply_attr(request, &st, configuration.attributeTimeout)
        } catch {
            replyError(request, error, operation)
        }
    }

    func fsync(_ request: fuse_req_t?, node: NodeID, info: UnsafeMutablePointer<fuse_file_info>?) {
        let operation = "FSYNC \(node)"
        guard let handle = info?.pointee.fh else { return replyError(request, FSError(EBADF, "no handle"), operation) }
        do {
            try doSynchronize(node, handle: handle)
            log.debug("\(operation) -> ok")
            fuse_reply_err(request, 0)
        } catch {
            replyError(request, error, operation)
        }
    }
}

/// What a setattr request asks for, from the fields libfuse marks valid in
/// `toSet`. `*_NOW` (touch, utimensat with UTIME_NOW) becomes `now`, and wins
/// over the time in `attributes` (the kernel sets both bits for it). Only the
/// permission bits of a mode are passed on: the file type never changes.
/// FUSE_SET_ATTR_CTIME needs nothing: the filesystem sets ctime on every change.
package func attributeChanges(_ attributes: stat, toSet: Int32, now: Timestamp) throws(FSError) -> AttributeChanges {
    var changes = AttributeChanges()
    func has(_ bit: Int32) -> Bool { toSet & bit != 0 }
    if has(FUSE_SET_ATTR_MODE) { changes.mode = UInt32(attributes.st_mode) & 0o7777 }
    if has(FUSE_SET_ATTR_UID) { changes.uid = UInt32(attributes.st_uid) }
    if has(FUSE_SET_ATTR_GID) { changes.gid = UInt32(attributes.st_gid) }
    if has(FUSE_SET_ATTR_SIZE) {
        guard attributes.st_size >= 0 else { throw FSError(EINVAL, "negative size") }
        changes.size = UInt64(attributes.st_size)
    }
    if has(FUSE_SET_ATTR_ATIME_NOW) {
        changes.accessTime = now
    } else if has(FUSE_SET_ATTR_ATIME) {
        changes.accessTime = Timestamp(attributes.st_atim)
    }
    if has(FUSE_SET_ATTR_MTIME_NOW) {
        changes.modificationTime = now
    } else if has(FUSE_SET_ATTR_MTIME) {
        changes.modificationTime = Timestamp(attributes.st_mtim)
    }
    return changes
}

/// CLOCK_REALTIME now.
func currentTime() -> Timestamp {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return Timestamp(now)
}

extension Timestamp {
    init(_ time: timespec) {
        self.init(seconds: Int64(time.tv_sec), nanoseconds: Int32(truncatingIfNeeded: time.tv_nsec))
    }
}
