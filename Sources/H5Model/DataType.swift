/// The Swift model of an HDF5 datatype, as read from a file.
///
/// The HDF5 module builds these from `H5Tget_class` and friends; everything
/// above it (sidecars, renderings, the chunk engine) reasons on this value only.
package enum ByteOrder: String, Sendable, Hashable {
    case little, big
    /// One-byte or order-free types (numpy's `|`).
    case notApplicable
}

package enum StringCharset: String, Sendable, Hashable { case ascii, utf8 }

/// How a fixed-length string pads its unused bytes (`H5T_STR_NULLTERM` ...).
package enum StringPadding: String, Sendable, Hashable { case nullTerminated, nullPadded, spacePadded }

package enum ReferenceKind: String, Sendable, Hashable { case object, region }

package struct CompoundMember: Sendable, Hashable {
    package var name: String
    /// Byte offset of the member inside one element, as stored.
    package var offset: Int
    package var type: DataType
    package init(name: String, offset: Int, type: DataType) {
        self.name = name; self.offset = offset; self.type = type
    }
}

package struct EnumMember: Sendable, Hashable {
    package var name: String
    package var value: Int64
    package init(name: String, value: Int64) { self.name = name; self.value = value }
}

package indirect enum DataType: Sendable, Hashable {
    case integer(size: Int, signed: Bool, order: ByteOrder)
    case float(size: Int, order: ByteOrder)
    case bitfield(size: Int, order: ByteOrder)
    case opaque(size: Int, tag: String)
    case fixedString(size: Int, padding: StringPadding, charset: StringCharset)
    case variableString(charset: StringCharset)
    /// `size` is the stored element size; members keep their stored offsets (padding included).
    case compound(size: Int, members: [CompoundMember])
    case enumeration(base: DataType, members: [EnumMember])
    case array(base: DataType, dims: [Int])
    case variableSequence(base: DataType)
    case reference(ReferenceKind)
    /// A class h5mount does not model (time, ...): rendered as JSON of its bytes.
    case unsupported(className: String, size: Int)
}
