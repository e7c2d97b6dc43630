import CFUSE
import Glibc
import H5FS

// Every request that would change the tree. The mount is read-only for now
// (the kernel already refuses most of these on an `ro` mount); EROFS here
// covers the rest and writable mounts until the write path lands.

extension Dispatcher {
    func refuseMutation(_ request: fuse_req_t?, _ operation: @autoclosure () -> String) {
        replyError(request, mutationError, operation())
    }
}
