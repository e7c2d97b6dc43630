import CFUSE
import Glibc
import H5FS

/// A readdir reply: the packed bytes, and the nodes whose lookup count was
/// raised for them (readdirplus only) so a failed reply can give them back.
package struct DirectoryReply: Sendable {
    package var bytes: [UInt8]
    package var countedNodes: [NodeID]
    /// How many entries went into the buffer.
    package var entryCount: Int
}

extension Dispatcher {
    /// Packs the entries of `snapshot` from readdir offset `offset` into at
    /// most `size` bytes, as fuse_add_direntry(_plus) lays them out.
    ///
    /// With `plus`, every real entry handed to the kernel counts as one lookup
    /// (the kernel will forget it), and only then: an entry that does not fit
    /// is not counted, as in libfuse's passthrough_ll.c. "." and ".." go out
    /// with node id 0 in their entry, which the kernel neither links nor counts; so does
    /// an entry whose node has gone since the opendir (`replyAttributes`).
    package func packDirectory(_ snapshot: DirectorySnapshot, offset: Int, size: Int,
                               plus: Bool, request: fuse_req_t? = nil) -> DirectoryReply {
        guard offset >= 0, offset < snapshot.count, size > 0 else {
            return DirectoryReply(bytes: [], countedNodes: [], entryCount: 0)
        }
        var counted: [NodeID] = []
        var entryCount = 0
        let bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
            initialized = 0
            guard let start = buffer.baseAddress else { return }
            let base = UnsafeMutableRawPointer(start).assumingMemoryBound(to: CChar.self)
            var used = 0
            for index in offset..<snapshot.count {
                // An empty slot (a link left out) keeps the offsets of the others.
                guard let listed = snapshot.entry(at: index) else { continue }
                let nextOffset = off_t(index + 1)
                let remaining = size - used
                // Attributes as of this reply, not of the opendir (replyAttributes says why).
                let current = plus ? replyAttributes(of: listed) : nil
                let linked = plus && !listed.isDotEntry && current != nil
                let needed = listed.name.withCString { name -> Int in
                    if plus {
                        var entry = linked ? entryParameter(current ?? listed.attributes) : fuse_entry_param()
                        if !linked { entry.attr = (current ?? listed.attributes).statValue }
                        return fuse_add_direntry_plus(request, base + used, remaining, name, &entry, nextOffset)
                    } else {
                        var st = listed.attributes.statValue
                        return fuse_add_direntry(request, base + used, remaining, name, &st, nextOffset)
                    }
                }
                if needed > remaining { break }
                used += needed
                entryCount += 1
                if linked {
                    filesystem.countLookup(listed.attributes.node)
                    counted.append(listed.attributes.node)
                    if listed.attributes.isDirectory { parents.record(listed.attributes.node, in: snapshot.node) }
                }
            }
            initialized = used
        }
        return DirectoryReply(bytes: bytes, countedNodes: counted, entryCount: entryCount)
    }
}
