/// JSON text for sidecars (pretty, two-space indent, keys in the value's order)
/// and for JSON lines and xattrs (compact). No Foundation: the daemon stays small.
extension JSONValue {
    /// Pretty-printed JSON followed by a newline, as sidecar files show it.
    package var prettyText: String {
        var out = ""
        write(to: &out, indent: 0, pretty: true)
        out.append("\n")
        return out
    }

    /// Single-line JSON without a trailing newline.
    package var compactText: String {
        var out = ""
        write(to: &out, indent: 0, pretty: false)
        return out
    }

    private func write(to out: inout String, indent: Int, pretty: Bool) {
        switch self {
        case .null: out.append("null")
        case .bool(let b): out.append(b ? "true" : "false")
        case .int(let i): out.append(String(i))
        case .uint(let u): out.append(String(u))
        case .double(let d): out.append(JSONValue.format(d))
        case .string(let s): JSONValue.writeString(s, to: &out)
        case .array(let items):
            // Arrays of scalars stay on one line even when pretty: shapes and small
            // attribute arrays read better that way.
            let flat = !pretty || items.allSatisfy(\.isScalar)
            if items.isEmpty { out.append("[]"); return }
            out.append("[")
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(flat && pretty ? ", " : ",") }
                if !flat { newline(&out, indent + 1) }
                item.write(to: &out, indent: indent + 1, pretty: pretty)
            }
            if !flat { newline(&out, indent) }
            out.append("]")
        case .object(let members):
            if members.isEmpty { out.append("{}"); return }
            out.append("{")
            for (i, member) in members.enumerated() {
                if i > 0 { out.append(",") }
                if pretty { newline(&out, indent + 1) }
                JSONValue.writeString(member.key, to: &out)
                out.append(pretty ? ": " : ":")
                member.value.write(to: &out, indent: indent + 1, pretty: pretty)
            }
            if pretty { newline(&out, indent) }
            out.append("}")
        }
    }

    private func newline(_ out: inout String, _ level: Int) {
        out.append("\n")
        out.append(String(repeating: "  ", count: level))
    }

    package var isScalar: Bool {
        switch self {
        case .array, .object: return false
        default: return true
        }
    }

    /// Shortest text that reads back as the same double; JSON has no NaN or infinities.
    static func format(_ d: Double) -> String {
        if d.isNaN { return "\"NaN\"" }
        if d.isInfinite { return d > 0 ? "\"Infinity\"" : "\"-Infinity\"" }
        return d.description
    }

    static func writeString(_ s: String, to out: inout String) {
        out.append("\"")
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out.append("\\\"")
            case "\\": out.append("\\\\")
            case "\n": out.append("\\n")
            case "\r": out.append("\\r")
            case "\t": out.append("\\t")
            case "\u{08}": out.append("\\b")
            case "\u{0C}": out.append("\\f")
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out.append("\\u" + String(repeating: "0", count: 4 - hex.count) + hex)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out.append("\"")
    }
}
