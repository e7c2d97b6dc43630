import Glibc

/// One line of /proc/self/mountinfo (proc(5)).
package struct MountEntry: Sendable, Equatable {
    package var mountID: Int
    package var parentID: Int
    /// The device (major:minor); a FUSE mount's backing device names its
    /// /sys/class/bdi entry.
    package var major: Int
    package var minor: Int
    package var root: String
    package var mountPoint: String
    package var options: String
    package var fileSystemType: String
    package var source: String
}

/// Parses mountinfo text. Lines it cannot read are skipped: a listing the
/// kernel wrote is trusted, and one odd line must not hide the others.
package func parseMountInfo(_ text: String) -> [MountEntry] {
    text.split(separator: "\n").compactMap { line in
        let fields = line.split(separator: " ", omittingEmptySubsequences: false)
        // 6 fixed fields, optional fields, "-", then type, source, super options.
        guard fields.count >= 10, let separator = fields.firstIndex(of: "-"), separator >= 6,
              separator + 2 < fields.count,
              let id = Int(fields[0]), let parent = Int(fields[1]) else { return nil }
        let device = fields[2].split(separator: ":")
        guard device.count == 2, let major = Int(device[0]), let minor = Int(device[1]) else { return nil }
        return MountEntry(mountID: id, parentID: parent, major: major, minor: minor,
                          root: unescapeMountField(fields[3]), mountPoint: unescapeMountField(fields[4]),
                          options: String(fields[5]), fileSystemType: unescapeMountField(fields[separator + 1]),
                          source: unescapeMountField(fields[separator + 2]))
    }
}

/// The kernel writes space, tab, newline and backslash as \040, \011, \012, \134.
package func unescapeMountField(_ field: Substring) -> String {
    var bytes: [UInt8] = []
    let utf8 = Array(field.utf8)
    var index = 0
    while index < utf8.count {
        if utf8[index] == UInt8(ascii: "\\"), index + 3 < utf8.count,
           let value = octalByte(utf8[(index + 1)..<(index + 4)]) {
            bytes.append(value)
            index += 4
        } else {
            bytes.append(utf8[index])
            index += 1
        }
    }
    return String(decoding: bytes, as: UTF8.self)
}

private func octalByte(_ digits: ArraySlice<UInt8>) -> UInt8? {
    guard digits.count == 3 else { return nil }
    var value = 0
    for digit in digits {
        guard digit >= UInt8(ascii: "0"), digit <= UInt8(ascii: "7") else { return nil }
        value = value * 8 + Int(digit - UInt8(ascii: "0"))
    }
    return value <= 255 ? UInt8(value) : nil
}

/// The current process's mounts; empty if /proc is not there.
package func currentMounts() -> [MountEntry] {
    guard let text = readSmallFile("/proc/self/mountinfo") else { return [] }
    return parseMountInfo(text)
}

/// The mount whose mount point is `path` (an absolute, canonical path); the
/// last one when several are stacked there (the one that is visible).
package func mountEntry(at path: String, in table: [MountEntry]) -> MountEntry? {
    table.last { $0.mountPoint == path }
}

/// Reads a whole (small, virtual) file such as /proc/self/mountinfo.
package func readSmallFile(_ path: String) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if count < 0 && errno == EINTR { continue }
        guard count > 0 else { break }
        bytes += chunk[0..<count]
    }
    return String(decoding: bytes, as: UTF8.self)
}
