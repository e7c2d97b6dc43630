import CHDF5
import H5Model

/// Objects and links: cheap metadata, no dataset is opened.
extension HDF5Container {
    package func object(at path: H5Path) throws(StoreError) -> ObjectInfo {
        try contained(.init(.object, path)) { () throws(StoreError) -> ObjectInfo in try objectLocked(path) }
    }

    /// Caller holds the gate.
    func objectLocked(_ path: H5Path) throws(StoreError) -> ObjectInfo {
        let bytes = try bytePath(path)
        var info = H5O_info_t()
        try check(H5Oget_info_by_name2(fileID, bytes, &info, ObjectInfo.fields, h5m_p_default()),
                  .unreadable, "\(path): object")
        return ObjectInfo(info)
    }

    package func links(in group: H5Path) throws(StoreError) -> [Link] {
        Array(try linkList(in: group))
    }

    package func linkList(in group: H5Path) throws(StoreError) -> LinkList {
        try contained(.init(.list, group)) { () throws(StoreError) -> LinkList in try linksLocked(group) }
    }

    /// Caller holds the gate.
    /// `stillWorking` is called every `LinkPaths.linksPerHeartbeat` links, while iterating and
    /// while reading soft and external link values (a trial's heartbeat: listing a million
    /// links takes longer than one step's time limit).
    func linksLocked(_ group: H5Path, stillWorking: (() -> Void)? = nil) throws(StoreError) -> LinkList {
        let bytes = try bytePath(group)
        try requireGroup(bytes, group)
        var links = try iterateLinks(bytes, stillWorking: stillWorking)
        for index in links.indices where !links.isHard(index) {
            if let stillWorking, index % LinkPaths.linksPerHeartbeat == LinkPaths.linksPerHeartbeat - 1 { stillWorking() }
            let raw = RawLink(pendingAt: index, of: links)
            links.setTarget(try target(of: raw, at: linkPath(bytes, raw.name)), at: index)
        }
        links.finish()
        return links
    }

    package func link(named name: String, in group: H5Path) throws(StoreError) -> Link? {
        guard !name.isEmpty, !name.contains("/"), name != ".", name != ".." else { return nil }
        return try contained(.init(.lookup, group.appending(name))) { () throws(StoreError) -> Link? in
            try requireGroup(try bytePath(group), group)
            // Resolving through bytePath gives the stored bytes of a name with U+FFFD.
            let full = try bytePath(group.appending(name))
            let exists = H5Lexists(fileID, full, h5m_p_default())
            guard exists > 0 else {
                _ = ErrorStack.read()
                return nil
            }
            var info = H5L_info_t()
            try check(H5Lget_info(fileID, full, &info, h5m_p_default()), .unreadable, "\(group.appending(name)): link info")
            let isHard = info.type == H5L_TYPE_HARD
            let raw = RawLink(name: [], type: info.type, address: isHard ? info.u.address : 0,
                              valueSize: isHard ? 0 : info.u.val_size)
            return Link(name: name, target: try target(of: raw, at: full))
        }
    }

    /// Throws `.notFound` or `.invalidArgument` unless the byte path names a group.
    /// Caller holds the gate.
    private func requireGroup(_ bytes: [CChar], _ path: H5Path) throws(StoreError) {
        var info = H5O_info_t()
        try check(H5Oget_info_by_name2(fileID, bytes, &info, UInt32(H5O_INFO_BASIC), h5m_p_default()),
                  .unreadable, "\(path): group")
        guard info.type == H5O_TYPE_GROUP else { throw StoreError(.invalidArgument, "\(path): not a group") }
    }

    /// What a link points at; reads the value of soft and external links.
    /// `full` is the link's NUL-terminated byte path. Caller holds the gate.
    private func target(of raw: RawLink, at full: [CChar]) throws(StoreError) -> LinkTarget {
        switch raw.type {
        case H5L_TYPE_HARD:
            return .hard(address: UInt64(raw.address))
        case H5L_TYPE_SOFT, H5L_TYPE_EXTERNAL:
            var value = [UInt8](repeating: 0, count: raw.valueSize + 1)
            try check(H5Lget_val(fileID, full, &value, raw.valueSize, h5m_p_default()),
                      .unreadable, "\(full.pathText): link value")
            if raw.type == H5L_TYPE_SOFT {
                return .soft(String(decoding: value.prefix { $0 != 0 }, as: UTF8.self))
            }
            return try unpackExternal(&value, size: raw.valueSize, path: full)
        default:
            return .unknown
        }
    }

    /// Splits an external link value into (file, object); the C strings point into `value`.
    private func unpackExternal(_ value: inout [UInt8], size: Int, path: [CChar]) throws(StoreError) -> LinkTarget {
        let parts = value.withUnsafeMutableBytes { buffer -> (String, String)? in
            var flags: UInt32 = 0
            var file: UnsafePointer<CChar>?
            var object: UnsafePointer<CChar>?
            guard H5Lunpack_elink_val(buffer.baseAddress, size, &flags, &file, &object) >= 0 else { return nil }
            return (file.map { String(cString: $0) } ?? "", object.map { String(cString: $0) } ?? "")
        }
        guard let parts else { throw ErrorStack.error(.unreadable, "\(path.pathText): external link value") }
        return .external(file: parts.0, object: parts.1)
    }

    /// group + "/" + name as a NUL-terminated byte path.
    private func linkPath(_ group: [CChar], _ name: [UInt8]) -> [CChar] {
        var path = Array(group.prefix { $0 != 0 })
        if path.last != CChar(UInt8(ascii: "/")) { path.append(CChar(UInt8(ascii: "/"))) }
        path.append(contentsOf: name.map { CChar(bitPattern: $0) })
        path.append(0)
        return path
    }
}
