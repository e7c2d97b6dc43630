import CFUSE
import Glibc
import H5FS

// A POSIX access ACL that says no more than a mode, taken as the chmod it is.
//
// Why: `cp -a` (and `cp -p`, `install`, `rsync -A`) sets a file's permissions by writing
// `system.posix_acl_access` built from the source's mode (libacl's acl_from_mode), and
// only when that fails with ENOTSUP does it fall back to fchmod: one more round trip per
// file. So an ACL of only the owner, group and other entries (the "minimal" ACL, which is
// exactly a mode) is applied as that mode; an ACL naming users or groups still answers
// ENOTSUP (h5mount keeps no ACLs), and getxattr of ACL names still answers ENOTSUP, which
// tools such as getfacl read as "the mode is the whole ACL".
//
// The kernel forwards ACL xattrs of a FUSE mount without FUSE_CAP_POSIX_ACL as they are,
// without checking who asks (fs/fuse/acl.c): the owner check of chmod is made here.

/// The xattr name of the access ACL; the default ACL (`system.posix_acl_default`) is not taken.
let accessACLAttribute = "system.posix_acl_access"

/// removexattr of either ACL name answers ENODATA, as ext4 does for a file whose ACL is its
/// mode: there is no ACL to remove. (libacl's acl_delete_def_file, which `cp -a` calls for
/// every directory after setting its access ACL, takes ENODATA as success and ENOTSUP as
/// an error.)
let posixACLAttributes: Set<String> = [accessACLAttribute, "system.posix_acl_default"]

/// The xattr form's entry tags (linux/posix_acl.h, ACL_USER_OBJ ...).
private enum ACLTag: UInt16 {
    case userObject = 0x01, user = 0x02, groupObject = 0x04, group = 0x08, mask = 0x10, other = 0x20
}

/// The permission bits (0o777) the access ACL `value` (the xattr form: a little-endian u32
/// version 2, then entries of u16 tag, u16 permissions, u32 id) stands for, as the kernel's
/// `posix_acl_equiv_mode` computes them: a mask entry without named entries is the group
/// class. nil when the ACL names a user or group (no mode can say it). EINVAL when it is not
/// a well-formed ACL (wrong version or length, an entry tag twice, a required one missing).
package func modeOfAccessACL(_ value: [UInt8]) throws(FSError) -> UInt32? {
    func u16(_ at: Int) -> UInt16 { UInt16(value[at]) | UInt16(value[at + 1]) << 8 }
    func u32(_ at: Int) -> UInt32 { UInt32(u16(at)) | UInt32(u16(at + 2)) << 16 }
    guard value.count >= 4, (value.count - 4) % 8 == 0, u32(0) == 2 else {
        throw FSError(EINVAL, "\(accessACLAttribute): not a POSIX ACL (\(value.count) bytes)")
    }
    var seen: Set<UInt16> = []
    var owner: UInt32?, group: UInt32?, mask: UInt32?, other: UInt32?
    var named = false
    for at in stride(from: 4, to: value.count, by: 8) {
        guard let tag = ACLTag(rawValue: u16(at)), u16(at + 2) & ~0o7 == 0 else {
            throw FSError(EINVAL, "\(accessACLAttribute): unknown entry tag or permissions")
        }
        let permissions = UInt32(u16(at + 2))
        switch tag {
        case .user, .group: named = true
        default:
            guard seen.insert(tag.rawValue).inserted else {
                throw FSError(EINVAL, "\(accessACLAttribute): entry \(tag) twice")
            }
            switch tag {
            case .userObject: owner = permissions
            case .groupObject: group = permissions
            case .mask: mask = permissions
            default: other = permissions
            }
        }
    }
    guard let owner, let group, let other else {
        throw FSError(EINVAL, "\(accessACLAttribute): owner, group or other entry missing")
    }
    if named { return nil }
    return owner << 6 | (mask ?? group) << 3 | other
}

/// Who makes a request (fuse_req_ctx): for the checks the kernel leaves to the filesystem.
package struct RequestCaller: Sendable, Hashable {
    package var uid: UInt32
    package var gid: UInt32
    package init(uid: UInt32, gid: UInt32) { self.uid = uid; self.gid = gid }

    /// The request's caller; nobody (65534) if libfuse has no context for it, never root.
    init(of request: fuse_req_t?) {
        let context = fuse_req_ctx(request)?.pointee
        self.init(uid: context?.uid ?? 65534, gid: context?.gid ?? 65534)
    }
}

extension Dispatcher {
    /// setxattr of a minimal access ACL: chmod to its bits, with chmod's rules (only the
    /// owner or root; the set-user-ID, set-group-ID and sticky bits stay, except that
    /// set-group-ID is cleared when a caller other than root is not of the file's group —
    /// only the primary group is known here, so a member through a supplementary group
    /// loses it too, the safe side).
    func setModeFromAccessACL(_ node: NodeID, value: [UInt8], caller: RequestCaller) throws(FSError) {
        let filesystem = try writable()
        guard let bits = try modeOfAccessACL(value) else {
            throw FSError(EOPNOTSUPP, "\(accessACLAttribute): ACLs naming users or groups are not kept")
        }
        let current = try filesystem.attributes(of: node)
        guard caller.uid == 0 || caller.uid == current.uid else {
            throw FSError(EPERM, "\(accessACLAttribute): only the owner may change the mode")
        }
        var mode = current.mode & 0o7000 | bits
        if caller.uid != 0 && caller.gid != current.gid { mode &= ~0o2000 }  // S_ISGID
        _ = try filesystem.setAttributes(node, handle: nil, AttributeChanges(mode: mode))
        // The reply to setxattr carries no attributes: without this, stat would show the
        // old mode (and permission checks use it) until the attribute timeout.
        kernelSession.forgetAttributes(of: node)
    }
}
