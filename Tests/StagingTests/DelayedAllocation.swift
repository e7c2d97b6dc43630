import Glibc

/// Whether every extent of the file at `path` is still only in memory (ext4's delayed
/// allocation, as in ext4 and XFS: no disk block chosen, nothing written), by FIEMAP; nil
/// where that cannot be told (FIEMAP refused, as on tmpfs, or no extent at all).
///
/// Why tests ask: ext4 flushes a file truncated to 0 when a descriptor of it is closed
/// (`auto_da_alloc`), and a flush allocates its blocks at once, so an extent that is no
/// longer delayed right after a close shows the flush happened.
func isOnlyInMemory(_ path: String) -> Bool? {
    let descriptor = open(path, O_RDONLY)
    guard descriptor >= 0 else { return nil }
    defer { close(descriptor) }
    // struct fiemap (32 bytes) and room for 16 struct fiemap_extent (56 bytes each).
    let headerSize = 32, extentSize = 56, room = 16
    var request = [UInt8](repeating: 0, count: headerSize + extentSize * room)
    return request.withUnsafeMutableBytes { raw -> Bool? in
        raw.storeBytes(of: UInt64.max, toByteOffset: 8, as: UInt64.self)  // fm_length: all
        raw.storeBytes(of: UInt32(room), toByteOffset: 24, as: UInt32.self)  // fm_extent_count
        let fsIocFiemap: UInt = 0xC020_660B  // _IOWR('f', 11, struct fiemap)
        guard ioctl(descriptor, fsIocFiemap, raw.baseAddress!) == 0 else { return nil }
        let mapped = Int(raw.load(fromByteOffset: 20, as: UInt32.self))
        guard mapped > 0 else { return nil }
        let delayed: UInt32 = 0x4  // FIEMAP_EXTENT_DELALLOC
        return (0..<mapped).allSatisfy { index in
            raw.load(fromByteOffset: headerSize + index * extentSize + 40, as: UInt32.self) & delayed != 0
        }
    }
}
