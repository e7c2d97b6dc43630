import CFUSE
import Glibc
import H5FS

/// A name from the kernel, copied before the callback returns. nil when the
/// bytes are not UTF-8: no H5FS name can match them.
private func copyName(_ name: UnsafePointer<CChar>?) -> String? {
    name.flatMap { String(validatingCString: $0) }
}

/// The libfuse callback table. Each entry is a C function pointer that
/// captures nothing: it finds its dispatcher through the request's userdata
/// and hands over copies of what libfuse lent it.
func lowLevelOperations() -> fuse_lowlevel_ops {
    var ops = fuse_lowlevel_ops()
    ops.`init` = { userdata, connection in
        guard let connection else { return }
        Dispatcher.fromOpaque(userdata).configure(&connection.pointee)
    }
    ops.destroy = { userdata in
        Dispatcher.fromOpaque(userdata).log.debug("DESTROY")
    }
    ops.lookup = { request, parent, name in
        Dispatcher.of(request).lookup(request, parent: parent, name: copyName(name))
    }
    ops.forget = { request, node, count in
        Dispatcher.of(request).forget(request, node: node, count: count)
    }
    ops.forget_multi = { request, count, items in
        Dispatcher.of(request).forgetMulti(request, UnsafeBufferPointer(start: items, count: items == nil ? 0 : count))
    }
    ops.getattr = { request, node, _ in
        Dispatcher.of(request).getattr(request, node: node)
    }
    ops.readlink = { request, node in
        Dispatcher.of(request).readlink(request, node: node)
    }
    ops.opendir = { request, node, info in
        Dispatcher.of(request).opendir(request, node: node, info: info)
    }
    ops.readdir = { request, node, size, offset, info in
        Dispatcher.of(request).readdir(request, node: node, size: size, offset: Int64(offset), info: info, plus: false)
    }
    ops.readdirplus = { request, node, size, offset, info in
        Dispatcher.of(request).readdir(request, node: node, size: size, offset: Int64(offset), info: info, plus: true)
    }
    ops.releasedir = { request, node, info in
        Dispatcher.of(request).releasedir(request, node: node, info: info)
    }
    ops.fsyncdir = { request, node, _, _ in
        Dispatcher.of(request).flush(request, node: node, operation: "FSYNCDIR")
    }
    ops.open = { request, node, info in
        Dispatcher.of(request).open(request, node: node, info: info)
    }
    ops.read = { request, node, size, offset, info in
        Dispatcher.of(request).read(request, node: node, size: size, offset: Int64(offset), info: info)
    }
    ops.release = { request, node, info in
        Dispatcher.of(request).release(request, node: node, info: info)
    }
    ops.flush = { request, node, _ in
        Dispatcher.of(request).flush(request, node: node, operation: "FLUSH")
    }
    ops.fsync = { request, node, _, _ in
        Dispatcher.of(request).flush(request, node: node, operation: "FSYNC")
    }
    ops.getxattr = { request, node, name, size in
        Dispatcher.of(request).getxattr(request, node: node, name: copyName(name), size: size)
    }
    ops.listxattr = { request, node, size in
        Dispatcher.of(request).listxattr(request, node: node, size: size)
    }
    ops.statfs = { request, node in
        Dispatcher.of(request).statfs(request, node: node)
    }
    ops.access = { request, node, mask in
        Dispatcher.of(request).access(request, node: node, mask: mask)
    }

    // Mutations: EROFS on a read-only mount.
    ops.setattr = { request, node, _, _, _ in
        Dispatcher.of(request).refuseMutation(request, "SETATTR \(node)")
    }
    ops.mknod = { request, parent, name, _, _ in
        Dispatcher.of(request).refuseMutation(request, "MKNOD \(parent)/\(copyName(name) ?? "?")")
    }
    ops.mkdir = { request, parent, name, _ in
        Dispatcher.of(request).refuseMutation(request, "MKDIR \(parent)/\(copyName(name) ?? "?")")
    }
    ops.unlink = { request, parent, name in
        Dispatcher.of(request).refuseMutation(request, "UNLINK \(parent)/\(copyName(name) ?? "?")")
    }
    ops.rmdir = { request, parent, name in
        Dispatcher.of(request).refuseMutation(request, "RMDIR \(parent)/\(copyName(name) ?? "?")")
    }
    ops.symlink = { request, _, parent, name in
        Dispatcher.of(request).refuseMutation(request, "SYMLINK \(parent)/\(copyName(name) ?? "?")")
    }
    ops.rename = { request, parent, name, _, _, _ in
        Dispatcher.of(request).refuseMutation(request, "RENAME \(parent)/\(copyName(name) ?? "?")")
    }
    ops.link = { request, node, _, _ in
        Dispatcher.of(request).refuseMutation(request, "LINK \(node)")
    }
    ops.write = { request, node, _, _, _, _ in
        Dispatcher.of(request).refuseMutation(request, "WRITE \(node)")
    }
    ops.create = { request, parent, name, _, _ in
        Dispatcher.of(request).refuseMutation(request, "CREATE \(parent)/\(copyName(name) ?? "?")")
    }
    ops.setxattr = { request, node, _, _, _, _ in
        Dispatcher.of(request).refuseMutation(request, "SETXATTR \(node)")
    }
    ops.removexattr = { request, node, _ in
        Dispatcher.of(request).refuseMutation(request, "REMOVEXATTR \(node)")
    }
    ops.fallocate = { request, node, _, _, _, _ in
        Dispatcher.of(request).refuseMutation(request, "FALLOCATE \(node)")
    }
    ops.copy_file_range = { request, _, _, _, node, _, _, _, _ in
        Dispatcher.of(request).refuseMutation(request, "COPY_FILE_RANGE to \(node)")
    }
    return ops
}
