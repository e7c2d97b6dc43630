"""The write path under load and at its limits, through real mounts (the remaining
acceptance items of the write-path issue): concurrent writers and readers, a full disk,
the daemon's memory while a 1 GiB file is copied in, and kill -9 during the commit.

h5py (in a fresh process, `test_write.dump`) is the oracle of what a container holds.
Every mount is unmounted in teardown, the tmpfs of the ENOSPC tests too. The child
processes are `write_workers.py`; every one is killed by its pid if it outlives its test.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import struct
import subprocess
import sys
import time
from pathlib import Path

import h5py
import hdf5plugin
import numpy as np
import pytest

import mounting
from conftest import Mounter
from mounting import run
from test_write import MiB, dump, expect, file_sha, files_of, make_container, sha, unmount_cli
from write_workers import payload, writer_plan

pytestmark = pytest.mark.write_path

HERE = Path(__file__).resolve().parent
WORKERS = HERE / "write_workers.py"
WORKER_TIMEOUT = 60
EXIT_COMMIT_FAILED = 7


# ---------------------------------------------------------------- helpers

class Workers:
    """Child processes of one test; any still running at its end is killed (by its pid)."""

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self.running: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, *args) -> subprocess.Popen:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_dir / f"{name}.out", "wb") as out, open(self.log_dir / f"{name}.err", "wb") as err:
            process = subprocess.Popen([sys.executable, os.fspath(WORKERS), *map(str, args)],
                                       stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        self.running.append((name, process))
        return process

    def wait(self, process: subprocess.Popen, timeout: float = WORKER_TIMEOUT) -> tuple[int | None, str, str]:
        """(exit status or None when it timed out and was killed, stdout, stderr) of a worker."""
        name = next(n for n, p in self.running if p is process)
        try:
            code = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            code = None
        return (code, (self.log_dir / f"{name}.out").read_text(),
                f"worker {name} {'timed out' if code is None else f'exited with {code}'}:\n"
                + (self.log_dir / f"{name}.err").read_text(errors="replace"))

    def finish(self, process: subprocess.Popen, timeout: float = WORKER_TIMEOUT) -> str:
        """Waits for a worker; fails with its stderr unless it exited 0. Returns its stdout."""
        code, out, err = self.wait(process, timeout)
        assert code == 0, err
        return out

    def close(self) -> None:
        for _, process in self.running:
            if process.poll() is None:
                process.kill()
                process.wait()


@pytest.fixture
def workers(tmp_path):
    pool = Workers(tmp_path / "workers")
    try:
        yield pool
    finally:
        pool.close()


def make_h5py_container(path: Path, files: dict[str, tuple[bytes, dict]]) -> Path:
    """A container written by h5py: each file a uint8 dataset with the given creation
    keywords (contiguous, or chunked and compressed)."""
    with h5py.File(path, "w") as f:
        for name, (data, keywords) in files.items():
            f.create_dataset(name, data=np.frombuffer(data, dtype=np.uint8), **keywords)
    return path


def content(tree: dict) -> dict:
    """A dump without object addresses: what must be equal between two containers."""
    return {path: entry[:3] if entry[0] == "file" else entry for path, entry in tree.items()}


def detach_dead_mount(mounter, mount) -> None:
    """After a kill -9 of a foreground daemon: the dead mount detached, the harness told."""
    if mount.process is not None and mount.process.poll() is None:
        mount.process.kill()
    if mount.process is not None:
        mount.process.wait(timeout=mounting.EXIT_TIMEOUT)
    if mounting.is_mounted(mount.path):
        run(["fusermount3", "-u", mount.path])
    if mounting.is_mounted(mount.path):
        run(["fusermount3", "-u", "-z", mount.path])
    mounter.mounts.remove(mount)
    mounting.REGISTRY.remove(mount)


def memory_status(pid: int) -> dict[str, int]:
    """VmHWM, VmRSS, ... of a process in KiB."""
    values = {}
    with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as status:
        for line in status:
            key, _, rest = line.partition(":")
            if key.startswith("Vm") and rest.strip().endswith("kB"):
                values[key] = int(rest.split()[0])
    return values


# ---------------------------------------------------------------- 1. concurrency

READER_FILES = {  # in the container before the mount, read while the writers write
    "r0/contiguous": (1_500_000, 11, {}),
    "r0/small": (3_000, 12, {}),
    "r1/gzip-chunked": (3 * MiB + 17, 13, {"chunks": (256 * 1024,), "compression": "gzip"}),
    "r1/deep/chunked": (700_000, 14, {"chunks": (65536,)}),
    "r2/contiguous-big": (4 * MiB, 15, {}),
}
WRITERS = 4


def test_concurrent_writers_and_readers_then_one_file_written_while_read(mounter, workers, tmp_path):
    """Writers in different directories and readers of other files at the same time; then one
    file read while another process writes it; after `h5mount -u` every file is what was written."""
    container = make_h5py_container(tmp_path / "c.h5", {
        name: (payload(size, seed), keywords) for name, (size, seed, keywords) in READER_FILES.items()})
    mnt = mounter(container)
    stop = tmp_path / "stop-readers"
    specs = [f"{name}:{size}:{seed}" for name, (size, seed, _) in READER_FILES.items()]

    readers = [workers.start(f"reader{index}", "reader", mnt.path, stop, *specs) for index in range(2)]
    writers = [workers.start(f"writer{index}", "writer", mnt.path, f"w{index}", index) for index in range(WRITERS)]
    for process in writers:
        workers.finish(process)
    stop.touch()
    rounds = [json.loads(workers.finish(process))["rounds"] for process in readers]
    assert min(rounds) >= 2, rounds

    # One file, one writer, one reader at the same time.
    live_size, live_seed = 6 * MiB + 5, 99
    live = mnt / "live" / "growing"
    (mnt / "live").mkdir()
    done = tmp_path / "live-writer-done"
    reader = workers.start("live-reader", "live-reader", live, live_size, live_seed, done)
    writer = workers.start("live-writer", "live-writer", live, live_size, live_seed, 32 * 1024)
    workers.finish(writer)
    done.touch()
    live_code, live_out, live_err = workers.wait(reader)

    expected = {f"/{name}": payload(size, seed) for name, (size, seed, _) in READER_FILES.items()}
    for index in range(WRITERS):
        expected |= {f"/{path}": payload(size, seed) for path, size, seed in writer_plan(f"w{index}", index)}
    expected["/live/growing"] = payload(live_size, live_seed)
    unmount_cli(mounter, mnt)
    assert files_of(dump(container)) == expect(expected)
    # What the reader of the growing file saw, judged last so that the commit is checked too.
    assert live_code == 0, live_err
    seen = json.loads(live_out)
    assert seen["partial"] >= 1, f"the reader never saw the file while it was being written: {seen}"


# ---------------------------------------------------------------- 2. ENOSPC

TMPFS_SIZE = 16 * MiB


@pytest.fixture
def tmpfs_mounter(h5mount_bin, fuse_ready, tmp_path):
    """(a 16 MiB tmpfs, a Mounter): the mounts are unmounted first, then the tmpfs."""
    where = tmp_path / "small"
    where.mkdir()
    result = run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE},mode=0755", "h5mount-enospc", where])
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (root needed): {result.stderr.strip()}")
    m = Mounter(h5mount_bin, tmp_path / "mounts")
    problems = []
    try:
        yield where, m
    finally:
        m.close()
        # A commit that failed for want of space (exit 7) is the test's to judge, not teardown's.
        problems += [p for p in m.problems if f"exited with {EXIT_COMMIT_FAILED} " not in p]
        if run(["umount", where]).returncode != 0:
            problems.append(f"tmpfs {where} busy; lazy unmount")
            run(["umount", "-l", where])
    if problems:
        pytest.fail("unclean teardown: " + "; ".join(problems), pytrace=False)


OLD = {"old": payload(200_000, 21), "d/kept": payload(5_000, 22)}


def write_until_error(path, data: bytes, piece: int = MiB) -> tuple[list[tuple[str, int]], int]:
    """Writes `data` in pieces, stopping at the first failed write, then closes.
    Returns ([(where, errno)] of the write and close errors, bytes written)."""
    errors = []
    written = 0
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        while written < len(data):
            written += os.write(descriptor, data[written:written + piece])
    except OSError as error:
        errors.append(("write", error.errno))
    finally:
        try:
            os.close(descriptor)
        except OSError as error:
            errors.append(("close", error.errno))
    return errors, written


def check_intact(container: Path, before: str, code: int) -> dict:
    """After the unmount of a session that ran out of space: the container opens in h5py
    with its old content. A failed commit (7) left it byte for byte as it was."""
    tree = files_of(dump(container))
    for name, data in OLD.items():
        assert tree.get("/" + name) == (len(data), sha(data)), f"/{name} after the unmount"
    if code == EXIT_COMMIT_FAILED:
        assert file_sha(container) == before, "a failed commit must not touch the container"
    return tree


def test_enospc_when_a_file_does_not_fit_reaches_the_writer(tmpfs_mounter):
    """A file bigger than the filesystem: ENOSPC at a write or at the close, and the
    container is intact after the unmount."""
    small, mounter = tmpfs_mounter
    container = make_container(small / "c.h5", OLD)
    before = file_sha(container)
    mnt = mounter(container)
    data = payload(TMPFS_SIZE + 8 * MiB, 23)          # random: no compression saves it
    errors, written = write_until_error(mnt / "big", data)
    assert errors, f"{len(data)} bytes written and closed on a {TMPFS_SIZE}-byte filesystem"
    assert errors[0][1] == errno.ENOSPC, (f"first error {errors[0][0]}: {errno.errorcode[errors[0][1]]}, "
                                          f"expected ENOSPC (after {written} bytes); all: {errors}")
    result = unmount_cli(mounter, mnt, expect_code=None)
    assert result.returncode in (0, EXIT_COMMIT_FAILED), result.stdout + result.stderr
    tree = check_intact(container, before, result.returncode)
    if "/big" in tree:                                 # the part written before the error
        size, digest = tree["/big"]
        assert digest == sha(data[:size]), "/big is not a prefix of what was written"


def test_enospc_at_close_when_the_stored_file_does_not_fit(tmpfs_mounter):
    """The spool fits, the stored dataset does not (no compression): the close answers
    ENOSPC (docs/writing.md: errors such as ENOSPC are the writer's close() error)."""
    small, mounter = tmpfs_mounter
    container = make_container(small / "c.h5", OLD)
    before = file_sha(container)
    mnt = mounter(container, "-o", "compression=none")
    data = payload(10 * MiB, 24)
    errors, written = write_until_error(mnt / "big", data)
    assert written == len(data) and [where for where, _ in errors] == ["close"], \
        f"expected the writes to fit in the spool and the close to fail: {written} bytes, errors {errors}"
    result = unmount_cli(mounter, mnt, expect_code=None)
    assert result.returncode in (0, EXIT_COMMIT_FAILED), result.stdout + result.stderr
    check_intact(container, before, result.returncode)
    assert errors[0][1] == errno.ENOSPC, f"close failed with {errno.errorcode[errors[0][1]]}, expected ENOSPC"


def test_after_enospc_removing_the_file_lets_the_session_commit(tmpfs_mounter):
    """A full disk does not wedge the session: once the file that did not fit is removed,
    other files are written and the unmount commits them."""
    small, mounter = tmpfs_mounter
    container = make_container(small / "c.h5", OLD)
    mnt = mounter(container)
    errors, _ = write_until_error(mnt / "big", payload(TMPFS_SIZE + 8 * MiB, 25))
    assert errors and errors[0][1] == errno.ENOSPC, errors
    try:
        os.unlink(mnt / "big")                         # if the failed file is still there, it goes
    except FileNotFoundError:
        pass
    after = payload(300_000, 26)
    errors, _ = write_until_error(mnt / "after", after)
    assert errors == [], f"writing a small file after the big one was removed: {errors}"
    unmount_cli(mounter, mnt)
    assert files_of(dump(container)) == expect({"/" + name: data for name, data in OLD.items()} | {"/after": after})


def test_small_files_closed_before_the_disk_filled_are_never_lost(tmpfs_mounter):
    """Files of one chunk are stored after their close (docs/writing.md, "When a file is
    stored"), so a full disk can first show while storing a file whose close already
    succeeded. Whatever the order, nothing closed is lost: the failure reaches a later
    write, close or create (ENOSPC); the unmount either commits or exits 7 with the container
    untouched, and then, given space, `h5mount --recover` commits every file whose close
    succeeded."""
    small, mounter = tmpfs_mounter
    container = make_container(small / "c.h5", OLD)
    before = file_sha(container)
    mnt = mounter(container, "-o", "compression=none")      # random bytes: nothing shrinks
    closed, failure = {}, None
    for index in range(600):                                # 600 x 48 KiB: far more than 16 MiB
        data = payload(48 * 1024, 100 + index)
        try:
            with open(mnt / f"f{index:03}", "wb") as f:
                f.write(data)
        except OSError as error:
            failure = (index, error.errno)
            break
        closed[f"/f{index:03}"] = data
    assert failure is not None, f"{len(closed)} files of 48 KiB fit a {TMPFS_SIZE}-byte filesystem"
    assert failure[1] == errno.ENOSPC, f"file {failure[0]}: {errno.errorcode[failure[1]]}, expected ENOSPC"
    result = unmount_cli(mounter, mnt, expect_code=None)
    assert result.returncode in (0, EXIT_COMMIT_FAILED), result.stdout + result.stderr
    if result.returncode == EXIT_COMMIT_FAILED:
        assert file_sha(container) == before, "a failed commit must not touch the container"
        # Recovery rebuilds the working copy next to the crashed one: give it room.
        assert run(["mount", "-o", "remount,size=128M", small]).returncode == 0
        recovered = run([mounter.binary, "--recover", container], timeout=300)
        assert recovered.returncode == 0, recovered.stdout + recovered.stderr
    tree = files_of(dump(container))
    for name, data in OLD.items():
        assert tree.get("/" + name) == (len(data), sha(data)), f"/{name}"
    lost = [name for name, data in closed.items() if tree.get(name) != (len(data), sha(data))]
    assert lost == [], f"{len(lost)} of {len(closed)} closed files lost (exit {result.returncode}): {lost[:5]}"


# ---------------------------------------------------------------- 3. memory

CACHE_BUDGET = 64 * MiB
RSS_LIMIT = 256 * MiB + CACHE_BUDGET
GiB = 1 << 30


def stamped_blocks(block: bytes, count: int):
    """`count` MiB: the same random MiB, each stamped with its index (cheap, and a chunk
    stored in the wrong place still shows)."""
    for index in range(count):
        yield struct.pack("<Q", index) + block[8:]


def test_copying_1_gib_in_keeps_the_daemon_small(mounter, tmp_path):
    """A 1 GiB file copied in: the daemon's peak RSS (VmHWM) stays under 256 MiB plus the
    cache budget, while writing, storing at the close and reading it back."""
    container = tmp_path / "c.h5"
    # lz4: the memory of the path is what is measured, and gzip 6 of 1 GiB of random bytes
    # would take most of a minute in a debug build.
    mnt = mounter(container, "-o", f"cache_size={CACHE_BUDGET // MiB}M", "-o", "compression=lz4")
    block = os.urandom(MiB)
    written = hashlib.sha256()
    with open(mnt / "big", "wb", buffering=0) as f:
        for piece in stamped_blocks(block, GiB // MiB):
            assert f.write(piece) == MiB
            written.update(piece)
    after_write = memory_status(mnt.process.pid)
    assert os.stat(mnt / "big").st_size == GiB
    assert after_write["VmHWM"] * 1024 < RSS_LIMIT, f"daemon peak RSS after writing 1 GiB: {after_write}"

    back = hashlib.sha256()
    with open(mnt / "big", "rb", buffering=0) as f:
        while piece := f.read(MiB):
            back.update(piece)
    after_read = memory_status(mnt.process.pid)
    assert back.hexdigest() == written.hexdigest(), "the 1 GiB file reads back different"
    assert after_read["VmHWM"] * 1024 < RSS_LIMIT, f"daemon peak RSS after reading 1 GiB back: {after_read}"


# ---------------------------------------------------------------- 4. kill -9 during the commit

def journal_records(path: Path) -> list[int]:
    """The type bytes of the journal's whole records (docs/write-path.md, Journal format)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return []
    types, at = [], 8
    while at + 8 <= len(raw):
        length = struct.unpack_from("<I", raw, at)[0]
        if length == 0 or at + 8 + length > len(raw):
            break
        types.append(raw[at + 8])
        at += 8 + length
    return types


COMMITTING = 16  # JournalRecord.committing


def wait_for(moment: str, mount, work: Path, unmounting: subprocess.Popen) -> None:
    """Returns at `moment` of the unmount, or when the daemon or `h5mount -u` has ended."""
    def over() -> bool:
        return mount.process.poll() is not None or unmounting.poll() is not None

    if moment.endswith("ms"):
        time.sleep(float(moment[:-2]) / 1000)
        return
    deadline = time.monotonic() + 30
    while not over() and time.monotonic() < deadline:
        if moment == "unmounted" and not mounting.is_mounted(mount.path):
            return
        if moment == "committing" and COMMITTING in journal_records(work / "journal"):
            return
        if moment == "renamed" and not (work / "working.h5").exists():
            return


# When the daemon is killed: a fixed delay after `h5mount -u` started, or an event seen on
# disk: the mount gone from the table (the commit starts), the `committing` record written
# (rename next), the working copy renamed over the container (work directory removal next).
KILL_MOMENTS = ["0ms", "unmounted", "30ms", "committing", "renamed", "150ms"]


def test_kill_9_during_the_commit_never_breaks_the_container(mounter, tmp_path):
    """`h5mount -u` of a mount with many closed files, the daemon killed -9 at several moments
    of its commit: the container always opens in h5py with the old or the new content (never
    anything else), `h5mount -u` says 0 only when the commit went through, and
    `h5mount --recover` (when work is left) makes the container the new content. Every moment
    is tried; the problems of all of them are reported together."""
    old = {"/old": payload(100_000, 31)}
    new_files = {f"/d{index % 8}/f{index}": payload(1000 + 37 * index, 1000 + index) for index in range(160)}
    new_files |= {f"/big{index}": payload(3 * MiB + index, 2000 + index) for index in range(3)}
    new_content = {f"/d{index}": ["dir"] for index in range(8)}
    new_content |= {path: ["file", len(data), hashlib.sha256(data).hexdigest()]
                    for path, data in (old | new_files).items()}
    old_content = {path: ["file", len(data), hashlib.sha256(data).hexdigest()] for path, data in old.items()}

    problems: list[str] = []
    killed_inside = []
    for index, moment in enumerate(KILL_MOMENTS):
        container = make_container(tmp_path / f"c{index}.h5", {path.lstrip("/"): data for path, data in old.items()})
        work = Path(f"{container}.h5mount-work")
        mnt = mounter(container)
        for path, data in new_files.items():
            (mnt / path.lstrip("/")).parent.mkdir(exist_ok=True)
            (mnt / path.lstrip("/")).write_bytes(data)

        unmounting = subprocess.Popen([mounter.binary, "-u", mnt.path], stdin=subprocess.DEVNULL,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            wait_for(moment, mnt, work, unmounting)
            alive = mnt.process.poll() is None
            work_then = work.exists()
            mnt.process.kill()
            out, err = unmounting.communicate(timeout=60)
        finally:
            if unmounting.poll() is None:
                unmounting.kill()
                unmounting.wait()
            detach_dead_mount(mounter, mnt)
        if alive and work_then and mnt.process.returncode == -9:
            killed_inside.append(moment)
        said = f"h5mount -u exited {unmounting.returncode}: {(out + err).strip()!r}"

        after = content(dump(container))              # opens in stock h5py, every time
        if after not in (old_content, new_content):
            problems.append(f"kill -9 at {moment}: the container is neither the old nor the new content "
                            f"(differs in {sorted(set(after) ^ set(new_content))[:5]})")
        if unmounting.returncode not in (0, EXIT_COMMIT_FAILED):
            problems.append(f"kill -9 at {moment}: {said}")
        if after == old_content and not work.exists():
            problems.append(f"kill -9 at {moment}: the work directory is gone and the container is the old one")
        if unmounting.returncode == 0 and (after != new_content or work.exists()):
            problems.append(f"kill -9 at {moment}: {said}, but the container holds the "
                            f"{'new' if after == new_content else 'old'} content and {work.name} "
                            f"{'is still there' if work.exists() else 'is gone'}")
        if work.exists():
            recovered = run([mounter.binary, "--recover", container], timeout=120)
            if recovered.returncode != 0 or work.exists():
                problems.append(f"kill -9 at {moment}: h5mount --recover exited {recovered.returncode} "
                                f"(work directory left: {work.exists()}): {recovered.stdout}{recovered.stderr}")
            elif content(dump(container)) != new_content:
                problems.append(f"kill -9 at {moment}: after --recover the container is not the new content: "
                                f"{recovered.stdout}")
    assert not problems, "\n".join(problems)
    assert len(killed_inside) >= 2, (f"only {killed_inside} of {KILL_MOMENTS} killed the daemon during its "
                                     f"unmount; the commit is too quick for this test")


# ---------------------------------------------------------------- 4. kill -9 during the write session

def spool_bytes(work: Path) -> int:
    """Bytes in the work directory's spool files (what a copy in progress has written so far)."""
    total = 0
    for directory, _, names in os.walk(work / "spool"):
        for name in names:
            try:
                total += os.stat(os.path.join(directory, name)).st_size
            except FileNotFoundError:
                pass
    return total


# What is happening when the daemon is killed: a cp still copying a big file in, the moment
# right after a file's close returned, the close of a big file (its store: packing into
# the working copy), and a burst of directory changes.
SESSION_MOMENTS = ["during_a_copy", "right_after_close", "during_the_store_at_close", "during_mkdir_and_rename"]


@pytest.mark.parametrize("moment", SESSION_MOMENTS)
def test_kill_9_during_the_write_session_leaves_the_original_and_recover_keeps_what_was_closed(
        mounter, tmp_path, moment):
    """kill -9 of the daemon while a session writes: the original opens in stock h5py as it
    was, byte for byte; `h5mount --recover` then makes a container h5py opens, holding every
    file whose close had returned, and nothing half-written."""
    old = {"old": payload(50_000, 7)}
    container = make_container(tmp_path / "c.h5", old)
    before = file_sha(container)
    work = Path(f"{container}.h5mount-work")
    closed = {"/first": payload(300_000, 8)}
    source = tmp_path / "big-source"
    source.write_bytes(payload(48 * MiB, 9))
    mnt = mounter(container)
    (mnt / "first").write_bytes(closed["/first"])
    helper = None
    try:
        if moment == "during_a_copy":
            helper = subprocess.Popen(["cp", str(source), str(mnt / "copying")], stdin=subprocess.DEVNULL,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 30
            while spool_bytes(work) < 4 * MiB and helper.poll() is None and time.monotonic() < deadline:
                time.sleep(0.01)
            assert helper.poll() is None, "the copy ended before the kill; the test needs a bigger file"
        elif moment == "right_after_close":
            closed["/d/just-closed"] = payload(2 * MiB + 5, 10)
            (mnt / "d").mkdir()
            (mnt / "d" / "just-closed").write_bytes(closed["/d/just-closed"])
        elif moment == "during_the_store_at_close":
            script = (f"import sys; f = open({str(mnt / 'storing')!r}, 'wb'); "
                      f"f.write(open({str(source)!r}, 'rb').read()); print('written', flush=True); f.close()")
            helper = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.DEVNULL,
                                      stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            assert helper.stdout.readline().strip() == "written"
            time.sleep(0.05)                        # inside close(2): the file is being packed
        elif moment == "during_mkdir_and_rename":
            for index in range(30):
                (mnt / f"dir{index}").mkdir()
            script = (f"import os\nfor i in range(30): os.rename({mnt.path!r} + f'/dir{{i}}', "
                      f"{mnt.path!r} + f'/moved{{i}}')")
            helper = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.DEVNULL,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(0.02)
        mnt.process.kill()
    finally:
        detach_dead_mount(mounter, mnt)
        if helper is not None:
            try:
                helper.wait(timeout=30)
            except subprocess.TimeoutExpired:
                helper.kill()
                helper.wait()

    assert file_sha(container) == before, f"kill -9 {moment}: the original changed"
    assert files_of(dump(container)) == expect({"/" + name: data for name, data in old.items()})
    recovered = run([mounter.binary, "--recover", container], timeout=180)
    assert recovered.returncode == 0, recovered.stdout + recovered.stderr
    after = files_of(dump(container))               # opens in stock h5py
    wanted = expect({"/old": old["old"], **closed})
    assert {path: after.get(path) for path in wanted} == wanted, (after, recovered.stdout)
    extra = set(after) - set(wanted)
    # A file whose close had not returned may be there only whole (its store had finished).
    for path in extra:
        assert path == "/storing" and after[path] == expect({path: source.read_bytes()})[path], (path, after[path])
    assert not work.exists()


# ---------------------------------------------------------------- 6. load

LOAD_SECONDS = float(os.environ.get("H5MOUNT_LOAD_SECONDS", "30"))
WARMUP_SECONDS = 8
RANGE_READERS = 3
# What the daemon's RSS may grow by between the end of the warm-up and the end of the load
# (allocator slack; the copier keeps only two copies, so the namespace does not grow). A leak
# of what the load does over and over (a chunk per read, a buffer per file) is far more.
RSS_TOLERANCE_KIB = 32 * 1024
FD_TOLERANCE = 2

LOAD_DATASETS = {  # typed and byte datasets of different layouts and filters
    "data/frames": lambda: dict(data=np.random.default_rng(1).poisson(2, (24, 128, 128)).astype("<u2"),
                                chunks=(1, 128, 128), compression="gzip", compression_opts=4),
    "data/counts": lambda: dict(data=np.random.default_rng(2).integers(-5000, 5000, 300_000).astype("<i4"),
                                chunks=(16384,), shuffle=True, compression="gzip", fletcher32=True),
    "data/doubles": lambda: dict(data=np.random.default_rng(3).normal(0, 1, (300, 500))),
    "data/bslz4": lambda: dict(data=np.random.default_rng(4).poisson(0.5, (12, 256, 256)).astype("<u2"),
                               chunks=(1, 256, 256), **hdf5plugin.Bitshuffle(cname="lz4")),
    "bytes/blob": lambda: dict(data=np.frombuffer(payload(1_500_000, 5), dtype=np.uint8),
                               chunks=(65536,), compression="gzip"),
}


def open_fds(pid: int) -> dict[str, str]:
    """fd number -> what it points to, for one process."""
    fds = {}
    for fd in os.listdir(f"/proc/{pid}/fd"):
        with contextlib.suppress(OSError):
            fds[fd] = os.readlink(f"/proc/{pid}/fd/{fd}")
    return fds


def run_load(workers, mnt, tmp_path, phase: str, seconds: float, first_copy: int) -> dict:
    """Range readers, a copier (its copies numbered from `first_copy`) and a lister against
    `mnt` at once for `seconds`; all must exit 0. Returns what they did."""
    stop = tmp_path / f"stop-{phase}"
    names = list(LOAD_DATASETS)
    started = [workers.start(f"{phase}-reader{index}", "range-reader", mnt.path, tmp_path / "reference",
                             stop, first_copy * 10 + index, *names) for index in range(RANGE_READERS)]
    # The copies are checked after the commit (h5py); reading each file back right after
    # its close is the next test's concern.
    started.append(workers.start(f"{phase}-copier", "copier", mnt.path, tmp_path / "source", stop, first_copy, 0))
    started.append(workers.start(f"{phase}-lister", "lister", mnt.path, stop))
    time.sleep(seconds)
    stop.touch()
    reports = [json.loads(workers.finish(process, timeout=WORKER_TIMEOUT + seconds)) for process in started]
    return {"reads": sum(r["reads"] for r in reports[:RANGE_READERS]),
            "copies": reports[RANGE_READERS]["copies"], "walks": reports[-1]["walks"]}


def test_readers_a_copier_and_a_lister_at_once_leave_no_wrong_byte_and_no_leak(mounter, workers, tmp_path):
    """Several processes read random ranges of typed and byte datasets (h5py is the oracle)
    while another copies a tree in again and again and a third walks the whole mount, for
    H5MOUNT_LOAD_SECONDS (30) after a warm-up (it removes its older copies: the namespace stays
    bounded); no wrong byte, no error, and the daemon's
    open files and RSS at the end are what they were after the warm-up. After the commit
    every copy is in the container, byte for byte."""
    container = tmp_path / "load.h5"
    reference = tmp_path / "reference"
    reference.mkdir()
    with h5py.File(container, "w") as f:
        for name, make in LOAD_DATASETS.items():
            ds = f.create_dataset(name, **make())
            (reference / name.replace("/", "__")).write_bytes(ds[()].tobytes())
    source = tmp_path / "source"
    tree = {f"d{index % 3}/f{index}": payload(index * 7919 % 300_000, 500 + index) for index in range(24)}
    tree["empty"] = b""
    for path, data in tree.items():
        (source / path).parent.mkdir(parents=True, exist_ok=True)
        (source / path).write_bytes(data)

    mnt = mounter(container, "-o", "cache_size=16M")
    pid = mnt.process.pid
    warm = run_load(workers, mnt, tmp_path, "warmup", WARMUP_SECONDS, 0)
    time.sleep(1)  # closes and releases reach the daemon
    fds_warm, memory_warm = open_fds(pid), memory_status(pid)
    load = run_load(workers, mnt, tmp_path, "load", LOAD_SECONDS, warm["copies"])
    time.sleep(1)
    fds_end, memory_end = open_fds(pid), memory_status(pid)

    print(f"load: {load} in {LOAD_SECONDS:.0f} s; daemon fds {len(fds_warm)} -> {len(fds_end)}, "
          f"RSS {memory_warm['VmRSS']} -> {memory_end['VmRSS']} KiB")  # shown with pytest -s
    assert load["reads"] >= 100 and load["copies"] >= 1 and load["walks"] >= 2, load
    new_fds = {fd: target for fd, target in fds_end.items() if fds_warm.get(fd) != target}
    assert len(fds_end) <= len(fds_warm) + FD_TOLERANCE, (
        f"the daemon had {len(fds_warm)} open files after the warm-up and {len(fds_end)} after "
        f"{LOAD_SECONDS:.0f} s of load ({load}); new: {new_fds}")
    growth = memory_end["VmRSS"] - memory_warm["VmRSS"]
    assert growth <= RSS_TOLERANCE_KIB, (
        f"the daemon's RSS grew by {growth} KiB during the load ({memory_warm['VmRSS']} -> "
        f"{memory_end['VmRSS']} KiB; {warm} then {load})")

    unmount_cli(mounter, mnt)
    files = files_of(dump(container, plugins=True))
    total = warm["copies"] + load["copies"]
    expected = {f"/copies/{copy}/{path}": (len(data), sha(data))
                for copy in range(max(0, total - 2), total) for path, data in tree.items()}
    assert {path: value for path, value in files.items() if path.startswith("/copies/")} == expected


def test_a_file_read_back_right_after_its_close_is_whole_while_its_directory_is_listed(mounter, workers, tmp_path):
    """cp-like writes (create, write, close) each read back at once by the writer, while
    another process walks the mount and lstat()s everything: every read-back is whole."""
    source = tmp_path / "source"
    for index in range(24):
        (source / "d").mkdir(parents=True, exist_ok=True)
        (source / "d" / f"f{index}").write_bytes(payload(index * 7919 % 300_000, 700 + index))
    mnt = mounter(tmp_path / "listed.h5")
    stop = tmp_path / "stop"
    copier = workers.start("copier", "copier", mnt.path, source, stop, 0, 1)
    lister = workers.start("lister", "lister", mnt.path, stop)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and copier.poll() is None:
        time.sleep(0.2)
    stop.touch()
    workers.finish(lister)
    workers.finish(copier)


@pytest.mark.parametrize("written_at_opendir", [0, 128 * 1024])
def test_a_listing_opened_while_a_file_was_written_does_not_cut_its_read_back(mounter, tmp_path, written_at_opendir):
    """The load test's race, made to happen every time: a directory opened (its listing taken)
    while a file in it is being written, read (getdents: READDIRPLUS) only after the file is
    written and closed. The kernel applies the entries' attributes to the inode it holds, so a
    size from the opendir would cut the read-back short with no READ reaching the daemon."""
    mnt = mounter(tmp_path / "listed.h5")
    directory = Path(mnt.path) / "d"
    directory.mkdir()
    data = payload(5 * 128 * 1024 + 1000, 17)
    path = directory / "f"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    listing = None
    try:
        written = 0
        while written < len(data):
            if written == written_at_opendir and listing is None:
                listing = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)  # OPENDIR
            written += os.write(descriptor, data[written:written + 128 * 1024])
    finally:
        os.close(descriptor)
    try:
        listed = {entry.name: entry.stat(follow_symlinks=False).st_size for entry in os.scandir(listing)}
    finally:
        os.close(listing)
    assert listed == {"f": len(data)}
    with open(path, "rb") as f:
        back = f.read()
    assert len(back) == len(data) and back == data
    assert os.stat(path).st_size == len(data)
