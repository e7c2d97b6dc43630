import Glibc
import H5FS
import Synchronization

/// What became of the commit at the end of a writable mount.
package enum CommitState: Sendable, Equatable {
    /// The session has not ended.
    case notRun
    case running
    /// A read-only mount has nothing to commit.
    case readOnly
    case committed
    case failed(String)
}

extension Dispatcher {
    /// libfuse's `destroy`: the session is over (unmounted, or a signal ended
    /// the loop) and no other request runs. A writable mount commits now: the
    /// daemon exits only afterwards, which is what `h5mount -u` waits for.
    /// Runs at most once; later calls are ignored.
    package func finishSession() {
        let first = commitState.withLock { state -> Bool in
            guard state == .notRun else { return false }
            state = .running
            return true
        }
        guard first else { return }
        guard let writer else {
            commitState.withLock { $0 = .readOnly }
            return log.debug("DESTROY (read-only: nothing to commit)")
        }
        let container = configuration.containerPath.isEmpty ? "the container" : configuration.containerPath
        log.info("committing \(container)")
        do {
            try writer.commit()
            commitState.withLock { $0 = .committed }
            log.info("committed \(container)")
        } catch {
            commitState.withLock { $0 = .failed(error.message) }
            // The changes stay in the work directory next to the container; the
            // container itself is untouched (or, with -o inplace, as far as it got).
            log.error("COMMIT FAILED for \(container): \(error.message) (\(errnoName(error.errno))). "
                      + "Nothing is lost yet: the changes are kept next to the container; "
                      + "commit them with: h5mount --recover \(container)")
        }
    }

    /// The commit's outcome once the session has been destroyed.
    package var commitOutcome: CommitState { commitState.withLock { $0 } }
}
