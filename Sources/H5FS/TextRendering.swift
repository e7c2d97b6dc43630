import H5Model

/// File content of datasets that have no raw form: text and JSON lines.
package enum TextRendering {
    /// Strings, one element per line, each ending in "\n" (a scalar too).
    static func text(_ elements: [String]) -> [UInt8] {
        var out: [UInt8] = []
        for element in elements {
            out.append(contentsOf: element.utf8)
            out.append(0x0A)
        }
        return out
    }

    /// One compact JSON value per line.
    static func jsonLines(_ elements: [JSONValue]) -> [UInt8] {
        var out: [UInt8] = []
        for element in elements {
            out.append(contentsOf: element.compactText.utf8)
            out.append(0x0A)
        }
        return out
    }

    /// Value of the xattr `user.NAME`: the text of a string attribute, else compact JSON.
    package static func extendedAttributeValue(_ value: JSONValue) -> [UInt8] {
        if case .string(let text) = value { return Array(text.utf8) }
        return Array(value.compactText.utf8)
    }
}
