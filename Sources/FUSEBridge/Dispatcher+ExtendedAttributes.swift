import CFUSE
import Glibc
import H5FS

// getxattr, listxattr; setxattr, removexattr (HDF5 attributes, docs/writing.md), EROFS on
// read-only mounts whatever the name.

/// The daemon's pid, answered on the mount's root so that `h5mount -u` can
/// wait for the daemon serving a mount point to exit (the commit happens on
/// exit). The bridge answers it, not H5FS, and it is not listed by listxattr.
package let daemonPIDAttribute = "user.h5mount.pid"

/// The container's absolute path, answered on the root like the pid (also
/// unlisted), so that `h5mount -u` can check the commit left no work behind.
package let containerPathAttribute = "user.h5mount.container"

/// What getxattr/listxattr answer for a value and the caller's buffer size.
package enum ExtendedAttributeReply: Equatable, Sendable {
    /// A size-0 probe: how big the value is.
    case size(Int)
    case value([UInt8])
}

/// Linux's XATTR_SIZE_MAX: no value larger can cross the syscall boundary.
let extendedAttributeSizeLimit = 65536

package func extendedAttributeReply(_ value: [UInt8], bufferSize: Int) throws(FSError) -> ExtendedAttributeReply {
    if value.count > extendedAttributeSizeLimit { throw FSError(E2BIG, "value of \(value.count) bytes exceeds XATTR_SIZE_MAX") }
    if bufferSize == 0 { return .size(value.count) }
    if bufferSize < value.count { throw FSError(ERANGE, "buffer of \(bufferSize) bytes, value of \(value.count)") }
    return .value(value)
}

extension Dispatcher {
    package func doGetExtendedAttribute(_ node: NodeID, name: String, size: Int) throws(FSError) -> ExtendedAttributeReply {
        guard isSupportedExtendedAttributeName(name) else { throw unsupportedExtendedAttribute(name) }
        let value: [UInt8] = if node == rootNode && name == daemonPIDAttribute {
            Array(String(getpid()).utf8)
        } else if node == rootNode && name == containerPathAttribute && !configuration.containerPath.isEmpty {
            Array(configuration.containerPath.utf8)
        } else {
            try filesystem.extendedAttribute(node, name: name)
        }
        return try extendedAttributeReply(value, bufferSize: size)
    }

    /// Names as listxattr(2) returns them: each followed by a NUL.
    package func doListExtendedAttributes(_ node: NodeID, size: Int) throws(FSError) -> ExtendedAttributeReply {
        var packed: [UInt8] = []
        for name in try filesystem.extendedAttributeNames(node) {
            packed.append(contentsOf: name.utf8)
            packed.append(0)
        }
        return try extendedAttributeReply(packed, bufferSize: size)
    }

    /// setxattr(2); the filesystem decides which names it keeps (`user.*`). A minimal access
    /// ACL is a chmod (AccessACLMode.swift); `caller` is who asks (the owner check).
    package func doSetExtendedAttribute(_ node: NodeID, name: String?, value: [UInt8], flags: Int32,
                                        caller: RequestCaller = RequestCaller(uid: 0, gid: 0)) throws(FSError) {
        let filesystem = try writable()
        guard let name else { throw FSError(EOPNOTSUPP, "attribute name is not UTF-8") }
        guard value.count <= extendedAttributeSizeLimit else { throw FSError(E2BIG, "value exceeds XATTR_SIZE_MAX") }
        let known: ExtendedAttributeFlags = [.create, .replace]
        guard flags & ~known.rawValue == 0 else { throw FSError(EINVAL, "unknown setxattr flags \(flags)") }
        if name == accessACLAttribute { return try setModeFromAccessACL(node, value: value, caller: caller) }
        try filesystem.setExtendedAttribute(node, name: name, value: value, flags: ExtendedAttributeFlags(rawValue: flags))
    }

    package func doRemoveExtendedAttribute(_ node: NodeID, name: String?) throws(FSError) {
        let filesystem = try writable()
        guard let name else { throw FSError(ENODATA, "attribute name is not UTF-8") }
        if posixACLAttributes.contains(name) { throw FSError(ENODATA, "\(name): no ACL beyond the mode is kept") }
        try filesystem.removeExtendedAttribute(node, name: name)
    }

    func setxattr(_ request: fuse_req_t?, node: NodeID, name: String?, value: [UInt8], flags: Int32) {
        let operation = "SETXATTR \(node) \(name ?? "<not UTF-8>") size \(value.count) flags \(flags)"
        do {
            try doSetExtendedAttribute(node, name: name, value: value, flags: flags, caller: RequestCaller(of: request))
            log.debug("\(operation) -> ok")
            fuse_reply_err(request, 0)
        } catch {
            replyError(request, error, operation)
        }
    }

    func removexattr(_ request: fuse_req_t?, node: NodeID, name: String?) {
        let operation = "REMOVEXATTR \(node) \(name ?? "<not UTF-8>")"
        do {
            try doRemoveExtendedAttribute(node, name: name)
            log.debug("\(operation) -> ok")
            fuse_reply_err(request, 0)
        } catch {
            replyError(request, error, operation)
        }
    }

    func getxattr(_ request: fuse_req_t?, node: NodeID, name: String?, size: Int) {
        let operation = "GETXATTR \(node) \(name ?? "<not UTF-8>") size \(size)"
        guard let name else { return replyError(request, FSError(ENODATA, ""), operation) }
        do {
            reply(request, try doGetExtendedAttribute(node, name: name, size: size), operation)
        } catch {
            replyError(request, error, operation)
        }
    }

    func listxattr(_ request: fuse_req_t?, node: NodeID, size: Int) {
        let operation = "LISTXATTR \(node) size \(size)"
        do {
            reply(request, try doListExtendedAttributes(node, size: size), operation)
        } catch {
            replyError(request, error, operation)
        }
    }

    private func reply(_ request: fuse_req_t?, _ answer: ExtendedAttributeReply, _ operation: String) {
        switch answer {
        case .size(let size):
            log.debug("\(operation) -> size \(size)")
            fuse_reply_xattr(request, size)
        case .value(let bytes):
            log.debug("\(operation) -> \(bytes.count) bytes")
            bytes.withUnsafeBytes { _ = fuse_reply_buf(request, $0.baseAddress, $0.count) }
        }
    }
}
