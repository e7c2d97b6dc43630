import ArgumentParser
import Glibc
import MountCLI

// Parsed by hand rather than H5Mount.main(), so that every usage error exits
// with status 2 (ExitStatus.usage), not ArgumentParser's EX_USAGE (64).
let command: H5Mount
do {
    command = try H5Mount.parse(Array(CommandLine.arguments.dropFirst()))
} catch {
    if H5Mount.exitCode(for: error) == .success {
        // --help, --version
        print(H5Mount.fullMessage(for: error))
        exit(0)
    }
    printError("h5mount: \(H5Mount.message(for: error))")
    printError("usage: h5mount CONTAINER MOUNTPOINT [-o OPTIONS] [-f] [-d]\n       h5mount -u MOUNTPOINT [-q]\n"
               + "       h5mount --recover CONTAINER [--force]\n       h5mount --discard CONTAINER\n(see h5mount --help)")
    exit(ExitStatus.usage.rawValue)
}
exit(command.execute().rawValue)
