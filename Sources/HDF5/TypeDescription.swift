import CHDF5
import Glibc
import H5Model

/// Builds the model's `DataType` from a libhdf5 datatype id. Caller holds the gate.
///
/// The ids come from `H5Dget_type`/`H5Aget_type`, which libhdf5 marks as
/// *memory* types: for fixed-size types that is exactly the stored form, but a
/// compound holding variable-length members gets the in-memory member sizes
/// (a `char *`, an `hvl_t`) and offsets shifted to match. Those types have no
/// raw form anyway (they are rendered as JSON); the element decoder relies on
/// the memory offsets.
enum TypeDescription {
    static func describe(_ type: hid_t) throws(StoreError) -> DataType {
        let size = H5Tget_size(type)
        guard size > 0 else { throw ErrorStack.error(.unreadable, "datatype size") }
        switch H5Tget_class(type) {
        case H5T_INTEGER:
            return .integer(size: size, signed: H5Tget_sign(type) == H5T_SGN_2, order: order(type))
        case H5T_FLOAT:
            return .float(size: size, order: order(type))
        case H5T_BITFIELD:
            return .bitfield(size: size, order: order(type))
        case H5T_OPAQUE:
            return .opaque(size: size, tag: takeString(H5Tget_tag(type)))
        case H5T_STRING:
            let charset: StringCharset = H5Tget_cset(type) == H5T_CSET_UTF8 ? .utf8 : .ascii
            if H5Tis_variable_str(type) > 0 { return .variableString(charset: charset) }
            return .fixedString(size: size, padding: padding(type), charset: charset)
        case H5T_COMPOUND:
            return try compound(type, size: size)
        case H5T_ENUM:
            return try enumeration(type)
        case H5T_ARRAY:
            let rank = H5Tget_array_ndims(type)
            guard rank >= 0 else { throw ErrorStack.error(.unreadable, "array datatype rank") }
            var dims = [hsize_t](repeating: 0, count: Int(rank))
            try check(H5Tget_array_dims2(type, &dims), .unreadable, "array datatype dimensions")
            let base = try Handle(H5Tget_super(type), H5Tclose, "array base type")
            return .array(base: try describe(base.id), dims: dims.map { Int($0) })
        case H5T_VLEN:
            let base = try Handle(H5Tget_super(type), H5Tclose, "sequence base type")
            return .variableSequence(base: try describe(base.id))
        case H5T_REFERENCE:
            if H5Tequal(type, h5m_t_std_ref_obj()) > 0 { return .reference(.object) }
            if H5Tequal(type, h5m_t_std_ref_dsetreg()) > 0 { return .reference(.region) }
            return .unsupported(className: "reference", size: size)
        case H5T_TIME:
            return .unsupported(className: "time", size: size)
        default:
            return .unsupported(className: "class \(H5Tget_class(type).rawValue)", size: size)
        }
    }

    /// libhdf5's byte order; order-free types (strings, opaque) are `.notApplicable`.
    private static func order(_ type: hid_t) -> ByteOrder {
        switch H5Tget_order(type) {
        case H5T_ORDER_LE: return .little
        case H5T_ORDER_BE: return .big
        default: return .notApplicable
        }
    }

    private static func padding(_ type: hid_t) -> StringPadding {
        switch H5Tget_strpad(type) {
        case H5T_STR_NULLTERM: return .nullTerminated
        case H5T_STR_SPACEPAD: return .spacePadded
        default: return .nullPadded
        }
    }

    private static func compound(_ type: hid_t, size: Int) throws(StoreError) -> DataType {
        let count = H5Tget_nmembers(type)
        guard count >= 0 else { throw ErrorStack.error(.unreadable, "compound member count") }
        var members: [CompoundMember] = []
        for index in 0..<UInt32(count) {
            let name = takeString(H5Tget_member_name(type, index))
            let offset = H5Tget_member_offset(type, index)
            let memberType = try Handle(H5Tget_member_type(type, index), H5Tclose, "compound member \(name)")
            members.append(CompoundMember(name: name, offset: offset, type: try describe(memberType.id)))
        }
        return .compound(size: size, members: members)
    }

    private static func enumeration(_ type: hid_t) throws(StoreError) -> DataType {
        let baseHandle = try Handle(H5Tget_super(type), H5Tclose, "enum base type")
        let base = try describe(baseHandle.id)
        let count = H5Tget_nmembers(type)
        guard count >= 0 else { throw ErrorStack.error(.unreadable, "enum member count") }
        let baseSize = H5Tget_size(baseHandle.id)
        var members: [EnumMember] = []
        var value = [UInt8](repeating: 0, count: max(baseSize, 8))
        for index in 0..<UInt32(count) {
            let name = takeString(H5Tget_member_name(type, index))
            // The value comes back in the base type's own size and byte order.
            try check(H5Tget_member_value(type, index, &value), .unreadable, "enum member \(name)")
            let number = value.withUnsafeBytes { bytes in bytes.baseAddress.map { ElementDecoder.integer(base, at: $0) } ?? 0 }
            members.append(EnumMember(name: name, value: number))
        }
        return .enumeration(base: base, members: members)
    }

    /// Copies and frees a string libhdf5 allocated for us ("" for NULL).
    private static func takeString(_ pointer: UnsafeMutablePointer<CChar>?) -> String {
        guard let pointer else { return "" }
        defer { _ = H5free_memory(pointer) }
        return String(cString: pointer)
    }
}
