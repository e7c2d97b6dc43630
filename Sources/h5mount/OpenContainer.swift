import FUSEBridge
import H5FS

/// Opens the container h5mount serves. Runs in the daemon process (after the
/// fork, see MountCLI.runMount), so the chunk engine's threads start in the
/// process that uses them. The filesystem's messages go to the daemon's log.
func openContainer(path: String, options: MountOptions, log: Log) throws(FSError) -> any FilesystemOperations {
    try ContainerFilesystem(containerPath: path, options: options, log: { log.warning($0) })
}
