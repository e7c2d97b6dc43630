import H5Model

/// How HDF5 names become POSIX names and paths inside the mount.
enum NameRules {
    /// Suffix of dataset sidecars (`NAME.attrs`); a group's own sidecar is exactly this name.
    static let sidecarSuffix = ".attrs"
    /// The hidden directory that serves externally linked files.
    static let externalDirectory = ".external"
    /// Hidden group of the root where files unlinked while still open wait for their last
    /// close (their bytes must stay readable through the open descriptors).
    static let unlinkedGroup = ".h5mount-unlinked"
    /// Attributes h5mount records for itself (modes, owners, times); never shown.
    static let reservedAttributePrefix = "h5mount."

    /// HDF5 names that cannot be POSIX file names are left out of listings.
    static func isValidFileName(_ name: String) -> Bool {
        let bytes = name.utf8
        return !bytes.isEmpty && name != "." && name != ".." && bytes.count <= 255
            && !bytes.contains(0x2F) && !bytes.contains(0)
    }

    static func isVisibleAttribute(_ name: String) -> Bool {
        !name.hasPrefix(reservedAttributePrefix)
    }

    /// The entry name under `/.external/` for an external link's file name:
    /// `%` and `/` escaped so any path fits in one component.
    static func externalEntryName(forFile file: String) -> String {
        var out = ""
        for ch in file {
            switch ch {
            case "%": out += "%25"
            case "/": out += "%2F"
            default: out.append(ch)
            }
        }
        if out == "." || out == ".." { out = out.replacingDots() }
        return out
    }

    /// Inverse of `externalEntryName`; nil for text that is not a valid escape.
    static func externalFileName(forEntry entry: String) -> String? {
        var bytes: [UInt8] = []
        var input = Array(entry.utf8)[...]
        while let b = input.first {
            input = input.dropFirst()
            guard b == UInt8(ascii: "%") else { bytes.append(b); continue }
            guard input.count >= 2, let v = UInt8(String(decoding: input.prefix(2), as: UTF8.self), radix: 16) else { return nil }
            bytes.append(v)
            input = input.dropFirst(2)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    /// The relative path from directory `from` to `to` (both mount-absolute components).
    static func relativePath(from directory: [String], to target: [String]) -> String {
        var common = 0
        while common < directory.count, common < target.count, directory[common] == target[common] { common += 1 }
        let parts = Array(repeating: "..", count: directory.count - common) + target[common...]
        return parts.isEmpty ? "." : parts.joined(separator: "/")
    }

    /// Byte order of paths, as the canonical-path rule wants (Swift's String `<` is not byte order).
    static func precedesInByteOrder(_ a: String, _ b: String) -> Bool {
        a.utf8.lexicographicallyPrecedes(b.utf8)
    }
}

private extension String {
    func replacingDots() -> String {
        var out = ""
        for ch in self { out += ch == "." ? "%2E" : String(ch) }
        return out
    }
}
