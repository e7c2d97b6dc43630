import FUSEBridge
import Glibc
import H5FS
import Staging

/// One mount as the command line asked for it.
package struct MountRequest: Sendable {
    /// As typed, for messages.
    package var container: String
    package var mountPoint: String
    package var options: ParsedMountOptions
    /// `-f`: stay in the foreground, log to stderr.
    package var foreground: Bool
    /// `-d`: foreground, and log every request.
    package var debug: Bool

    package init(container: String, mountPoint: String, options: ParsedMountOptions, foreground: Bool, debug: Bool) {
        self.container = container
        self.mountPoint = mountPoint
        self.options = options
        self.foreground = foreground || debug
        self.debug = debug
    }
}

/// Opens the container as a filesystem (ContainerFilesystem.init in h5mount);
/// `log` is where the filesystem's own messages go (stderr or syslog).
package typealias FilesystemOpener = (_ containerPath: String, _ options: MountOptions, _ log: Log) throws(FSError)
    -> any FilesystemOperations

/// Checks, mounts and serves until unmounted.
///
/// Daemon start (no -f): the process forks BEFORE anything else happens, and
/// the child does all the work — opens the container, creates the FUSE
/// session, mounts — then tells the parent over a pipe: "0" once the mount is
/// in place, or an exit status and message. The parent exits only then, with
/// that status. So `h5mount a.h5 m && ls m` never races (the kernel holds
/// `ls` until the child's loop answers INIT), every error reaches the user's
/// terminal with its exit code, nothing is mounted when the container fails
/// to open, and no thread exists before the fork: the parent never opens the
/// container, so threads the filesystem may start (chunk decoding) are born
/// in the process that uses them.
package func runMount(_ request: MountRequest, open: FilesystemOpener) -> ExitStatus {
    request.options.warnings.forEach(printError)
    var request = request
    let plan: ContainerPlan
    let mountPath: String
    var created: CreatedMountPoint?
    do throws(CLIError) {
        plan = try checkContainer(request.container, readOnly: request.options.filesystem.readOnly)
        if request.options.makeMountPoint {
            created = try CreatedMountPoint.createIfMissing(request.mountPoint)
        }
        mountPath = try checkMountPoint(request.mountPoint)
        try checkFUSEAvailable()
        if let work = WorkingCopy.leftover(container: plan.path) {
            guard plan.readOnly else { throw leftoverRefusal(work, container: request.container) }
            printError(leftoverNote(work, container: request.container))
        }
    } catch {
        created?.remove()
        printError(error.message)
        return error.status
    }
    plan.note.map(printError)
    request.options.filesystem.readOnly = plan.readOnly
    if request.options.filesystem.inplace && !plan.readOnly {
        printError("h5mount: -o inplace: changes go straight into \(request.container), without a working copy; "
                   + "a crash or a failed commit can leave it damaged")
    }
    let containerPath = plan.path
    if request.foreground {
        let status = serve(request, containerPath: containerPath, mountPath: mountPath, open: open,
                           reporter: StartupReporter(pipe: nil))
        created?.remove()
        return status
    }
    var ends: [Int32] = [-1, -1]
    // Close-on-exec: fusermount3, started by the mount, must not hold the
    // write end open (the parent would wait for it).
    guard pipe(&ends) == 0, fcntl(ends[0], F_SETFD, FD_CLOEXEC) == 0, fcntl(ends[1], F_SETFD, FD_CLOEXEC) == 0 else {
        printError("h5mount: cannot create a pipe: \(String(cString: strerror(errno)))")
        created?.remove()
        return .runtime
    }
    let child = fork()
    if child < 0 {
        printError("h5mount: cannot fork: \(String(cString: strerror(errno)))")
        created?.remove()
        return .runtime
    }
    if child == 0 {
        close(ends[0])
        setsid()
        let status = serve(request, containerPath: containerPath, mountPath: mountPath, open: open,
                           reporter: StartupReporter(pipe: ends[1]))
        // The daemon owns the directory it created: gone before -u returns
        // (and before the parent returns, when the mount failed).
        created?.remove()
        exit(status.rawValue)
    }
    close(ends[1])
    let outcome = StartupReporter.awaitOutcome(from: ends[0])
    close(ends[0])
    switch outcome {
    case .ready:
        return .success
    case .failed(let error):
        printError(error.message)
        var status: Int32 = 0
        _ = waitpid(child, &status, 0)
        return error.status
    }
}

/// The daemon's half: open, mount, report, serve.
private func serve(_ request: MountRequest, containerPath: String, mountPath: String,
                   open: FilesystemOpener, reporter: StartupReporter) -> ExitStatus {
    let log = Log(destination: request.foreground ? .standardError : .syslog, debug: request.debug)
    let filesystem: any FilesystemOperations
    do {
        filesystem = try open(containerPath, request.options.filesystem, log)
    } catch {
        return reporter.fail(containerError(error, path: containerPath, shownAs: request.container))
    }
    var configuration = BridgeConfiguration(readOnly: filesystem.isReadOnly, maxRead: request.options.maxRead,
                                            containerPath: containerPath)
    if request.options.filesystem.swmr { configuration.followWrites(interval: request.options.filesystem.swmrInterval) }
    let dispatcher = Dispatcher(filesystem: filesystem, configuration: configuration, log: log)
    let session: MountSession
    do {
        session = try MountSession(dispatcher: dispatcher, options: request.options.sessionOptions(container: containerPath))
        try session.mount(at: mountPath)
    } catch {
        // libfuse or fusermount3 has printed the reason on stderr.
        return reporter.fail(CLIError(.fuseUnavailable, "h5mount: \(request.mountPoint): \(error.message)"))
    }
    raiseReadahead(mountPath, log: log)
    if !request.foreground {
        detachFromTerminal()
        log.info("serving \(containerPath) on \(mountPath)")
    }
    reporter.ready()
    let status = session.run()
    if !request.foreground { log.info("unmounted \(mountPath)") }
    // libfuse calls the dispatcher's destroy here: a writable mount commits
    // (and logs how that went) before the daemon exits, which `h5mount -u` waits for.
    session.close()
    if case .failed = dispatcher.commitOutcome { return .commitFailed }
    return status == 0 ? .success : .runtime
}

/// How the filesystem's refusal to open a container reads on the terminal:
/// "h5mount: notes.txt: not an HDF5 file", with the path as the user typed
/// it (the filesystem names the absolute `path` it was given; that prefix goes).
package func containerError(_ error: FSError, path: String, shownAs shown: String) -> CLIError {
    var reason = error.message
    if reason.hasPrefix(path + ": ") { reason.removeFirst(path.count + 2) }
    switch error.errno {
    case ENOENT, EACCES, EPERM, ENOTDIR, ELOOP, ENAMETOOLONG:
        return CLIError.path(.containerUnavailable, shown, errno: error.errno)
    case EINVAL:
        return CLIError(.notHDF5, "h5mount: \(shown): \(reason.isEmpty ? "not an HDF5 file" : reason)")
    case EBUSY:
        // Another process is writing it (docs/mounting.md, "Following a SWMR writer").
        return CLIError(.containerUnavailable, "h5mount: \(shown): \(reason)")
    case EIO:
        // An HDF5 file libhdf5 cannot open (truncated, damaged superblock): say why.
        return CLIError(.containerUnavailable, "h5mount: \(shown): \(reason)")
    default:
        return CLIError(.runtime, "h5mount: \(shown): \(reason)")
    }
}

/// A daemon keeps no terminal and no working directory busy.
private func detachFromTerminal() {
    _ = chdir("/")
    let null = Glibc.open("/dev/null", O_RDWR)
    guard null >= 0 else { return }
    for fd in [STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO] { dup2(null, fd) }
    if null > STDERR_FILENO { close(null) }
}
