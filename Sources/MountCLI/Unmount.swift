import FUSEBridge
import Glibc
import H5FS
import Staging
import Threads

/// `h5mount -u MOUNTPOINT`: unmount, then wait until the daemon that served
/// the mount has exited, because the daemon commits a writable mount on its way
/// out, after the kernel has let go of the mount (fusermount3 -u alone returns
/// before that). Prints "committing CONTAINER..." and "committed CONTAINER" on
/// stdout for a writable mount (not with `quiet`), and meanwhile the commit's
/// progress as the daemon records it in the work directory (`ProgressRecord`) on
/// stderr (`ProgressDisplay`: a bar on a terminal); throws `.commitFailed` when
/// the daemon left unfinished work behind (a failed commit, or a daemon that
/// had died), naming `h5mount --recover`.
///
/// The daemon is found by asking the mount itself: the bridge answers the
/// extended attributes `user.h5mount.pid` and `user.h5mount.container` on the
/// root directory (not listed by listxattr). No pid file can go stale, and the
/// answer comes from the very process serving this mount point. Whether the
/// commit went through is read from the disk afterwards: a successful commit
/// removes the work directory next to the container.
package func unmountAndWait(_ path: String, quiet: Bool = false, progress: (String) -> Void = printError,
                            output: (String) -> Void = printLine,
                            display mode: ProgressDisplay.Mode? = nil) throws(CLIError) {
    let absolute = mountPointPath(path)
    guard let entry = mountEntry(at: absolute, in: currentMounts()) else {
        var info = stat()
        if stat(path, &info) != 0 && errno != ENOTCONN { throw CLIError.path(.mountPoint, path, errno: errno) }
        throw CLIError(.mountPoint, "h5mount: \(path): not a mount point")
    }
    var daemon: pid_t?
    var container: String?
    var dead = false
    do {
        let answer = try pathExtendedAttribute(absolute, daemonPIDAttribute, capacity: 32)
        daemon = pid_t(String(decoding: answer, as: UTF8.self))
        container = (try? pathExtendedAttribute(absolute, containerPathAttribute, capacity: 4096))
            .map { String(decoding: $0, as: UTF8.self) }
    } catch where error.errno == ENOTCONN {
        // A dead mount: nobody is left to wait for; just detach it.
        dead = true
    } catch where error.errno == ENODATA || error.errno == ENOTSUP || error.errno == EOPNOTSUPP {
        throw CLIError(.mountPoint, "h5mount: \(path): not an h5mount mount point (\(entry.fileSystemType)); "
                       + "unmount it with umount or fusermount3 -u")
    } catch {
        // Typically root on another user's mount without allow_other.
        progress("h5mount: \(path): cannot ask the daemon for its pid (\(error.message)); not waiting for it")
    }
    if container == nil && entry.fileSystemType == "fuse.h5mount" && entry.source.hasPrefix("/") {
        container = entry.source
    }
    let writable = !entry.options.split(separator: ",").contains("ro")
    try detach(absolute, shownAs: path)
    let committing = writable && daemon != nil && container != nil
    if committing, let container, !quiet { output("committing \(container)...") }
    if let daemon, daemon > 0, daemon != getpid() {
        var display = ProgressDisplay(mode: mode ?? ProgressDisplay.mode(quiet: quiet),
                                      line: ProgressLine(verb: "committing", name: fileName(container ?? path)),
                                      started: monotonicSeconds(), write: writeError)
        var warned = false
        waitForExit(daemon) { seconds in
            if committing, let container {
                display.update(ProgressRecord.read(container: container), at: monotonicSeconds())
            } else if seconds >= 2 && !warned && !quiet {
                warned = true
                progress("h5mount: waiting for the daemon (pid \(daemon)) to finish")
            }
        }
        display.finish()
    }
    guard writable || dead, let container else { return }
    if let work = WorkingCopy.leftover(container: container), !work.inUse {
        let name = shellQuoted(container)
        let what = dead ? "the daemon serving it had died" : "the commit of \(container) failed (the daemon's log says why)"
        throw CLIError(.commitFailed, "h5mount: \(path): \(what); the changes are kept in \(work.workDirectory) "
                       + "and the container was not replaced.\n"
                       + "  commit them:         h5mount --recover \(name)\n"
                       + "  or throw them away:  h5mount --discard \(name)")
    }
    if committing && !quiet { output("committed \(container)") }
}

/// umount2(2) as root, fusermount3 -u otherwise (a user may not unmount).
private func detach(_ absolute: String, shownAs path: String) throws(CLIError) {
    if geteuid() == 0 {
        guard umount2(absolute, 0) == 0 else {
            let code = errno
            let hint = code == EBUSY ? "files or directories are still open there" : nil
            throw CLIError.path(.runtime, path, errno: code, hint: hint)
        }
        return
    }
    let status = runProgram("fusermount3", ["-u", absolute])
    guard status == 0 else {
        // fusermount3 has said why on stderr.
        throw CLIError(.runtime, "h5mount: fusermount3 -u \(path) failed"
                       + (status == 127 ? " (fusermount3 not found)" : ""))
    }
}

/// Polls until `pid` is gone (or a zombie: exited, not yet reaped by its
/// parent); calls `tick` with the seconds waited, every 100 ms.
package func waitForExit(_ pid: pid_t, tick: (Double) -> Void) {
    var waitedMilliseconds = 0
    while processIsRunning(pid) {
        usleep(20_000)
        waitedMilliseconds += 20
        if waitedMilliseconds % 100 == 0 { tick(Double(waitedMilliseconds) / 1000) }
    }
}

/// Whether any thread of `pid` still runs. The main thread of a daemon can be a zombie
/// while other threads still finish the commit and hold the work directory's lock, so
/// every thread counts, not just the main one.
package func processIsRunning(_ pid: pid_t) -> Bool {
    if kill(pid, 0) != 0 { return errno == EPERM }
    guard let tasks = opendir("/proc/\(pid)/task") else { return threadIsRunning("/proc/\(pid)/stat") }
    defer { closedir(tasks) }
    while let entry = readdir(tasks) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
        guard let first = name.first, first.isNumber else { continue }
        if threadIsRunning("/proc/\(pid)/task/\(name)/stat") { return true }
    }
    return false
}

/// /proc/.../stat: "PID (COMMAND) STATE ...", COMMAND may hold spaces and ")".
private func threadIsRunning(_ statPath: String) -> Bool {
    guard let text = readSmallFile(statPath), let close = text.lastIndex(of: ")") else { return false }
    let state = text[text.index(after: close)...].drop(while: { $0 == " " }).first
    return state != "Z" && state != "X"
}

/// Runs a program found on PATH and returns its exit status (127 if it
/// could not be started). Only from a single-threaded process: the CLI.
package func runProgram(_ name: String, _ arguments: [String]) -> Int32 {
    let argv = ([name] + arguments).map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    let child = fork()
    if child == 0 {
        execvp(name, argv)
        _exit(127)
    }
    guard child > 0 else { return 127 }
    var status: Int32 = 0
    while waitpid(child, &status, 0) < 0 {
        if errno != EINTR { return 127 }
    }
    // WIFEXITED / WEXITSTATUS are macros Swift cannot import.
    return status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
}
