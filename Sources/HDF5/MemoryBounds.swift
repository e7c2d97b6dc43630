import CHDF5

/// What libhdf5 itself may keep of the daemon's memory (docs/hdf5-store.md, "Many links").
///
/// Iterating a million links of a dense group grew the process by about 42 MiB inside
/// libhdf5 and kept it: its metadata cache grows adaptively to 32 MiB by default (20 MiB
/// after that iteration, for B-tree and fractal heap blocks visited once each). Capping it
/// is what bounded the listing (docs/hdf5-store.md, "Many links", with its CPU price). The
/// free lists, which keep freed blocks for reuse (libhdf5's own limits add up to tens of
/// MiB), are capped lower too; that made no measurable difference to the million-link
/// listing, it bounds what other large metadata work may leave behind.
enum MemoryBounds {
    /// The metadata cache's ceiling per open file. A million-link listing would use 20 MiB
    /// and re-reads heap blocks within 8 (about 1.7x its CPU); a group of thousands fits.
    static let metadataCacheBytes = 8 << 20
    /// Per free list, and for all lists of one kind together (regular, array, block).
    static let freeListBytes: Int32 = 256 << 10
    static let freeListsBytes: Int32 = 1 << 20

    /// Once, after H5open. Caller holds the gate.
    static func limitFreeLists() {
        _ = H5set_free_list_limits(freeListsBytes, freeListBytes, freeListsBytes, freeListBytes,
                                   freeListsBytes, freeListBytes)
    }

    /// Lowers the metadata cache's ceiling in a file access list; a failure keeps
    /// libhdf5's defaults (it only costs memory). Caller holds the gate.
    static func limitMetadataCache(_ fileAccess: hid_t) {
        var config = H5AC_cache_config_t()
        config.version = 1   // H5AC__CURR_CACHE_CONFIG_VERSION
        guard H5Pget_mdc_config(fileAccess, &config) >= 0 else {
            _ = ErrorStack.read()
            return
        }
        config.max_size = min(config.max_size, metadataCacheBytes)
        config.min_size = min(config.min_size, config.max_size)
        config.initial_size = min(config.initial_size, config.max_size)
        if H5Pset_mdc_config(fileAccess, &config) < 0 { _ = ErrorStack.read() }
    }
}
