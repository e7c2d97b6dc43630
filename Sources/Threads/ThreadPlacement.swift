import CThreadPlacement

/// Where a thread may run. The writer's side of a copy (`cp` and the FUSE thread answering
/// it) is a chain of short steps, each waiting for the one before; threads that only work
/// beside it (packing closed files) can leave it a core, so a step never waits for a
/// packer to be preempted (docs/write-path.md, "Where `cp` waits").
package enum ThreadPlacement {
    /// Takes the first of the calling thread's allowed CPUs away from it, so the scheduler
    /// keeps it off that core. Nothing changes when the thread may run on one CPU only.
    /// Returns whether the mask changed (false also when the system refused).
    @discardableResult
    package static func leaveFirstCore() -> Bool {
        h5m_thread_leave_first_cpu() == 0
    }

    /// Keeps the calling thread to the first of its own CPUs (`keep`), or gives it all of
    /// them back: for the threads answering a writer while the packing threads, kept off
    /// that core, may fill every other one (docs/write-path.md, "The writer's core"). Its
    /// own CPUs are those it had at its first call; a system call is made only when the
    /// placement changes, so it may be called on every request.
    package static func keepToFirstCore(_ keep: Bool) {
        _ = h5m_thread_keep_to_first_cpu(keep ? 1 : 0)
    }

    /// How many CPUs the calling thread may run on, and the lowest of them.
    package static func allowedCores() -> (count: Int, first: Int) {
        var first: Int32 = -1
        let count = h5m_thread_allowed_cpus(&first)
        return (Int(max(0, count)), Int(first))
    }
}
