import CFUSE
import Synchronization

/// The libfuse session a dispatcher serves, for the notifications a reply cannot carry
/// (attributes the kernel must forget). Set by `MountSession` once the session exists and
/// cleared before it is destroyed; dispatchers driven without a mount have none, and
/// notifying is then nothing to do.
package final class KernelSession: Sendable {
    /// The session's address (an OpaquePointer is not Sendable); 0: none.
    private let address = Mutex<UInt>(0)

    func attach(_ session: OpaquePointer) { address.withLock { $0 = UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(session))) } }
    func detach() { address.withLock { $0 = 0 } }

    /// Makes the kernel forget the cached attributes of `node` (not its pages), so the next
    /// stat asks again: for a change made by a request whose reply carries no attributes
    /// (setxattr). Only attributes, so the kernel takes no page or inode lock for it and it
    /// is safe from inside a request on that node. Held under the lock so the session
    /// cannot be destroyed meanwhile; a failure (the kernel forgot the node) is harmless.
    func forgetAttributes(of node: UInt64) {
        address.withLock { address in
            guard address != 0, let session = OpaquePointer(bitPattern: address) else { return }
            _ = fuse_lowlevel_notify_inval_inode(session, fuse_ino_t(node), -1, 0)
        }
    }
}
