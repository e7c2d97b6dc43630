import H5Model

/// Little-endian binary encoding of journal records: fixed-width integers, length-prefixed
/// strings and byte strings, and JSON values with a tag byte per node (exact: no text
/// round trip that could turn 2.0 into 2 or lose a uint64).
struct ByteWriter {
    var bytes: [UInt8] = []

    mutating func u8(_ value: UInt8) { bytes.append(value) }
    mutating func bool(_ value: Bool) { bytes.append(value ? 1 : 0) }
    mutating func u32(_ value: UInt32) { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func u64(_ value: UInt64) { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func i64(_ value: Int64) { u64(UInt64(bitPattern: value)) }

    mutating func string(_ value: String) {
        let utf8 = Array(value.utf8)
        u32(UInt32(utf8.count))
        bytes.append(contentsOf: utf8)
    }

    mutating func path(_ value: H5Path) {
        u32(UInt32(value.components.count))
        for component in value.components { string(component) }
    }

    mutating func json(_ value: JSONValue) {
        switch value {
        case .null: u8(0)
        case .bool(let b): u8(1); bool(b)
        case .int(let i): u8(2); i64(i)
        case .uint(let u): u8(3); u64(u)
        case .double(let d): u8(4); u64(d.bitPattern)
        case .string(let s): u8(5); string(s)
        case .array(let items):
            u8(6); u32(UInt32(items.count))
            for item in items { json(item) }
        case .object(let members):
            u8(7); u32(UInt32(members.count))
            for member in members { string(member.key); json(member.value) }
        }
    }
}

/// Reads what `ByteWriter` wrote; any overrun or bad tag throws (a damaged record).
struct ByteReader {
    struct Overrun: Error {}

    let bytes: [UInt8]
    var position = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var isAtEnd: Bool { position == bytes.count }

    mutating func take(_ count: Int) throws(Overrun) -> ArraySlice<UInt8> {
        guard count >= 0, bytes.count - position >= count else { throw Overrun() }
        defer { position += count }
        return bytes[position..<(position + count)]
    }

    mutating func u8() throws(Overrun) -> UInt8 { try take(1).first ?? 0 }
    mutating func bool() throws(Overrun) -> Bool { try u8() != 0 }

    mutating func u32() throws(Overrun) -> UInt32 {
        try take(4).reversed().reduce(0) { $0 << 8 | UInt32($1) }
    }

    mutating func u64() throws(Overrun) -> UInt64 {
        try take(8).reversed().reduce(0) { $0 << 8 | UInt64($1) }
    }

    mutating func i64() throws(Overrun) -> Int64 { Int64(bitPattern: try u64()) }

    mutating func string() throws(Overrun) -> String {
        String(decoding: try take(Int(try u32())), as: UTF8.self)
    }

    mutating func path() throws(Overrun) -> H5Path {
        let count = Int(try u32())
        guard count <= bytes.count - position else { throw Overrun() }
        var components: [String] = []
        for _ in 0..<count { components.append(try string()) }
        return H5Path(components)
    }

    mutating func json(depth: Int = 0) throws(Overrun) -> JSONValue {
        guard depth < 512 else { throw Overrun() }
        switch try u8() {
        case 0: return .null
        case 1: return .bool(try bool())
        case 2: return .int(try i64())
        case 3: return .uint(try u64())
        case 4: return .double(Double(bitPattern: try u64()))
        case 5: return .string(try string())
        case 6:
            let count = Int(try u32())
            guard count <= bytes.count - position else { throw Overrun() }
            var items: [JSONValue] = []
            for _ in 0..<count { items.append(try json(depth: depth + 1)) }
            return .array(items)
        case 7:
            let count = Int(try u32())
            guard count <= bytes.count - position else { throw Overrun() }
            var members: [JSONMember] = []
            for _ in 0..<count {
                let key = try string()
                members.append(JSONMember(key: key, value: try json(depth: depth + 1)))
            }
            return .object(members)
        default:
            throw Overrun()
        }
    }
}
