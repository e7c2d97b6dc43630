import CFUSE
import Glibc
import H5FS

/// getxattr(2) on a path, with a buffer of `capacity` bytes (ERANGE if the
/// value is longer). Lets the CLI ask a mount for its daemon's pid without
/// importing the C module.
package func pathExtendedAttribute(_ path: String, _ name: String, capacity: Int = 256) throws(FSError) -> [UInt8] {
    var buffer = [UInt8](repeating: 0, count: max(capacity, 1))
    let length = buffer.withUnsafeMutableBytes { getxattr(path, name, $0.baseAddress, capacity) }
    guard length >= 0 else {
        let code = errno
        throw FSError(code, String(cString: strerror(code)))
    }
    return Array(buffer.prefix(length))
}
