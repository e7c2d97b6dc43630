"""Containment (issue 3 item 1; docs/hdf5-store.md "Containment"): a container whose one
group crashes or hangs libhdf5 1.10.8 while it is listed (integration/hostile.py). That
group answers EIO with one log line naming it and the cause; every other object lists and
reads as h5py says; the daemon is the same process throughout.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

import mounting

HERE = Path(__file__).resolve().parent


def hostile(tmp_path, kind) -> Path:
    path = tmp_path / f"{kind}.h5"
    subprocess.run([sys.executable, str(HERE / "hostile.py"), str(path), kind], check=True, timeout=120)
    return path


@pytest.fixture
def crashing(tmp_path):
    return hostile(tmp_path, "crash")


@pytest.fixture
def hanging(tmp_path):
    return hostile(tmp_path, "hang")


def listing_fails_with_eio(path: Path) -> float:
    t0 = time.monotonic()
    with pytest.raises(OSError) as failure:
        os.listdir(path)
    assert failure.value.errno == errno.EIO, failure.value
    return time.monotonic() - t0


def assert_good_groups_match_h5py(mnt, container):
    with h5py.File(container, "r") as f:
        for group in ("good1", "good2"):
            names = sorted(f[group])
            listed = sorted(os.listdir(mnt / group))
            assert listed == sorted(names + [f"{n}.attrs" for n in names if f[group][n].dtype != np.uint8]
                                    + [".attrs"]), listed
            for name in names:
                data = f[group][name][()]
                assert (mnt / group / name).read_bytes() == data.tobytes(), (group, name)
        assert (mnt / "title").read_bytes() == f["title"][()] + b"\n"


def log_lines(mnt, needle):
    return [line for line in mnt.stderr_text().splitlines() if needle in line]


def test_a_group_that_crashes_libhdf5_answers_eio_and_the_rest_is_served(mounter, crashing):
    mnt = mounter(crashing, "-o", "ro")
    pid = mnt.process.pid
    assert sorted(os.listdir(mnt)) == ["good1", "good2", "poison", "title"]
    listing_fails_with_eio(mnt / "poison")
    assert_good_groups_match_h5py(mnt, crashing)
    # Known bad: the second listing does not try again, and still answers EIO.
    assert listing_fails_with_eio(mnt / "poison") < 0.5
    # The group itself (its object header, its attributes) is fine: it still stats and has xattrs.
    assert os.stat(mnt / "poison").st_mode & 0o40000
    assert os.getxattr(mnt / "poison", "user.role") == b"poison"
    time.sleep(0.2)
    lines = log_lines(mnt, "/poison")
    assert len(lines) == 1, mnt.stderr_text()
    assert "libhdf5 crashed (SIGSEGV) while listing /poison" in lines[0], lines[0]
    assert mnt.process.poll() is None and mounting.process_alive(pid), "the daemon died"


def test_a_group_that_hangs_libhdf5_answers_eio_within_the_time_limit(mounter, hanging):
    mnt = mounter(hanging, "-o", "ro,hdf5_timeout=1")
    pid = mnt.process.pid
    assert listing_fails_with_eio(mnt / "poison") < 3.0
    assert_good_groups_match_h5py(mnt, hanging)
    lines = log_lines(mnt, "/poison")
    assert len(lines) == 1 and "libhdf5 did not answer within 1 s while listing /poison" in lines[0], \
        mnt.stderr_text()
    assert mnt.process.poll() is None and mounting.process_alive(pid), "the daemon died"


def test_find_and_ls_lR_end_with_one_error_for_the_bad_group(mounter, crashing):
    mnt = mounter(crashing, "-o", "ro")
    found = subprocess.run(["find", str(mnt)], capture_output=True, text=True, timeout=60)
    assert found.returncode == 1 and "poison" in found.stderr, found
    # 6 datasets, the 3 sidecars of the int32 ones, the group's .attrs (it has an attribute).
    assert sum(1 for line in found.stdout.splitlines() if line.startswith(str(mnt / "good1") + "/")) == 10
    listed = subprocess.run(["ls", "-lR", str(mnt)], capture_output=True, text=True, timeout=60)
    assert listed.returncode != 0 and "Input/output error" in listed.stderr, listed
    assert mnt.process.poll() is None


def test_without_containment_the_same_listing_kills_the_daemon(mounter, crashing):
    """The test's own check: the file really crashes libhdf5 when nothing contains it."""
    mnt = mounter(crashing, "-o", "ro,hdf5_timeout=0")
    with pytest.raises(OSError) as failure:
        os.listdir(mnt / "poison")
    assert failure.value.errno in (errno.ECONNABORTED, errno.ENOTCONN), failure.value
    mnt.process.wait(timeout=20)
    assert mnt.process.returncode == -11
    # The expected death is not an unclean unmount: take the mount down here.
    mounter.mounts.remove(mnt)
    problems = mounting.stop_mount(mnt)
    assert problems == ["daemon exited with -11 after unmount"], problems
    assert not mounting.is_mounted(mnt.path)


def test_a_writable_mount_keeps_refusing_the_bad_group_after_the_first_change(mounter, crashing):
    mnt = mounter(crashing)
    listing_fails_with_eio(mnt / "poison")
    (mnt / "good1" / "new.txt").write_bytes(b"written\n")   # switches to the working copy
    listing_fails_with_eio(mnt / "poison")
    assert (mnt / "good1" / "new.txt").read_bytes() == b"written\n"
    assert mnt.process.poll() is None
    mounter.unmount(mnt)
    with h5py.File(crashing, "r") as f:
        assert f["good1/new.txt"][()].tobytes() == b"written\n"
        assert f["good2/d2"][()].tolist() == list(range(300))


def test_info_reports_the_bad_group_instead_of_crashing(h5mount_bin, crashing):
    result = subprocess.run([h5mount_bin, "--info", str(crashing)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result
    assert "unreadable: /poison: libhdf5 crashed (SIGSEGV) while listing /poison" in result.stdout, result.stdout
