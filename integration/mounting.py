"""Mounting and unmounting h5mount for the integration tests.

Every mount made here is recorded, and torn down by the fixture that made it,
even when the test failed: `fusermount3 -u`, then wait for the daemon; kill it
by its PID only if it does not exit in time; a lazy unmount (`-z`) as the last
resort. Readiness is the only thing polled (the kernel's mount table, never a
stat of the mount point, which would hang on a stuck daemon).
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

READY_TIMEOUT = float(os.environ.get("H5MOUNT_READY_TIMEOUT", "30"))
EXIT_TIMEOUT = float(os.environ.get("H5MOUNT_EXIT_TIMEOUT", "20"))
COMMAND_TIMEOUT = 60


def _unescape_mount_field(text: str) -> str:
    """/proc/self/mountinfo writes space, tab, newline and backslash as \\ooo."""
    out, i = [], 0
    while i < len(text):
        code = text[i + 1:i + 4]
        if text[i] == "\\" and len(code) == 3 and code.isdigit():
            out.append(chr(int(code, 8)))
            i += 4
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def mount_entry(path: str) -> tuple[str, str] | None:
    """(fstype, source) of the mount at `path` (an already resolved path), None if none.

    Reads the mount table only: never touches the mount point itself.
    """
    found = None
    with open("/proc/self/mountinfo", encoding="utf-8", errors="surrogateescape") as table:
        for line in table:
            left, _, right = line.partition(" - ")
            fields = left.split()
            if len(fields) < 5 or _unescape_mount_field(fields[4]) != path:
                continue
            rest = right.split()
            fstype = rest[0] if rest else ""
            source = _unescape_mount_field(rest[1]) if len(rest) > 1 else ""
            found = (fstype, source)  # the last one wins: it is the visible mount
    return found


def is_mounted(path: str) -> bool:
    return mount_entry(path) is not None


def is_fuse_mounted(path: str) -> bool:
    entry = mount_entry(path)
    return entry is not None and entry[0].startswith("fuse")


def process_alive(pid: int) -> bool:
    """True while `pid` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as stat:
            state = stat.read().rpartition(")")[2].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state not in ("Z", "X")


def find_daemon_pid(binary: str, mountpoint: str) -> int | None:
    """PID of the daemon h5mount serving `mountpoint` (a unique temporary path).

    Matches the full argument vector: the executable and the mount point argument,
    so it only ever finds a process this harness started.
    """
    binary_name = os.path.basename(binary)
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        args = [os.fsdecode(a) for a in argv if a]
        if not args or os.path.basename(args[0]) != binary_name:
            continue
        if "-u" in args or "--unmount" in args:
            continue
        if any(os.path.abspath(a) == mountpoint for a in args[1:]):
            if process_alive(int(entry)):
                return int(entry)
    return None


def daemon_pid_from_mount(mountpoint: str) -> int | None:
    """The pid h5mount answers in the hidden attribute user.h5mount.pid of the mount's root."""
    try:
        return int(os.getxattr(mountpoint, "user.h5mount.pid"))
    except (OSError, ValueError):
        return None


@dataclass
class Mount:
    """One mount made by the harness."""

    binary: str
    container: str
    path: str  # resolved before mounting
    foreground: bool
    log: Path  # the daemon's stderr (foreground) / the mount command's stderr (daemon mode)
    process: subprocess.Popen | None = None
    pid: int | None = None
    teardown_notes: list[str] = field(default_factory=list)

    def stderr_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    def __fspath__(self) -> str:
        return self.path

    def __str__(self) -> str:
        return self.path

    def __truediv__(self, other) -> Path:
        return Path(self.path) / other


class MountFailed(Exception):
    pass


class Registry:
    """The live mounts and daemon PIDs of this test session (for teardown and the watchdog)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._mounts: list[Mount] = []

    def add(self, mount: Mount) -> None:
        with self._lock:
            self._mounts.append(mount)

    def remove(self, mount: Mount) -> None:
        with self._lock:
            if mount in self._mounts:
                self._mounts.remove(mount)

    def kill_all(self) -> list[int]:
        """SIGKILL every daemon this harness started (the watchdog's last word)."""
        killed = []
        with self._lock:
            mounts = list(self._mounts)
        for m in mounts:
            pid = m.process.pid if m.process is not None else m.pid
            if pid is not None and process_alive(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                except ProcessLookupError:
                    pass
        return killed


REGISTRY = Registry()


def start_mount(binary: str, container, mountpoint, options=(), *, foreground: bool = True,
                log_dir: Path, timeout: float = READY_TIMEOUT) -> Mount:
    """Mounts `container` at `mountpoint` and returns once the mount is in the kernel's table.

    Foreground: `h5mount CONTAINER MNT -f [OPTIONS]` as a child process; polls the mount
    table until the mount appears (failing with the daemon's stderr if it exits or times out).
    Daemon mode: `h5mount CONTAINER MNT [OPTIONS]` must return 0 with the mount already there.
    """
    mnt = os.path.realpath(mountpoint)
    log_dir.mkdir(parents=True, exist_ok=True)
    log = Path(log_dir) / f"h5mount-{os.path.basename(mnt)}-{time.monotonic_ns()}.log"
    args = [binary, os.fspath(container), mnt]
    args += ["-f"] if foreground else []
    args += list(options)
    mount = Mount(binary=binary, container=os.fspath(container), path=mnt,
                  foreground=foreground, log=log)
    if foreground:
        with open(log, "wb") as err:
            mount.process = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                             stdout=err, stderr=err)
        REGISTRY.add(mount)
        deadline = time.monotonic() + timeout
        while not is_fuse_mounted(mnt):
            if mount.process.poll() is not None:
                REGISTRY.remove(mount)
                raise MountFailed(f"h5mount exited with {mount.process.returncode} before "
                                  f"mounting {container} at {mnt}:\n{mount.stderr_text()}")
            if time.monotonic() > deadline:
                stop_mount(mount)
                raise MountFailed(f"{mnt} not mounted after {timeout:.0f} s:\n"
                                  f"{mount.stderr_text()}")
            time.sleep(0.05)
        return mount

    # Daemon mode: stdout/stderr go to a file, never a pipe: the daemon inherits them
    # and a pipe would keep us waiting for its end.
    with open(log, "wb") as err:
        try:
            result = subprocess.run(args, stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                                    timeout=timeout)
        except subprocess.TimeoutExpired:
            result = None
    mount.pid = find_daemon_pid(binary, mnt)
    if mount.pid is None and result is not None and result.returncode == 0 and is_fuse_mounted(mnt):
        mount.pid = daemon_pid_from_mount(mnt)
    REGISTRY.add(mount)
    if result is None or result.returncode != 0 or not is_fuse_mounted(mnt):
        what = ("timed out" if result is None else f"exited with {result.returncode}")
        mounted = is_fuse_mounted(mnt)
        stop_mount(mount)
        raise MountFailed(f"h5mount (daemon mode) {what}; mounted afterwards: {mounted}:\n"
                          f"{mount.stderr_text()}")
    return mount


def _run_quiet(args, timeout=COMMAND_TIMEOUT) -> subprocess.CompletedProcess | None:
    try:
        return subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=timeout)
    except (subprocess.TimeoutExpired, OSError):
        return None


def stop_mount(mount: Mount) -> list[str]:
    """Unmounts and makes sure the daemon is gone. Returns what went wrong (empty = clean)."""
    problems: list[str] = []
    mnt = mount.path
    if is_mounted(mnt):
        result = _run_quiet(["fusermount3", "-u", mnt])
        if result is None or result.returncode != 0:
            detail = "timed out" if result is None else result.stderr.decode(errors="replace").strip()
            problems.append(f"fusermount3 -u {mnt} failed: {detail}")

    pid = mount.process.pid if mount.process is not None else mount.pid
    if mount.process is not None:
        try:
            code = mount.process.wait(timeout=EXIT_TIMEOUT)
            if code != 0:
                problems.append(f"daemon exited with {code} after unmount")
        except subprocess.TimeoutExpired:
            problems.append(f"daemon {pid} did not exit within {EXIT_TIMEOUT:.0f} s; killed")
            mount.process.kill()
            mount.process.wait()
    elif pid is not None:
        deadline = time.monotonic() + EXIT_TIMEOUT
        while process_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if process_alive(pid):
            problems.append(f"daemon {pid} did not exit within {EXIT_TIMEOUT:.0f} s; killed")
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    # A killed daemon leaves a dead mount ("Transport endpoint is not connected").
    if is_mounted(mnt):
        _run_quiet(["fusermount3", "-u", mnt])
    if is_mounted(mnt):
        problems.append(f"{mnt} still mounted; lazy unmount")
        _run_quiet(["fusermount3", "-u", "-z", mnt])
    REGISTRY.remove(mount)
    mount.teardown_notes = problems
    return problems


def run(args, *, timeout: float = COMMAND_TIMEOUT, check: bool = False,
        cwd=None, binary: bool = False) -> subprocess.CompletedProcess:
    """Runs a command with its output captured and a timeout (a hung read is killed)."""
    result = subprocess.run([os.fspath(a) for a in args], stdin=subprocess.DEVNULL,
                            capture_output=True, timeout=timeout, cwd=cwd, text=not binary)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, args))} exited with {result.returncode}:\n"
                             f"{result.stdout}\n{result.stderr}")
    return result
