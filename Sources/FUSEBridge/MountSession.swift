import CFUSE
import Glibc
import H5FS

package struct SessionError: Error, Sendable, CustomStringConvertible {
    package var message: String
    package var description: String { message }
}

/// One libfuse low-level session: created with mount options, mounted,
/// served by the multithreaded loop until unmounted or signalled.
///
/// The session owns its dispatcher: libfuse holds only an unretained pointer
/// to it (the userdata), valid because the session outlives every callback.
/// Used from one thread (the one that creates, runs and drops it).
package final class MountSession {
    package let dispatcher: Dispatcher
    private let session: OpaquePointer
    private var mounted = false
    private var destroyed = false

    /// `options` are the `-o` mount options for fuse_session_new
    /// (e.g. "ro", "fsname=...", "max_read=1048576"); libfuse prints its own
    /// complaint about options it does not know. `default_permissions` is always
    /// added: the kernel checks the modes and owners shown (there are no ACLs,
    /// ExtendedAttributeNamespaces.swift).
    package init(dispatcher: Dispatcher, options: [String]) throws(SessionError) {
        self.dispatcher = dispatcher
        var arguments = ["h5mount"]
        let kernelOptions = options.contains("default_permissions") ? options : options + ["default_permissions"]
        arguments += ["-o", kernelOptions.joined(separator: ",")]
        var operations = lowLevelOperations()
        let userdata = Unmanaged.passUnretained(dispatcher).toOpaque()
        var cArguments = arguments.map { strdup($0) }
        defer { cArguments.forEach { free($0) } }
        let created = cArguments.withUnsafeMutableBufferPointer { argv -> OpaquePointer? in
            var args = fuse_args(argc: Int32(argv.count), argv: argv.baseAddress, allocated: 0)
            // fuse_opt_parse replaces args with its own copies; free those.
            defer { fuse_opt_free_args(&args) }
            return fuse_session_new(&args, &operations, MemoryLayout<fuse_lowlevel_ops>.size, userdata)
        }
        guard let created else { throw SessionError(message: "could not create the FUSE session (bad mount options?)") }
        session = created
        dispatcher.kernelSession.attach(created)
    }

    package func mount(at mountPoint: String) throws(SessionError) {
        guard fuse_session_mount(session, mountPoint) == 0 else {
            // libfuse or fusermount3 has printed the reason on stderr.
            throw SessionError(message: "mount failed")
        }
        mounted = true
    }

    /// Serves requests on several threads until the mount goes away
    /// (`h5mount -u`, fusermount3 -u, umount) or SIGINT/SIGTERM/SIGHUP
    /// arrives; then unmounts. Returns 0 on a clean end. The commit of a
    /// writable mount comes after, in `close()`.
    package func run() -> Int32 {
        guard fuse_set_signal_handlers(session) == 0 else {
            dispatcher.log.error("could not install signal handlers")
            return -1
        }
        defer { fuse_remove_signal_handlers(session) }
        guard let config = fuse_loop_cfg_create() else {
            dispatcher.log.error("could not create the session loop configuration")
            return -1
        }
        defer { fuse_loop_cfg_destroy(config) }
        // One /dev/fuse descriptor shared by all threads; libfuse's default
        // number of idle threads.
        fuse_loop_cfg_set_clone_fd(config, 0)
        let status = h5m_fuse_session_loop_mt(session, config)
        unmount()
        // A positive status is the signal that ended the loop: a clean stop.
        return status < 0 ? status : 0
    }

    package func unmount() {
        if mounted {
            fuse_session_unmount(session)
            mounted = false
        }
    }

    /// Unmounts (if still mounted) and destroys the session. libfuse calls the
    /// dispatcher's `destroy` here if the kernel initialised the session: a
    /// writable mount commits now, so call this before deciding the exit
    /// status (`dispatcher.commitOutcome`). Idempotent; deinit calls it too.
    package func close() {
        unmount()
        if !destroyed {
            destroyed = true
            dispatcher.kernelSession.detach()
            fuse_session_destroy(session)
        }
    }

    deinit {
        close()
    }
}
