import CFUSE
import Glibc
import H5FS
import Threads
import Synchronization

/// The bridge between libfuse's low-level callbacks and `FilesystemOperations`.
///
/// Every operation comes in two halves: `doX` computes the answer as a Swift
/// value (or throws an `FSError`) and can be driven without a mount; `x`
/// takes the libfuse request, calls `doX` and replies exactly once. Errors
/// become replies only in `replyError`.
///
/// Locks: `directories`, `parents` and `commitState` each have their own; no
/// code holds two, and none is held while calling into the filesystem or libfuse.
package final class Dispatcher: Sendable {
    package let filesystem: any FilesystemOperations
    /// The same filesystem when it can change and the mount is writable; nil
    /// answers every mutation with EROFS.
    package let writer: (any WritableFilesystemOperations)?
    package let configuration: BridgeConfiguration
    package let log: Log
    package let directories = DirectoryHandles()
    package let parents = ParentDirectories()
    let readBuffers = ReadBuffers()
    let commitState = Mutex<CommitState>(.notRun)
    /// One log line per EIO a user meets, not per kernel request (`RepeatedLineFilter`).
    let errorLines = RepeatedLineFilter()
    /// The libfuse session (its address), for notifications to the kernel; 0 when unmounted.
    let kernelSession = KernelSession()

    package init(filesystem: any FilesystemOperations, configuration: BridgeConfiguration, log: Log) {
        self.filesystem = filesystem
        self.writer = filesystem.isReadOnly ? nil : filesystem as? any WritableFilesystemOperations
        self.configuration = configuration
        self.log = log
    }

    /// The dispatcher behind a request. The session passes it as the
    /// userdata of fuse_session_new and keeps it alive until the session is
    /// destroyed, so the pointer is never dangling nor nil here. Every request
    /// passes here first, so this is also where its thread is placed: on the
    /// first core while background packing may fill the others, on all of its
    /// cores otherwise (`FilesystemOperations.keepsRequestsOnTheFirstCore`).
    static func of(_ request: fuse_req_t?) -> Dispatcher {
        let dispatcher = fromOpaque(fuse_req_userdata(request))
        ThreadPlacement.keepToFirstCore(dispatcher.filesystem.keepsRequestsOnTheFirstCore)
        return dispatcher
    }

    static func fromOpaque(_ pointer: UnsafeMutableRawPointer?) -> Dispatcher {
        guard let pointer else { preconditionFailure("fuse session without its dispatcher") }
        return Unmanaged<Dispatcher>.fromOpaque(pointer).takeUnretainedValue()
    }

    /// The one place an error becomes a reply. EIO means something broke
    /// (an unreadable object, a bug): its cause always goes to the log, here and
    /// nowhere else (the filesystem does not log what it throws as EIO), once per
    /// object and cause however many requests the kernel retried it with.
    func replyError(_ request: fuse_req_t?, _ error: FSError, _ operation: @autoclosure () -> String) {
        var code = error.errno
        if code <= 0 || code >= 4096 {
            log.error("\(operation()): bad errno \(code) (\(error.message)); answering EIO")
            code = EIO
        } else if code == EIO {
            if errorLines.admits(error.message) { log.error("\(operation()): \(error.message)") }
        } else {
            log.debug("\(operation()) -> \(errnoName(code)) \(error.message)")
        }
        fuse_reply_err(request, code)
    }

    /// What a mutation answers when there is no `writer`.
    var mutationError: FSError { FSError(EROFS, "read-only mount") }

    /// The filesystem to change, or EROFS.
    func writable() throws(FSError) -> any WritableFilesystemOperations {
        guard let writer else { throw mutationError }
        return writer
    }

    /// Hands a node to the kernel (lookup, mkdir, symlink, link, mknod). The
    /// filesystem counted one lookup of it; if the reply fails (the request was
    /// interrupted) the kernel never learnt the node, so the count is given back.
    func replyEntry(_ request: fuse_req_t?, _ attributes: NodeAttributes, _ operation: @autoclosure () -> String) {
        var entry = entryParameter(attributes)
        log.debug("\(operation()) -> node \(attributes.node)")
        if fuse_reply_entry(request, &entry) != 0 {
            filesystem.forget(node: attributes.node, count: 1)
        }
    }

    func entryParameter(_ attributes: NodeAttributes) -> fuse_entry_param {
        var entry = fuse_entry_param()
        entry.ino = fuse_ino_t(attributes.node)
        // Node ids are never reused while mounted (docs/architecture.md), so one generation suffices.
        entry.generation = 1
        entry.attr = attributes.statValue
        entry.attr_timeout = configuration.attributeTimeout
        entry.entry_timeout = configuration.entryTimeout
        return entry
    }
}

/// "ENOENT" rather than "No such file or directory" in debug lines.
func errnoName(_ code: Int32) -> String {
    switch code {
    case ENOENT: "ENOENT"
    case EROFS: "EROFS"
    case ENODATA: "ENODATA"
    case ERANGE: "ERANGE"
    case EACCES: "EACCES"
    case EISDIR: "EISDIR"
    case ENOTDIR: "ENOTDIR"
    case EINVAL: "EINVAL"
    case EBADF: "EBADF"
    case ENOSYS: "ENOSYS"
    case E2BIG: "E2BIG"
    case EIO: "EIO"
    case EEXIST: "EEXIST"
    case ENOTEMPTY: "ENOTEMPTY"
    case EXDEV: "EXDEV"
    case ENOSPC: "ENOSPC"
    case EPERM: "EPERM"
    case EFBIG: "EFBIG"
    case ENAMETOOLONG: "ENAMETOOLONG"
    case EOPNOTSUPP: "EOPNOTSUPP"
    default: "errno \(code)"
    }
}
