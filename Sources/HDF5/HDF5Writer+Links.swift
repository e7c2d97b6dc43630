import CHDF5
import H5Model

/// Groups and links. These are HDF5 operations, not POSIX ones: the filesystem layer
/// checks POSIX rules first (rmdir of a non-empty directory, rename of two hard links of
/// one object, ...). An object goes when its last link goes (libhdf5 frees it then).
extension HDF5Writer {
    /// Whether a link named by `path` exists (false also when a parent group is missing).
    package func linkExists(at path: H5Path) throws(StoreError) -> Bool {
        guard !path.components.isEmpty else { return true }
        return try withFile { (file) throws(StoreError) -> Bool in
            try exists(try LinkPaths.bytePath(path, in: file), file)
        }
    }

    package func createGroup(at path: H5Path) throws(StoreError) {
        try requireNotRoot(path, "create a group")
        try withFile { (file) throws(StoreError) in
            let bytes = try LinkPaths.bytePath(path, in: file)
            try refuseExisting(bytes, file, path)
            let links = try Self.linkCreationList()
            let creation = try Handle(H5Pcreate(h5m_p_group_create()), H5Pclose, "group creation list")
            // No modification times: smaller headers, and a replayed journal gives the same file.
            try check(H5Pset_obj_track_times(creation.id, false), .invalidArgument, "group creation list")
            _ = try Handle(H5Gcreate2(file, bytes, links.id, creation.id, h5m_p_default()), H5Gclose,
                           "\(path): create group", kind: .invalidArgument)
        }
    }

    /// Removes one link (hard, soft or external).
    package func deleteLink(at path: H5Path) throws(StoreError) {
        try requireNotRoot(path, "delete")
        try withFile { (file) throws(StoreError) in
            let bytes = try LinkPaths.bytePath(path, in: file)
            try check(H5Ldelete(file, bytes, h5m_p_default()), .invalidArgument, "\(path): delete link")
        }
    }

    /// Renames a link, across groups too; an existing link at `destination` is deleted first
    /// (so rename over an existing name works). Moving a group into itself is refused.
    package func moveLink(from source: H5Path, to destination: H5Path) throws(StoreError) {
        try requireNotRoot(source, "move")
        try requireNotRoot(destination, "move onto")
        if destination.components.count > source.components.count,
           Array(destination.components.prefix(source.components.count)) == source.components {
            throw StoreError(.invalidArgument, "\(source): cannot move into itself (\(destination))")
        }
        try withFile { (file) throws(StoreError) in
            let from = try LinkPaths.bytePath(source, in: file)
            let to = try LinkPaths.bytePath(destination, in: file)
            guard try exists(from, file) else { throw StoreError(.notFound, "\(source): no such link") }
            if from == to { return }
            if try exists(to, file) {
                try check(H5Ldelete(file, to, h5m_p_default()), .invalidArgument, "\(destination): replace")
            }
            let links = try Self.linkCreationList()
            try check(H5Lmove(file, from, file, to, links.id, h5m_p_default()), .invalidArgument,
                      "\(source): move to \(destination)")
        }
    }

    /// A soft link whose value is `target`, stored verbatim.
    package func createSoftLink(at path: H5Path, target: String) throws(StoreError) {
        try requireNotRoot(path, "create a link")
        try withFile { (file) throws(StoreError) in
            let bytes = try LinkPaths.bytePath(path, in: file)
            try refuseExisting(bytes, file, path)
            let links = try Self.linkCreationList()
            try check(H5Lcreate_soft(target, file, bytes, links.id, h5m_p_default()), .invalidArgument,
                      "\(path): create soft link")
        }
    }

    /// A new hard link at `path` to the object `existing` leads to.
    package func createHardLink(at path: H5Path, to existing: H5Path) throws(StoreError) {
        try requireNotRoot(path, "create a link")
        try withFile { (file) throws(StoreError) in
            let bytes = try LinkPaths.bytePath(path, in: file)
            let target = try LinkPaths.bytePath(existing, in: file)
            try refuseExisting(bytes, file, path)
            let links = try Self.linkCreationList()
            try check(H5Lcreate_hard(file, target, file, bytes, links.id, h5m_p_default()), .invalidArgument,
                      "\(path): create hard link to \(existing)")
        }
    }

    /// Link creation: UTF-8 names (as h5py stores non-ASCII names). Caller holds the gate.
    static func linkCreationList() throws(StoreError) -> Handle {
        let links = try Handle(H5Pcreate(h5m_p_link_create()), H5Pclose, "link creation list")
        try check(H5Pset_char_encoding(links.id, H5T_CSET_UTF8), .invalidArgument, "link name encoding")
        return links
    }

    /// Whether the link at a byte path exists; false when a parent is missing. Caller holds the gate.
    func exists(_ bytes: [CChar], _ file: hid_t) throws(StoreError) -> Bool {
        let answer = H5Lexists(file, bytes, h5m_p_default())
        if answer < 0 {
            // A missing or non-group parent: nothing is there.
            _ = ErrorStack.read()
            return false
        }
        return answer > 0
    }

    /// `.invalidArgument` ("already exists") when a link is at `bytes`. Caller holds the gate.
    func refuseExisting(_ bytes: [CChar], _ file: hid_t, _ path: H5Path) throws(StoreError) {
        if try exists(bytes, file) { throw StoreError(.invalidArgument, "\(path): already exists") }
    }

    func requireNotRoot(_ path: H5Path, _ what: String) throws(StoreError) {
        if path.components.isEmpty { throw StoreError(.invalidArgument, "/: cannot \(what) the root group") }
    }
}
