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
        // Called by fuse_session_destroy after the loop ended: commits a writable mount.
        Dispatcher.fromOpaque(userdata).finishSession()
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
        Dispatcher.of(request).fsyncDirectory(request, node: node)
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
    ops.flush = { request, node, info in
        Dispatcher.of(request).flush(request, node: node, info: info)
    }
    ops.fsync = { request, node, _, info in
        Dispatcher.of(request).fsync(request, node: node, info: info)
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

    // Mutations: to the filesystem on a writable mount, EROFS on a read-only one.
    ops.setattr = { request, node, attributes, toSet, info in
        Dispatcher.of(request).setattr(request, node: node, attributes: attributes, toSet: toSet, info: info)
    }
    ops.mknod = { request, parent, name, mode, _ in
        Dispatcher.of(request).mknod(request, parent: parent, name: copyName(name), mode: mode)
    }
    ops.mkdir = { request, parent, name, mode in
        Dispatcher.of(request).mkdir(request, parent: parent, name: copyName(name), mode: mode)
    }
    ops.unlink = { request, parent, name in
        Dispatcher.of(request).unlink(request, parent: parent, name: copyName(name))
    }
    ops.rmdir = { request, parent, name in
        Dispatcher.of(request).rmdir(request, parent: parent, name: copyName(name))
    }
    ops.symlink = { request, target, parent, name in
        Dispatcher.of(request).symlink(request, parent: parent, name: copyName(name), target: copyName(target))
    }
    ops.rename = { request, parent, name, newParent, newName, flags in
        Dispatcher.of(request).rename(request, parent: parent, name: copyName(name), newParent: newParent,
                                      newName: copyName(newName), flags: UInt32(flags))
    }
    ops.link = { request, node, newParent, newName in
        Dispatcher.of(request).link(request, node: node, newParent: newParent, newName: copyName(newName))
    }
    ops.create = { request, parent, name, mode, info in
        Dispatcher.of(request).create(request, parent: parent, name: copyName(name), mode: mode, info: info)
    }
    // Splice is off, so libfuse hands writes over in memory; `write` uses them before it replies.
    ops.write = { request, node, buffer, size, offset, info in
        Dispatcher.of(request).write(request, node: node, buffer: buffer, size: size, offset: Int64(offset), info: info)
    }
    // The value is copied before the callback returns, like names.
    ops.setxattr = { request, node, name, value, size, flags in
        let bytes = value.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) } ?? []
        Dispatcher.of(request).setxattr(request, node: node, name: copyName(name), value: bytes, flags: flags)
    }
    ops.removexattr = { request, node, name in
        Dispatcher.of(request).removexattr(request, node: node, name: copyName(name))
    }
    // posix_fallocate(3) falls back to writing zeros on EOPNOTSUPP.
    ops.fallocate = { request, node, _, _, _, _ in
        Dispatcher.of(request).refuseMutation(request, unsupported: EOPNOTSUPP, "FALLOCATE \(node)")
    }
    // ENOSYS: the kernel stops asking and copies through read and write.
    ops.copy_file_range = { request, _, _, _, node, _, _, _, _ in
        Dispatcher.of(request).refuseMutation(request, unsupported: ENOSYS, "COPY_FILE_RANGE to \(node)")
    }
    return ops
}
