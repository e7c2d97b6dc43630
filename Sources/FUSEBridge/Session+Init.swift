import CFUSE
import Glibc
import H5FS

extension Dispatcher {
    /// INIT: negotiate sizes and capabilities (libfuse has already filled in
    /// its defaults and what the kernel offers).
    func configure(_ connection: inout fuse_conn_info) {
        // libfuse checks this equals the max_read mount option it was given.
        connection.max_read = configuration.maxRead
        connection.max_write = min(connection.max_write, configuration.maxWrite)
        connection.max_readahead = configuration.maxReadahead
        let capable = connection.capable
        func want(_ capability: Int32, _ on: Bool) {
            let bit = UInt32(capability)
            if on && capable & bit != 0 { connection.want |= bit } else if !on { connection.want &= ~bit }
        }
        want(FUSE_CAP_READDIRPLUS, true)
        want(FUSE_CAP_READDIRPLUS_AUTO, true)
        want(FUSE_CAP_ASYNC_READ, true)
        want(FUSE_CAP_PARALLEL_DIROPS, true)
        // Replies are built in memory; splice buys nothing here.
        want(FUSE_CAP_SPLICE_READ, false)
        want(FUSE_CAP_SPLICE_WRITE, false)
        want(FUSE_CAP_SPLICE_MOVE, false)
        // Link targets never change under a read-only mount.
        want(FUSE_CAP_CACHE_SYMLINKS, filesystem.isReadOnly)
        // No POSIX ACLs: with them the kernel asks system.posix_acl_access of every inode
        // (for permission checks), one round trip per file on a fresh mount. Permission
        // checks stay the kernel's through `default_permissions` (MountSession), and ACL
        // names answer EOPNOTSUPP, so `ls -l` stops asking (ExtendedAttributeNamespaces).
        want(FUSE_CAP_POSIX_ACL, false)
        log.debug("INIT max_read \(connection.max_read) max_write \(connection.max_write) "
                  + "max_readahead \(connection.max_readahead) want 0x\(String(connection.want, radix: 16))")
    }
}
