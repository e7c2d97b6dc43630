"""FUSE daemons the benchmark starts, waits for, measures and always unmounts.

Every foreground daemon (`Mount`) is started by this module as a child process (its own
session, so a Ctrl-C on the terminal reaches only the harness, which then unmounts in
order). Only those children are ever signalled, by their pid. A writable h5mount in
daemon mode (`DaemonMount`, the write figures) is not our child: it is only ever
unmounted (`h5mount -u`, which waits for its commit), never signalled. `cleanup_all`
runs from atexit and from the harness's finally, and is safe to call twice.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

_live: list = []   # Mount and DaemonMount objects still mounted


class MountError(RuntimeError):
    pass


def mounted_at(mountpoint: Path) -> bool:
    """Whether /proc/self/mountinfo lists a mount at this path (never touches the mount)."""
    target = str(mountpoint)
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            if len(fields) > 4 and fields[4].replace("\\040", " ") == target:
                return True
    return False


class Mount:
    """One daemon serving one mount point, started in the foreground."""

    def __init__(self, argv: list[str], mountpoint: Path, log_path: Path):
        self.argv = argv
        self.mountpoint = mountpoint.resolve()
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None
        self.ready_seconds: float | None = None   # from start until the root answers stat

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout: float = 120.0) -> "Mount":
        """Starts the daemon and returns once the mount answers; on any failure the
        daemon is stopped (and the mount removed) before the error propagates."""
        if mounted_at(self.mountpoint):
            raise MountError(f"{self.mountpoint} is already a mount point")
        self.mountpoint.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        t0 = time.perf_counter()
        try:
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                         start_new_session=True)
        finally:
            log.close()
        _live.append(self)
        try:
            deadline = t0 + timeout
            while True:
                if self.proc.poll() is not None:
                    raise MountError(f"{self.argv[0]} exited with status {self.proc.returncode} before "
                                     f"mounting:\n" + self.log_tail())
                if mounted_at(self.mountpoint):
                    break
                if time.perf_counter() > deadline:
                    raise MountError(f"{self.argv[0]} did not mount within {timeout:.0f} s:\n" + self.log_tail())
                time.sleep(0.002)
            # stat of the root waits until the daemon's loop has answered INIT.
            os.stat(self.mountpoint)
            self.ready_seconds = time.perf_counter() - t0
        except BaseException:
            self.stop()
            raise
        return self

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        """Unmounts (fusermount3 -u, lazily if still busy), then waits for the daemon;
        signals it (by pid, TERM then KILL) only if it does not end by itself."""
        try:
            if mounted_at(self.mountpoint):
                for attempt in range(10):
                    r = subprocess.run(["fusermount3", "-u", str(self.mountpoint)],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                    if r.returncode == 0 or not mounted_at(self.mountpoint):
                        break
                    time.sleep(0.2)
                else:
                    subprocess.run(["fusermount3", "-u", "-z", str(self.mountpoint)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if self.proc is not None and self.proc.poll() is None:
                try:
                    self.proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    self.proc.terminate()
                    try:
                        self.proc.wait(timeout=10)
                    except subprocess.TimeoutExpired:
                        self.proc.kill()
                        self.proc.wait()
        finally:
            if self in _live:
                _live.remove(self)

    def __enter__(self) -> "Mount":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class DaemonMount:
    """`h5mount CONTAINER MOUNTPOINT [-o OPTIONS]` without -f: the command returns once the
    mount answers (the daemon reports over a pipe) or with its error; `unmount` is
    `h5mount -u MOUNTPOINT`, which returns once the daemon has committed and exited."""

    def __init__(self, h5mount: Path, container: Path, mountpoint: Path, options: str = ""):
        self.h5mount = h5mount
        self.container = container
        self.mountpoint = mountpoint.resolve()
        self.options = options

    def mount(self, timeout: float = 120.0) -> None:
        if mounted_at(self.mountpoint):
            raise MountError(f"{self.mountpoint} is already a mount point")
        argv = [str(self.h5mount), str(self.container), str(self.mountpoint)]
        if self.options:
            argv += ["-o", self.options]
        _live.append(self)
        try:
            r = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, timeout=timeout)
        except BaseException:
            self.stop()
            raise
        if r.returncode != 0:
            self.stop()   # a daemon may have mounted and failed after: never leave it
            raise MountError(f"h5mount exited with status {r.returncode}: {r.stdout.strip()[-2000:]}")

    def unmount(self, timeout: float = 900.0) -> None:
        """h5mount -u; raises when it fails (the commit failed, or the mount is busy)."""
        try:
            r = subprocess.run([str(self.h5mount), "-u", str(self.mountpoint)], stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout)
        except BaseException:
            self.stop()
            raise
        if r.returncode != 0:
            self.stop()
            raise MountError(f"h5mount -u exited with status {r.returncode}: {r.stdout.strip()[-2000:]}")
        if self in _live:
            _live.remove(self)

    def stop(self) -> None:
        """Unmounts whatever is left: h5mount -u (it waits for the daemon), else
        fusermount3 -u, lazily as a last resort."""
        try:
            if mounted_at(self.mountpoint):
                subprocess.run([str(self.h5mount), "-u", "-q", str(self.mountpoint)], stdin=subprocess.DEVNULL,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=900)
            for lazy in (False, True):
                if not mounted_at(self.mountpoint):
                    break
                subprocess.run(["fusermount3", "-u"] + (["-z"] if lazy else []) + [str(self.mountpoint)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        finally:
            if self in _live:
                _live.remove(self)


def cleanup_all() -> None:
    for mount in list(_live):
        try:
            mount.stop()
        except Exception as error:  # keep unmounting the others
            print(f"bench: could not stop {mount.mountpoint}: {error}")


def vm_hwm(pid: int) -> int:
    """Peak resident set size of a process, bytes (VmHWM)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise MountError(f"no VmHWM for pid {pid}")


def io_bytes(pid: int) -> tuple[int, int]:
    """(rchar, wchar) of a process, all its threads: every byte it read or wrote
    through syscalls, /dev/fuse included — the replies to READ requests are in wchar."""
    values = {}
    with open(f"/proc/{pid}/io") as f:
        for line in f:
            key, _, value = line.partition(":")
            values[key] = int(value)
    return values["rchar"], values["wchar"]


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all threads)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks
