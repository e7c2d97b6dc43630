import CHDF5

/// Truncated files (an interrupted copy or download) open, so that what is intact can be served.
///
/// libhdf5 refuses a file shorter than the end address its superblock records ("truncated
/// file: eof = ..., stored_eof = ...") before reading anything else. It skips that check when
/// the file-access list carries the property `skip_eof_check` (what `h5clear --filesize`
/// sets; H5Fsuper.c looks it up by name). With it, the library reads bytes past the real end
/// as zeros: object headers, B-tree nodes and heaps there fail their signature or checksum
/// and the object answers an error. Raw data past the end would read as zeros too, which
/// is why readers check dataset extents against the file's size (`HDF5Container.fileSize`).
enum TruncatedFiles {
    /// The property's name in libhdf5 1.10 (H5F_ACS_SKIP_EOF_CHECK_NAME, private).
    static let skipEOFCheckProperty = "skip_eof_check"

    /// Adds the property to a file-access list (under the gate). Failure is harmless: a
    /// truncated file is then refused as before, with libhdf5's reason.
    static func allow(in fileAccess: hid_t) {
        var skip: hbool_t = true
        if H5Pexist(fileAccess, skipEOFCheckProperty) > 0 {
            _ = H5Pset(fileAccess, skipEOFCheckProperty, &skip)
        } else {
            _ = H5Pinsert2(fileAccess, skipEOFCheckProperty, MemoryLayout<hbool_t>.size, &skip,
                           nil, nil, nil, nil, nil, nil)
        }
    }
}
