"""What the read path asks of the daemon, seen through a real mount (`-d` prints every
request): `ls -l` stops asking for SELinux labels and ACLs after the first "not
supported", and reads of decoded frames on a read-only mount are replied from the tiles
themselves (docs/chunk-engine.md) with the bytes h5py reads."""

from __future__ import annotations

import errno
import os
import re
import subprocess

import h5py
import numpy as np
import pytest


def test_ls_l_asks_for_labels_and_acls_once_per_mount(mounter, features):
    mnt = mounter(features.tree_h5, "-o", "ro", "-d")
    listing = subprocess.run(["ls", "-lR", mnt.path], capture_output=True, text=True, check=True).stdout
    files = sum(1 for line in listing.splitlines() if line.startswith("-"))
    assert files >= 5, listing
    asked = re.findall(r"GETXATTR \d+ (\S+)", mnt.stderr_text())
    # One label and one ACL question for the whole mount, not two per file.
    assert len(asked) <= 2 < files, asked
    with pytest.raises(OSError) as caught:
        os.getxattr(mnt.path, "security.selinux")
    assert caught.value.errno == errno.ENOTSUP
    with pytest.raises(OSError) as caught:
        os.getxattr(mnt.path, "system.posix_acl_access")
    assert caught.value.errno == errno.ENOTSUP
    with open("/proc/self/mounts") as table:
        options = [line.split()[3] for line in table if line.split()[1] == mnt.path]
    assert options and "default_permissions" in options[0].split(","), options


@pytest.fixture(scope="module")
def frames(tmp_path_factory):
    """6 frames of 256 x 256 uint16 (128 KiB each, one chunk per frame), gzip, and one
    unallocated frame in the middle."""
    path = tmp_path_factory.mktemp("frames") / "frames.h5"
    rng = np.random.default_rng(6)
    with h5py.File(path, "w") as f:
        ds = f.create_dataset("stack", shape=(6, 256, 256), dtype="<u2", chunks=(1, 256, 256),
                              compression="gzip", compression_opts=1)
        for i in (0, 1, 2, 4, 5):
            ds[i] = rng.poisson(40, (256, 256)).astype("<u2")
    with h5py.File(path, "r") as f:
        expected = f["stack"][()].tobytes()
    return path, expected


@pytest.mark.parametrize("options", [("-o", "ro"), ()], ids=["read-only", "writable"])
def test_frame_reads_equal_h5py_at_any_offset(mounter, frames, options):
    path, expected = frames
    mnt = mounter(path, *options, "-d")
    fd = os.open(mnt / "stack", os.O_RDONLY)
    try:
        frame = 256 * 256 * 2
        for offset, size in ((0, 4096), (frame - 7, 20), (frame // 2, 3 * frame), (4 * frame - 1, 2),
                             (len(expected) - 100, 4096), (0, len(expected))):
            assert os.pread(fd, size, offset) == expected[offset:offset + size], (offset, size)
    finally:
        os.close(fd)
    with open(mnt / "stack", "rb") as f:
        assert f.read() == expected
    served_from_tiles = " pieces" in mnt.stderr_text()
    assert served_from_tiles == (options == ("-o", "ro")), "tiles are lent only on read-only mounts"
