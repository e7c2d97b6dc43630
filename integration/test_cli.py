"""The command line: help and version, daemon mode and `-u`, options, exit codes and
messages for bad input (README "Exit codes"), and a corrupt object that fails alone."""

from __future__ import annotations

import errno
import os
import re
import stat
import subprocess
from pathlib import Path

import h5py
import numpy as np
import pytest

import mounting
from mounting import run

EXIT_USAGE, EXIT_NOT_HDF5, EXIT_CONTAINER, EXIT_MOUNTPOINT = 2, 3, 4, 5


def attempt(binary: str, *args, cwd=None, mountpoint=None, timeout: float = 60):
    """Runs h5mount expecting it to fail; whatever it may have mounted at `mountpoint`
    by mistake is unmounted (and its daemon stopped) before returning."""
    log = Path(cwd or "/tmp") / f".h5mount-attempt-{os.getpid()}.log"
    try:
        with open(log, "wb") as out:
            try:
                code = subprocess.run([binary, *map(str, args)], stdin=subprocess.DEVNULL,
                                      stdout=out, stderr=out, cwd=cwd, timeout=timeout).returncode
            except subprocess.TimeoutExpired:
                code = None
        text = log.read_text(errors="replace")
    finally:
        log.unlink(missing_ok=True)
        if mountpoint is not None:
            mnt = os.path.realpath(mountpoint)
            if mounting.is_mounted(mnt):
                stray = mounting.Mount(binary=binary, container="?", path=mnt, foreground=False,
                                       log=Path("/dev/null"), pid=mounting.find_daemon_pid(binary, mnt))
                mounting.stop_mount(stray)
    return code, text


@pytest.fixture
def not_hdf5(tmp_path) -> Path:
    path = tmp_path / "notes.h5"
    path.write_text("these are plain notes, not an HDF5 file\n" * 10)
    return path


def test_help_and_version(h5mount_bin):
    helped = run([h5mount_bin, "--help"])
    assert helped.returncode == 0, helped.stderr
    text = helped.stdout + helped.stderr
    assert re.search(r"usage", text, re.I) and "-u" in text and "-o" in text
    version = run([h5mount_bin, "--version"])
    assert version.returncode == 0, version.stderr
    assert re.search(r"\d+\.\d+", version.stdout + version.stderr)


def test_usage_errors(h5mount_bin, tmp_path):
    code, _ = attempt(h5mount_bin, cwd=tmp_path)
    assert code == EXIT_USAGE
    code, _ = attempt(h5mount_bin, "--no-such-option", "a.h5", "m", cwd=tmp_path)
    assert code == EXIT_USAGE


@pytest.mark.parametrize("foreground", [False, True], ids=["daemon", "foreground"])
def test_not_an_hdf5_file(h5mount_bin, fuse_ready, not_hdf5, tmp_path, foreground):
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    extra = ["-f"] if foreground else []
    code, text = attempt(h5mount_bin, not_hdf5.name, "mnt", *extra, cwd=tmp_path, mountpoint=mnt)
    assert code == EXIT_NOT_HDF5, text
    assert f"h5mount: {not_hdf5.name}: not an HDF5 file" in text
    assert not mounting.is_mounted(str(mnt.resolve()))


def test_empty_file_is_not_hdf5(h5mount_bin, fuse_ready, tmp_path):
    (tmp_path / "empty.h5").write_bytes(b"")
    (tmp_path / "mnt").mkdir()
    code, text = attempt(h5mount_bin, "empty.h5", "mnt", cwd=tmp_path, mountpoint=tmp_path / "mnt")
    assert code == EXIT_NOT_HDF5, text
    assert "h5mount: empty.h5: not an HDF5 file" in text


def test_missing_container(h5mount_bin, fuse_ready, tmp_path):
    (tmp_path / "mnt").mkdir()
    code, text = attempt(h5mount_bin, "absent.h5", "mnt", "-o", "ro", cwd=tmp_path,
                         mountpoint=tmp_path / "mnt")
    assert code == EXIT_CONTAINER, text
    assert "absent.h5" in text


def test_mount_point_problems(h5mount_bin, fuse_ready, features, tmp_path):
    code, text = attempt(h5mount_bin, features.types, tmp_path / "nowhere", cwd=tmp_path)
    assert code == EXIT_MOUNTPOINT, text
    assert "nowhere" in text
    (tmp_path / "a_file").write_text("x")
    code, text = attempt(h5mount_bin, features.types, tmp_path / "a_file", cwd=tmp_path,
                         mountpoint=tmp_path / "a_file")
    assert code == EXIT_MOUNTPOINT, text


def test_mount_point_already_mounted(mounter, features):
    first = mounter(features.types)
    code, text = attempt(mounter.binary, features.links, first.path, mountpoint=None)
    assert code == EXIT_MOUNTPOINT, text
    assert mounting.is_fuse_mounted(first.path)
    assert "ints" in os.listdir(first.path), "the first mount still answers"
    assert first.process.poll() is None


def test_daemon_mode_is_ready_when_the_command_returns(h5mount_bin, fuse_ready, features, tmp_path):
    """`h5mount a.h5 m && ls m` works at once; `h5mount -u m` returns after the daemon exited."""
    mnt = tmp_path / "m"
    mnt.mkdir()
    mount = None
    try:
        result = run([h5mount_bin, features.types, mnt], timeout=60)
        mount = mounting.Mount(binary=h5mount_bin, container=str(features.types),
                               path=str(mnt.resolve()), foreground=False, log=Path("/dev/null"),
                               pid=(mounting.find_daemon_pid(h5mount_bin, str(mnt.resolve()))
                                    or mounting.daemon_pid_from_mount(str(mnt.resolve()))))
        assert result.returncode == 0, result.stderr
        assert "ints" in os.listdir(mnt), "listing right after the mount command returned"
        assert mount.pid is not None, "no daemon process found"
        unmount = run([h5mount_bin, "-u", mnt], timeout=60)
        assert unmount.returncode == 0, unmount.stderr
        assert not mounting.is_mounted(mount.path)
        assert not mounting.process_alive(mount.pid), "h5mount -u returned before the daemon exited"
    finally:
        if mount is not None and (mounting.is_mounted(mount.path) or
                                  (mount.pid and mounting.process_alive(mount.pid))):
            mounting.stop_mount(mount)


def test_unmount_of_something_not_mounted_fails(h5mount_bin, tmp_path):
    code, text = attempt(h5mount_bin, "-u", tmp_path)
    assert code not in (0, None), text


def test_daemon_variant_of_the_harness(mounter, features):
    mnt = mounter(features.names, foreground=False)
    assert (mnt / "ok").read_bytes() == b"fine\n"


def test_options_uid_gid_and_cache_size(mounter, features):
    mnt = mounter(features.types, "-o", "ro,uid=1234,gid=4321,cache_size=1048576")
    for rel in ("", "layouts", "layouts/stack", "layouts/stack.attrs"):
        st = os.lstat(os.path.join(mnt.path, rel))
        assert (st.st_uid, st.st_gid) == (1234, 4321), rel
    with h5py.File(features.types) as f:
        want = f["layouts/stack"][()].tobytes()
    # A 1 MiB cache on a 2 MiB dataset: evictions must not change what is read.
    assert (mnt / "layouts/stack").read_bytes() == want
    assert (mnt / "layouts/stack").read_bytes() == want


def test_corrupt_chunk_fails_that_object_only(mounter, tmp_path):
    """A chunk overwritten with garbage: reading that dataset answers EIO, the rest browses,
    the daemon stays up."""
    path = tmp_path / "corrupt.h5"
    with h5py.File(path, "w") as f:
        f["good"] = np.arange(100, dtype="<i4")
        f.create_dataset("bad", data=np.arange(4000, dtype="<i4"), chunks=(1000,), compression="gzip")
        f.create_dataset("neighbour", data=np.arange(4000, dtype="<i4"), chunks=(1000,), compression="gzip")
        f["title"] = np.frombuffer(b"still readable\n", dtype=np.uint8)
    with h5py.File(path) as f:
        info = f["bad"].id.get_chunk_info(1)
    with open(path, "r+b") as raw:
        raw.seek(info.byte_offset)
        raw.write(b"\xff" * info.size)
    with h5py.File(path) as f, pytest.raises(Exception):
        f["bad"][()]  # the oracle agrees the chunk is broken

    mnt = mounter(path)
    assert sorted(os.listdir(mnt.path)) == ["bad", "bad.attrs", "good", "good.attrs",
                                            "neighbour", "neighbour.attrs", "title"]
    assert stat.S_ISREG(os.stat(mnt / "bad").st_mode)
    with pytest.raises(OSError) as caught:
        (mnt / "bad").read_bytes()
    assert caught.value.errno == errno.EIO, repr(caught.value)
    assert (mnt / "good").read_bytes() == np.arange(100, dtype="<i4").tobytes()
    assert (mnt / "neighbour").read_bytes() == np.arange(4000, dtype="<i4").tobytes()
    assert (mnt / "title").read_bytes() == b"still readable\n"
    assert (mnt / "bad.attrs").read_bytes().startswith(b"{")
    assert mnt.process.poll() is None, "the daemon died"
    # One log line for the user's EIO, naming the object, the chunk and the cause.
    lines = [line for line in mnt.stderr_text().splitlines() if "/bad" in line]
    assert len(lines) == 1, mnt.stderr_text()
    assert "/bad: dataset /bad chunk at [1000]" in lines[0] and "deflate" in lines[0], lines[0]


def damaged_copies(source: Path, directory: Path) -> list[Path]:
    """Truncations and a clobbered superblock of a good container: the damage real
    files suffer from interrupted copies and failing disks."""
    data = source.read_bytes()
    directory.mkdir()
    made = []
    for name, content in [("empty.h5", b""),
                          ("signature_only.h5", data[:8]),
                          ("superblock_only.h5", data[:96]),
                          ("first_kib.h5", data[:1024]),
                          ("half.h5", data[:len(data) // 2]),
                          ("all_but_last_byte.h5", data[:-1]),
                          ("clobbered_superblock.h5", data[:8] + bytes(88) + data[96:])]:
        path = directory / name
        path.write_bytes(content)
        made.append(path)
    return made


def test_unreadable_corpus_files_fail_cleanly(h5mount_bin, fuse_ready, corpus, tmp_path):
    """Damaged files and files of the corpus h5py cannot open: h5mount refuses them with a
    message and an exit code, or mounts what it can; it never hangs or dies of a signal."""
    candidates = corpus.unreadable + damaged_copies(corpus.root / "types.h5", tmp_path / "damaged")
    problems = []
    for number, path in enumerate(candidates):
        mnt = tmp_path / f"m{number}"
        mnt.mkdir()
        real = str(mnt.resolve())
        log = tmp_path / f"log{number}"
        try:
            with open(log, "wb") as out:
                try:
                    code = subprocess.run([h5mount_bin, str(path), real], stdin=subprocess.DEVNULL,
                                          stdout=out, stderr=out, timeout=60).returncode
                except subprocess.TimeoutExpired:
                    code = None
            text = log.read_text(errors="replace")
            name = path.name
            if code is None:
                problems.append(f"{name}: h5mount hung")
            elif code < 0:
                problems.append(f"{name}: h5mount died of signal {-code}")
            elif code == 0:
                if mounting.is_fuse_mounted(real):
                    run(["find", real], timeout=120)  # may report errors; must end
                    pid = mounting.find_daemon_pid(h5mount_bin, real)
                    if pid is None or not mounting.process_alive(pid):
                        problems.append(f"{name}: the daemon died while browsing")
                else:
                    problems.append(f"{name}: exit 0 but nothing mounted")
            elif not text.startswith("h5mount: "):
                problems.append(f"{name}: exit {code} with message {text[:200]!r}")
        except subprocess.TimeoutExpired:
            problems.append(f"{path}: browsing hung")
        finally:
            if mounting.is_mounted(real):
                mounting.stop_mount(mounting.Mount(
                    binary=h5mount_bin, container=str(path), path=real, foreground=False,
                    log=log, pid=mounting.find_daemon_pid(h5mount_bin, real)))
    assert not problems, "\n".join(problems)
