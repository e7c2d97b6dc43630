import FUSEBridge
import Glibc

/// The kernel reads ahead at most what the mount's backing device allows
/// (128 KiB by default) and takes the smaller of that and what the bridge
/// asks for at INIT (1 MiB). As root, raise the device's limit to 1 MiB
/// between mount and INIT, so streaming reads come in 1 MiB requests.
/// Best effort: nothing fails if sysfs says no.
func raiseReadahead(_ mountPath: String, log: Log) {
    guard geteuid() == 0, let entry = mountEntry(at: mountPath, in: currentMounts()) else { return }
    let path = "/sys/class/bdi/\(entry.major):\(entry.minor)/read_ahead_kb"
    let fd = open(path, O_WRONLY | O_CLOEXEC)
    guard fd >= 0 else { return log.debug("cannot open \(path)") }
    defer { close(fd) }
    let value = Array("1024\n".utf8)
    let written = value.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    log.debug(written == value.count ? "read-ahead raised to 1 MiB (\(path))" : "cannot write \(path)")
}
