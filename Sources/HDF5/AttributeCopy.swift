import CHDF5
import Glibc
import H5Model

/// A rewritten file keeps its attributes: packing makes a new dataset and links it over
/// the old one, and the old one's attributes (user ones set through xattrs or sidecars,
/// and h5mount's own) are copied to the new one first, type and all, as a local disk keeps
/// a file's xattrs when it is truncated and rewritten.
enum AttributeCopy {
    /// Copies every attribute of the object at `source` to the object `target` (new), but
    /// for names `target` already has: those were given with the pack (a file's
    /// `h5mount.stat`) and are newer. Caller holds the gate.
    static func carryOver(from source: [CChar], in file: hid_t, to target: hid_t, _ path: H5Path) throws(StoreError) {
        var info = H5O_info_t()
        try check(H5Oget_info_by_name2(file, source, &info, UInt32(H5O_INFO_NUM_ATTRS), h5m_p_default()),
                  .invalidArgument, "\(path): attributes of the old file")
        guard info.num_attrs > 0 else { return }
        let old = try Handle(H5Oopen(file, source, h5m_p_default()), H5Oclose, "\(path): open the old file",
                             kind: .invalidArgument)
        for index in 0..<info.num_attrs {
            let attribute = try Handle(H5Aopen_by_idx(old.id, ".", H5_INDEX_NAME, H5_ITER_INC, index,
                                                      h5m_p_default(), h5m_p_default()),
                                       H5Aclose, "\(path): attribute \(index)", kind: .invalidArgument)
            try copy(attribute.id, to: target, path)
        }
    }

    /// One attribute, read and written in its own file type. Caller holds the gate.
    private static func copy(_ attribute: hid_t, to target: hid_t, _ path: H5Path) throws(StoreError) {
        let length = H5Aget_name(attribute, 0, nil)
        try check(length, .invalidArgument, "\(path): attribute name")
        var name = [CChar](repeating: 0, count: Int(length) + 1)
        try check(H5Aget_name(attribute, name.count, &name), .invalidArgument, "\(path): attribute name")
        let present = H5Aexists(target, name)
        try check(present, .invalidArgument, "\(path): attribute name")
        guard present == 0 else { return }
        let type = try Handle(H5Aget_type(attribute), H5Tclose, "\(path): attribute type")
        let space = try Handle(H5Aget_space(attribute), H5Sclose, "\(path): attribute dataspace")
        let creation = try Handle(H5Pcreate(h5m_p_attribute_create()), H5Pclose, "attribute creation list")
        try check(H5Pset_char_encoding(creation.id, H5T_CSET_UTF8), .invalidArgument, "attribute name encoding")
        let copied = try Handle(H5Acreate2(target, name, type.id, space.id, creation.id, h5m_p_default()), H5Aclose,
                                "\(path): copy attribute", kind: .invalidArgument)
        let count = H5Sget_simple_extent_npoints(space.id)
        try check(count, .invalidArgument, "\(path): attribute size")
        guard count > 0 else { return }
        var buffer = [UInt8](repeating: 0, count: H5Tget_size(type.id) * Int(count))
        let (read, written) = buffer.withUnsafeMutableBytes { bytes -> (herr_t, herr_t) in
            let read = H5Aread(attribute, type.id, bytes.baseAddress)
            guard read >= 0 else { return (read, 0) }
            let written = H5Awrite(copied.id, type.id, bytes.baseAddress)
            // Variable-length parts (strings, sequences) were allocated by the read.
            if H5Tdetect_class(type.id, H5T_VLEN) > 0 || H5Tdetect_class(type.id, H5T_STRING) > 0 {
                _ = H5Dvlen_reclaim(type.id, space.id, h5m_p_default(), bytes.baseAddress)
            }
            return (read, written)
        }
        try check(read, .invalidArgument, "\(path): read attribute")
        try check(written, .invalidArgument, "\(path): write attribute")
    }
}
