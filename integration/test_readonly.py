"""A read-only mount (`-o ro`) refuses every change with EROFS. (Mounts are writable by
default; integration/test_write.py tests those.)"""

from __future__ import annotations

import errno
import os

import pytest


def _expect_erofs(action, what):
    with pytest.raises(OSError) as caught:
        action()
    assert caught.value.errno == errno.EROFS, f"{what}: {caught.value!r}, expected EROFS"


def test_every_change_is_erofs(mounter, features):
    mnt = mounter(features.links, "-o", "ro")
    x = os.path.join(mnt.path, "data", "x")
    y = os.path.join(mnt.path, "data", "y")
    data = os.path.join(mnt.path, "data")
    _expect_erofs(lambda: open(x, "r+b"), "open for writing")
    _expect_erofs(lambda: open(y, "ab"), "open for appending")
    _expect_erofs(lambda: open(os.path.join(data, "new"), "wb"), "create")
    _expect_erofs(lambda: os.mkdir(os.path.join(data, "newdir")), "mkdir")
    _expect_erofs(lambda: os.utime(y), "touch")
    _expect_erofs(lambda: os.unlink(y), "rm")
    _expect_erofs(lambda: os.rmdir(os.path.join(mnt.path, "shared")), "rmdir")
    _expect_erofs(lambda: os.rename(y, os.path.join(data, "z")), "rename")
    _expect_erofs(lambda: os.symlink("x", os.path.join(data, "l")), "symlink")
    _expect_erofs(lambda: os.link(y, os.path.join(data, "y2")), "link")
    _expect_erofs(lambda: os.chmod(y, 0o600), "chmod")
    _expect_erofs(lambda: os.truncate(y, 0), "truncate")
    _expect_erofs(lambda: os.setxattr(x, "user.new", b"1"), "setxattr")
    _expect_erofs(lambda: os.unlink(x + ".attrs"), "rm sidecar")
    assert sorted(os.listdir(data)) == ["x", "x.attrs", "y"], "nothing changed"
    with open(y, "rb") as f:
        assert f.read() == b"byte dataset\n"
