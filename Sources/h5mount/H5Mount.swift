import ArgumentParser
import Glibc
import MountCLI

/// The command line. Parsing and help come from swift-argument-parser; what
/// the options mean, the checks and the daemon live in MountCLI (testable).
struct H5Mount: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "h5mount",
        abstract: "Mount an HDF5 container as a directory tree (FUSE); copy files in to pack them.",
        usage: """
            h5mount CONTAINER MOUNTPOINT [-o OPTIONS] [-f] [-d]
                   h5mount -u MOUNTPOINT [-q]
                   h5mount --recover CONTAINER [--force] [-q]
                   h5mount --discard CONTAINER
                   h5mount --info CONTAINER
            """,
        discussion: """
            Mounts are writable: changes go to a working copy next to the container and
            replace it when you unmount with h5mount -u (which waits for that). A missing
            CONTAINER is created. A container you cannot write mounts read-only.

            Mount options (-o, comma separated, repeatable):
              ro                  read-only
              rw                  writable (the default)
              compression=C       how written files are stored: gzip[:LEVEL] (default
                                  gzip:6, readable everywhere), lz4 or bslz4 (readers
                                  need hdf5plugin), none
              chunk_size=BYTES    chunk size of written files (4K..64M; default 1M)
              inplace             write into the container itself, without a working copy:
                                  for very large containers; a crash can damage it
              cache_size=BYTES    decoded-chunk cache budget (K/M/G suffixes; default 256M)
              hdf5_timeout=S      libhdf5 requests are tried in a child process first; one
                                  that crashes or takes longer than S seconds (default 10)
                                  makes its object answer EIO; 0 turns this off
              swmr                follow a SWMR writer (read-only): growing datasets show
                                  their new size and data within swmr_interval
              swmr_interval=SECS  how often a followed dataset is looked at (default 1)
              mkdir               create a missing mount point; removed after unmount
              frames              NAME.frames/ beside each typed dataset of rank >= 3:
                                  one read-only file per frame, 000000.raw ...
              npy                 NAME.npy beside each typed dataset (and frame): a NumPy
                                  file for numpy.load(path, mmap_mode="r")
              debug               as -d: foreground, one log line per request
              uid=N, gid=N        owner shown for every file (default: you)
              external=P          where external links may lead: dir (default; files
                                  under the container's directory), any, none (hidden)
              allow_other, allow_root, default_permissions, auto_unmount, fsname=,
              subtype=, max_read=, nosuid, nodev, noexec, noatime, ...
                                  standard FUSE mount options, passed on

            h5mount -u and --recover show the commit's progress on stderr: a line redrawn
            in place on a terminal, a plain line every 5 s otherwise; -q silences it.

            After a crash the next mount refuses until you decide: --recover commits the
            files that were closed before the crash, --discard throws that work away.

            Exit status: 0 ok, 1 other failure (also: unfinished work from a crash),
            2 usage error, 3 container is not HDF5, 4 container missing or unreadable,
            5 mount point problem, 6 FUSE unavailable, 7 commit failed (the changes are
            kept next to the container; h5mount --recover commits them).
            """,
        version: "0.2.0"
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
            help: ArgumentHelp("Unmount MOUNTPOINT and wait until its daemon has committed and exited.",
                               valueName: "MOUNTPOINT"))
    var unmount: String?

    @Flag(name: .customShort("q"), help: "With -u or --recover: no progress, nothing but errors.")
    var quiet = false

    @Option(name: .customLong("recover"),
            help: ArgumentHelp("Commit the work a crashed session left next to CONTAINER.", valueName: "CONTAINER"))
    var recover: String?

    @Option(name: .customLong("discard"),
            help: ArgumentHelp("Throw away the work a crashed session left next to CONTAINER.", valueName: "CONTAINER"))
    var discard: String?

    @Option(name: .customLong("info"),
            help: ArgumentHelp("Print what a mount would show at the top (object counts, filters and who decodes "
                               + "them, virtual datasets and missing sources, external links) without mounting.",
                               valueName: "CONTAINER"))
    var info: String?

    @Flag(name: .customLong("force"),
          help: "With --recover: commit even though the container changed on disk since that session began.")
    var force = false

    func validate() throws {
        let mountOnly = container != nil || mountPoint != nil || !options.isEmpty || foreground || debug
        let commands = [unmount, recover, discard, info].compactMap { $0 }.count
        if commands > 1 { throw ValidationError("-u, --recover, --discard and --info exclude each other") }
        if force && recover == nil { throw ValidationError("--force goes with --recover") }
        if quiet && unmount == nil && recover == nil { throw ValidationError("-q goes with -u or --recover") }
        if unmount != nil {
            guard !mountOnly else { throw ValidationError("-u takes a mount point and nothing else") }
        } else if recover != nil || discard != nil || info != nil {
            guard !mountOnly else {
                throw ValidationError("--recover, --discard and --info take a container and nothing else")
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
                try unmountAndWait(unmount, quiet: quiet)
                return .success
            } catch {
                printError(error.message)
                return error.status
            }
        }
        if let recover { return recoverContainer(recover, force: force, quiet: quiet) }
        if let discard { return discardWork(discard) }
        if let info {
            do {
                inventoryReport(try takeInventory(of: info)).forEach(printLine)
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
                                   foreground: foreground, debug: debug || parsed.debug)
        return runMount(request, open: openContainer)
    }
}
