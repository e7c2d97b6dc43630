import FUSEBridge
import Glibc
import H5FS

/// Opens the container h5mount serves. Runs in the daemon process (after the
/// fork), so the filesystem's threads start where they are used.
/// Placeholder until H5FS.ContainerFilesystem is merged into main.
func openContainer(path: String, options: MountOptions, log: Log) throws(FSError) -> any FilesystemOperations {
    throw FSError(ENOSYS, "the filesystem core is not built into this h5mount yet")
}
