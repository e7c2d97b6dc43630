/// Python literals spelled exactly as Python's `repr()` spells them.
///
/// A `.npy` header is the `repr()` of a dict that numpy reads back with
/// `ast.literal_eval`; writing it byte for byte as numpy does (NumpyHeader) needs
/// Python's own choice of quotes and escapes.
package enum PythonLiteral {
    /// `repr(str)`: single quotes unless the text holds `'` and no `"`; backslash escapes for
    /// the quote, `\`, tab, newline and carriage return; `\xNN`, `\uNNNN`, `\UNNNNNNNN`
    /// for characters `str.isprintable()` rejects (controls, format characters, separators
    /// other than the space, unassigned code points); every other character as it is.
    package static func string(_ text: String) -> String {
        let scalars = text.unicodeScalars
        let quote: Unicode.Scalar = scalars.contains("'") && !scalars.contains("\"") ? "\"" : "'"
        var out = String(quote)
        for scalar in scalars {
            switch scalar {
            case quote, "\\": out += "\\" + String(scalar)
            case "\t": out += "\\t"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += "\\x" + hex(scalar.value, digits: 2)
                } else if scalar.value < 0x7F || isPrintable(scalar) {
                    out.unicodeScalars.append(scalar)
                } else if scalar.value <= 0xFF {
                    out += "\\x" + hex(scalar.value, digits: 2)
                } else if scalar.value <= 0xFFFF {
                    out += "\\u" + hex(scalar.value, digits: 4)
                } else {
                    out += "\\U" + hex(scalar.value, digits: 8)
                }
            }
        }
        out.unicodeScalars.append(quote)
        return out
    }

    /// `repr(tuple)` of integers: `()`, `(5,)`, `(2, 3)`.
    package static func tuple<T: BinaryInteger>(_ values: [T]) -> String {
        switch values.count {
        case 0: return "()"
        case 1: return "(\(values[0]),)"
        default: return "(" + values.map { "\($0)" }.joined(separator: ", ") + ")"
        }
    }

    /// Python's `str.isprintable()` for one non-ASCII character: false for the categories
    /// Cc, Cf, Cs, Co, Cn, Zl, Zp and Zs (the ASCII space is handled by the caller).
    static func isPrintable(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .control, .format, .surrogate, .privateUse, .unassigned,
             .lineSeparator, .paragraphSeparator, .spaceSeparator:
            return false
        default:
            return true
        }
    }

    private static func hex(_ value: UInt32, digits: Int) -> String {
        let text = String(value, radix: 16)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }
}
