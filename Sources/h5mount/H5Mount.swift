import ArgumentParser
import Glibc
import MountCLI

/// The command line. Parsing and help come from swift-argument-parser; what
/// the options mean, the checks and the daemon live in MountCLI (testable).
struct H5Mount: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "h5mount",
        abstract: "Mount an HDF5 container as a directory tree (FUSE, read-only).",
        usage: """
            h5mount CONTAINER MOUNTPOINT [-o OPTIONS] [-f] [-d]
                   h5mount -u MOUNTPOINT
            """,
        discussion: """
            Mount options (-o, comma separated, repeatable):
              ro                  read-only (every mount is read-only for now)
              rw                  accepted with a warning; the mount is read-only
              cache_size=BYTES    decoded-chunk cache budget (K/M/G suffixes; default 256M)
              uid=N, gid=N        owner shown for every file (default: you)
              allow_other, allow_root, default_permissions, auto_unmount, fsname=,
              subtype=, max_read=, nosuid, nodev, noexec, noatime, ...
                                  standard FUSE mount options, passed on

            Exit status: 0 mounted (or unmounted), 1 other failure, 2 usage error,
            3 container is not HDF5, 4 container missing or unreadable,
            5 mount point problem, 6 FUSE unavailable.
            """,
        version: "0.1.0"
    )

    @Argument(help: ArgumentHelp("The HDF5 file to mount.", valueName: "CONTAINER"))
    var container: String?

    @Argument(help: ArgumentHelp("An existing directory to mount it on.", valueName: "MOUNTPOINT"))
    var mountPoint: String?

    @Option(name: .customShort("o", allowingJoined: true),
            help: ArgumentHelp("Mount options, comma separated (see below).", valueName: "OPTIONS"))
    var options: [String] = []

    @Flag(name: .customShort("f"), help: "Stay in the foreground; log to stderr.")
    var foreground = false

    @Flag(name: .customShort("d"), help: "Debug: stay in the foreground and log every request to stderr.")
    var debug = false

    @Option(name: .customShort("u"),
            help: ArgumentHelp("Unmount MOUNTPOINT and wait until its daemon has finished.", valueName: "MOUNTPOINT"))
    var unmount: String?

    func validate() throws {
        if unmount != nil {
            guard container == nil, mountPoint == nil, options.isEmpty, !foreground, !debug else {
                throw ValidationError("-u takes a mount point and nothing else")
            }
        } else {
            guard container != nil else { throw ValidationError("missing CONTAINER and MOUNTPOINT") }
            guard mountPoint != nil else { throw ValidationError("missing MOUNTPOINT") }
        }
    }

    /// Runs the command; returns the process exit status.
    func execute() -> ExitStatus {
        if let unmount {
            do {
                try unmountAndWait(unmount)
                return .success
            } catch {
                printError(error.message)
                return error.status
            }
        }
        guard let container, let mountPoint else { return .usage }
        let parsed: ParsedMountOptions
        do {
            parsed = try parseMountOptions(options, uid: getuid(), gid: getgid())
        } catch {
            printError(error.message)
            return error.status
        }
        let request = MountRequest(container: container, mountPoint: mountPoint, options: parsed,
                                   foreground: foreground, debug: debug)
        return runMount(request, open: openContainer)
    }
}
