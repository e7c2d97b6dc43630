import Glibc
import H5FS

/// Which extended attribute names a mount holds: `user.*` only (HDF5 attributes, and the
/// bridge's own `user.h5mount.*` on the root).
///
/// Every other namespace (`security.*`, `trusted.*`, `system.*`, POSIX ACLs included)
/// answers getxattr with `EOPNOTSUPP`, as a filesystem without them does, not `ENODATA`.
/// Why: `ls -l` asks `security.selinux` and `system.posix_acl_access` of every file it
/// lists, and after one "not supported" it stops asking for the whole filesystem
/// (coreutils remembers the device); `ENODATA` ("none on this file") made it ask again
/// for each file: two round trips per file, most of the time of `ls -lR` on a fresh
/// mount. The kernel's own permission checks do not need ACLs: the session is mounted
/// with `default_permissions` and without `FUSE_CAP_POSIX_ACL` (MountSession,
/// Session+Init), so modes and owners are enforced and no ACL is ever asked for.
package func isSupportedExtendedAttributeName(_ name: String) -> Bool {
    name.hasPrefix("user.")
}

/// The error for a name outside the supported namespaces.
func unsupportedExtendedAttribute(_ name: String) -> FSError {
    FSError(EOPNOTSUPP, "\(name): only user.* extended attributes are supported")
}
