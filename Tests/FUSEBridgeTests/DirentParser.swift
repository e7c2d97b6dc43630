/// Decodes what fuse_add_direntry(_plus) wrote (the kernel's fuse_dirent and
/// fuse_direntplus layouts from linux/fuse.h), to check readdir replies.
struct ParsedDirent: Equatable {
    var name: String
    var inode: UInt64
    var nextOffset: UInt64
    var type: UInt32
    /// readdirplus only: the entry's node id (0 = not linked/counted by the kernel).
    var entryNode: UInt64?
    var entrySize: UInt64?
}

private func load<T: FixedWidthInteger>(_ bytes: [UInt8], _ at: Int, as: T.Type) -> T {
    var value: T = 0
    for index in 0..<MemoryLayout<T>.size { value |= T(bytes[at + index]) << (8 * index) }
    return value
}

func parseDirents(_ bytes: [UInt8], plus: Bool) -> [ParsedDirent] {
    let entryOutSize = 128 // fuse_entry_out: 40 bytes + fuse_attr (88)
    var result: [ParsedDirent] = []
    var position = 0
    while position < bytes.count {
        var entryNode: UInt64?
        var entrySize: UInt64?
        if plus {
            entryNode = load(bytes, position, as: UInt64.self)
            entrySize = load(bytes, position + 40 + 8, as: UInt64.self) // attr.size
            position += entryOutSize
        }
        let inode = load(bytes, position, as: UInt64.self)
        let next = load(bytes, position + 8, as: UInt64.self)
        let nameLength = Int(load(bytes, position + 16, as: UInt32.self))
        let type = load(bytes, position + 20, as: UInt32.self)
        let name = String(decoding: bytes[(position + 24)..<(position + 24 + nameLength)], as: UTF8.self)
        result.append(ParsedDirent(name: name, inode: inode, nextOffset: next, type: type,
                                   entryNode: entryNode, entrySize: entrySize))
        position += (24 + nameLength + 7) & ~7
    }
    return result
}
