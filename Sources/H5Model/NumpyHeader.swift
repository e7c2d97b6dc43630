/// The header of a NumPy `.npy` file, written byte for byte as `numpy.save` writes it
/// (numpy/lib/_format_impl.py, `_write_array_header`):
///
///     \x93NUMPY  major minor  header length (<u2 for 1.0, <u4 for 2.0 and 3.0)
///     {'descr': ..., 'fortran_order': False, 'shape': (...), }   + 21 - len(repr(shape[0])) spaces
///     spaces up to a multiple of 64 bytes in all, then '\n'
///
/// Version 1.0 unless the header does not fit in 65535 bytes (2.0) or holds a field
/// name latin-1 cannot encode (3.0, UTF-8), as numpy chooses. The array's bytes follow
/// the header, which is a multiple of 64 bytes long, so `numpy.load(mmap_mode=)` maps
/// them aligned. Pure computation: the `.npy` views of the filesystem use it.
package enum NumpyHeader {
    /// numpy's `ARRAY_ALIGN`: header and prefix together are a multiple of it.
    static let alignment = 64
    /// numpy's `GROWTH_AXIS_MAX_DIGITS`: room left to rewrite the first dimension in place.
    static let growthDigits = 21
    static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)

    /// The header for a C-order array of `element`s with `shape`; nil when numpy has no
    /// `.npy` descriptor for the element type (see `descr`).
    package static func header(element: DataType, shape: [UInt64]) -> [UInt8]? {
        guard let descr = descr(element) else { return nil }
        var text = "{'descr': \(descr), 'fortran_order': False, 'shape': \(PythonLiteral.tuple(shape)), }"
        if let first = shape.first {
            text += String(repeating: " ", count: max(0, growthDigits - String(first).count))
        }
        if text.unicodeScalars.allSatisfy({ $0.value <= 0xFF }) {
            let latin1 = text.unicodeScalars.map { UInt8($0.value) }
            return wrap(latin1, major: 1, lengthBytes: 2) ?? wrap(latin1, major: 2, lengthBytes: 4)
        }
        return wrap(Array(text.utf8), major: 3, lengthBytes: 4)
    }

    /// `numpy.lib.format.dtype_to_descr` as a Python literal: `dtype.str` (`'<u2'`) for
    /// plain types, `dtype.descr` for compounds — a list of `(name, descr[, shape])` with
    /// `('', '|V<n>')` for padding, nested lists for nested compounds. nil for types with no
    /// fixed-size raw form, and for compounds whose members overlap or are out of offset
    /// order, which numpy cannot describe in a header either (`dtype.descr` raises).
    package static func descr(_ type: DataType) -> String? {
        switch type {
        case .compound(let size, let members):
            var items: [String] = []
            var offset = 0
            for member in members {
                guard !member.name.isEmpty, member.offset >= offset, let memberSize = member.type.fixedSize else { return nil }
                if member.offset > offset { items.append(padding(member.offset - offset)) }
                let (base, dims) = member.type.flattenedForRawArray
                guard let inner = descr(base) else { return nil }
                let name = PythonLiteral.string(member.name)
                items.append(dims.isEmpty ? "(\(name), \(inner))" : "(\(name), \(inner), \(PythonLiteral.tuple(dims)))")
                offset = member.offset + memberSize
            }
            guard size >= offset else { return nil }
            if size > offset { items.append(padding(size - offset)) }
            return "[" + items.joined(separator: ", ") + "]"
        case .array:
            // A dataset's own array type is flattened into its shape before it gets here.
            return nil
        default:
            guard case .string(let text)? = type.numpyDescriptor else { return nil }
            return PythonLiteral.string(text)
        }
    }

    private static func padding(_ count: Int) -> String { "('', '|V\(count)')" }

    /// Prefix + header + spaces + "\n", padded to the alignment; nil when the length does
    /// not fit the version's length field.
    private static func wrap(_ header: [UInt8], major: UInt8, lengthBytes: Int) -> [UInt8]? {
        let prefix = magic.count + 2 + lengthBytes
        let unpadded = header.count + 1
        let padding = alignment - (prefix + unpadded) % alignment
        let length = unpadded + padding
        guard UInt64(length) < (UInt64(1) << (8 * lengthBytes)) else { return nil }
        var out = magic + [major, 0]
        out.reserveCapacity(prefix + length)
        for i in 0..<lengthBytes { out.append(UInt8(truncatingIfNeeded: length >> (8 * i))) }
        out += header
        out += [UInt8](repeating: 0x20, count: padding)
        out.append(0x0A)
        return out
    }
}
