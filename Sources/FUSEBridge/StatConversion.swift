import Glibc
import H5FS

// H5FS values -> the C structs libfuse replies with.

/// `st_blksize`, the I/O size stat(2) recommends: 1 MiB, the `max_write` and `max_read` the
/// session negotiates (and the default chunk size). cp, cat and others size their buffers by
/// it (coreutils: at least 128 KiB): with 4096, `cp` wrote a large file in 128 KiB pieces,
/// each WRITE preceded by the kernel's GETXATTR security.capability, so a 45 MB file cost
/// about 700 round trips; with 1 MiB, about 90.
let preferredIOSize: blksize_t = 1 << 20

extension NodeAttributes {
    /// `st_ino` is the node id (docs/architecture.md, "Identity").
    var statValue: stat {
        var st = stat()
        st.st_ino = ino_t(node)
        st.st_mode = mode_t(mode)
        st.st_nlink = nlink_t(linkCount)
        st.st_size = off_t(clamping: size)
        st.st_uid = uid_t(uid)
        st.st_gid = gid_t(gid)
        st.st_blksize = preferredIOSize
        // 512-byte units, as du(1) expects; the logical size (no better answer
        // for compressed datasets without asking the storage layer).
        st.st_blocks = blkcnt_t(clamping: (size + 511) / 512)
        st.st_atim = accessTime.timespecValue
        st.st_mtim = modificationTime.timespecValue
        st.st_ctim = changeTime.timespecValue
        return st
    }

    var isDirectory: Bool { mode & UInt32(S_IFMT) == UInt32(S_IFDIR) }
}

extension Timestamp {
    var timespecValue: timespec { timespec(tv_sec: Int(seconds), tv_nsec: Int(nanoseconds)) }
}

extension FilesystemStatistics {
    func statvfsValue(readOnly: Bool) -> statvfs {
        var sv = statvfs()
        sv.f_bsize = UInt(blockSize)
        sv.f_frsize = UInt(blockSize)
        sv.f_blocks = fsblkcnt_t(totalBlocks)
        sv.f_bfree = fsblkcnt_t(freeBlocks)
        sv.f_bavail = fsblkcnt_t(availableBlocks)
        sv.f_files = fsfilcnt_t(totalFiles)
        sv.f_ffree = fsfilcnt_t(freeFiles)
        sv.f_favail = fsfilcnt_t(freeFiles)
        sv.f_namemax = UInt(maxNameLength)
        sv.f_flag = readOnly ? UInt(ST_RDONLY) : 0
        return sv
    }
}
