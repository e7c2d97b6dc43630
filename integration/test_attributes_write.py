"""Writing HDF5 attributes through a mount (DESIGN.md §2, docs/writing.md "Attributes"):
setxattr/removexattr of user.NAME, sidecar JSON written by tools and editors, durable like
every other change (unmount, remount, kill -9 and --recover). h5py, after `h5mount -u`, is
the oracle; every mount is unmounted in teardown.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys

import h5py
import numpy as np
import pytest

from mounting import run
from test_write import (EXIT_RUNTIME, attempt_mount, expect_errno, kill_mount, read, unmount_cli, write)

pytestmark = pytest.mark.write_path


def make_container(path):
    """/typed float32 (2, 3) with attributes of several types, /bytes (a byte dataset with no
    attributes), /g a group with one attribute."""
    with h5py.File(path, "w") as f:
        d = f.create_dataset("typed", data=np.arange(6, dtype="<f4").reshape(2, 3))
        d.attrs["units"] = "counts"
        d.attrs["scale"] = np.float32(0.5)
        d.attrs["count"] = np.int16(3)
        d.attrs["flags"] = np.array([True, False])
        d.attrs["label"] = np.bytes_(b"fixed")
        d.attrs["shape_hint"] = np.array([[1, 2], [3, 4]], dtype=">i4")
        f.create_dataset("bytes", data=np.frombuffer(b"hello", dtype="u1"))
        f.create_group("g").attrs["title"] = "run 1"
        n = f.create_dataset("nanfill", shape=(4,), dtype="<f8", fillvalue=np.nan, chunks=(2,), compression="gzip")
        n.attrs["limits"] = np.array([0.0, np.inf])
    return path


ATTRIBUTES = r"""
import json, sys
import h5py, numpy as np
def plain(v):
    if isinstance(v, bytes): return v.decode()
    if isinstance(v, np.ndarray): return [plain(x) for x in v.tolist()] if v.dtype.kind in "SO" else v.tolist()
    if isinstance(v, np.generic): return v.item()
    if isinstance(v, h5py.Empty): return None
    return v
out = {}
with h5py.File(sys.argv[1], "r") as f:
    for path in sys.argv[2:]:
        o = f[path]
        out[path] = {k: [plain(o.attrs[k]), o.attrs.get_id(k).dtype.str] for k in o.attrs
                     if not k.startswith("h5mount.")}
print(json.dumps(out))
"""


def attributes(container, *paths) -> dict:
    """{path: {name: [value, numpy dtype string]}} by h5py in a fresh process."""
    result = run([sys.executable, "-c", ATTRIBUTES, os.fspath(container), *paths], timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def getfattr_dump(path) -> str:
    result = run(["getfattr", "-d", "--absolute-names", os.fspath(path)])
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_setfattr_and_getfattr_round_trip_and_keep_types(mounter, tmp_path):
    container = make_container(tmp_path / "c.h5")
    before = attributes(container, "/typed")["/typed"]
    mnt = mounter(container)
    typed = mnt / "typed"
    shown = getfattr_dump(typed)
    assert 'user.units="counts"' in shown and 'user.scale="0.5"' in shown and 'user.flags="[true,false]"' in shown, shown
    # Change every attribute, then restore what getfattr showed: the same values, the same types.
    for name, value in [("units", "m"), ("scale", "2.5"), ("count", "-9"), ("flags", "[false,false]"),
                        ("label", "abc"), ("shape_hint", "[[0,0],[0,7]]")]:
        run(["setfattr", "-n", "user." + name, "-v", value, os.fspath(typed)], check=True)
    assert os.getxattr(typed, "user.shape_hint") == b"[[0,0],[0,7]]"
    dump = tmp_path / "dump.txt"
    dump.write_text(shown)
    run(["setfattr", "--restore=" + os.fspath(dump)], check=True)
    assert getfattr_dump(typed) == shown
    # New attributes: text, a number, an array; removal.
    run(["setfattr", "-n", "user.note", "-v", "plain text", os.fspath(typed)], check=True)
    run(["setfattr", "-n", "user.gain", "-v", "12", os.fspath(mnt / "bytes")], check=True)
    run(["setfattr", "-x", "user.title", os.fspath(mnt / "g")], check=True)
    unmount_cli(mounter, mnt)

    after = attributes(container, "/typed", "/bytes", "/g")
    assert {k: v for k, v in after["/typed"].items() if k != "note"} == before, "restored values keep their types"
    assert after["/typed"]["note"] == ["plain text", "|O"]
    assert after["/bytes"] == {"gain": [12, "<i8"]}
    assert after["/g"] == {}
    again = mounter(container)
    lines = lambda text: sorted(line for line in text.splitlines() if line.startswith("user."))
    assert lines(getfattr_dump(again / "typed")) == sorted(lines(shown) + ['user.note="plain text"'])
    assert json.load(open(again / "bytes.attrs"))["attributes"] == {"gain": 12}, "the byte dataset got a sidecar"
    assert not os.path.exists(again / "g" / ".attrs"), "the group lost its last attribute and its sidecar"


def test_a_sidecar_read_right_after_an_attribute_change_is_whole_json(mounter, tmp_path):
    """The sidecar grows when an attribute is added, while the kernel may still hold its old
    size (attribute timeout): the read must not be cut at that size."""
    container = make_container(tmp_path / "c.h5")
    mnt = mounter(container)
    sidecar = mnt / "typed.attrs"
    for i in range(5):
        old_size = os.stat(sidecar).st_size  # the kernel now caches this size
        value = "x" * (200 + 100 * i)
        os.setxattr(mnt / "typed", f"user.long{i}", value.encode())
        text = sidecar.read_text()
        assert len(text) > old_size, "the new attribute made the sidecar longer"
        assert json.loads(text)["attributes"][f"long{i}"] == value
        os.removexattr(mnt / "typed", f"user.long{i}")
        assert f"long{i}" not in json.loads(sidecar.read_text())["attributes"]


def test_os_setxattr_flags_and_errors(mounter, tmp_path):
    container = make_container(tmp_path / "c.h5")
    mnt = mounter(container)
    f = mnt / "bytes"
    os.setxattr(f, "user.a", b"1", os.XATTR_CREATE)
    expect_errno(errno.EEXIST, lambda: os.setxattr(f, "user.a", b"2", os.XATTR_CREATE), "XATTR_CREATE of an existing name")
    expect_errno(errno.ENODATA, lambda: os.setxattr(f, "user.b", b"2", os.XATTR_REPLACE), "XATTR_REPLACE of a missing name")
    os.setxattr(f, "user.a", b"2", os.XATTR_REPLACE)
    assert os.getxattr(f, "user.a") == b"2"
    expect_errno(errno.ENODATA, lambda: os.removexattr(f, "user.missing"), "removexattr of a missing name")
    expect_errno(errno.EPERM, lambda: os.setxattr(f, "user.h5mount.stat", b"1"), "reserved name")
    expect_errno(errno.EPERM, lambda: os.setxattr(mnt.path, "user.h5mount.pid", b"1"), "reserved name on the root")
    expect_errno(errno.ENOTSUP, lambda: os.setxattr(f, "security.test", b"1"), "security namespace")
    expect_errno(errno.ENOTSUP, lambda: os.setxattr(f, "trusted.test", b"1"), "trusted namespace")
    expect_errno(errno.EINVAL, lambda: os.setxattr(f, "user.bin", b"\xff\xfe"), "a value that is not UTF-8")
    os.removexattr(f, "user.a")
    assert os.listxattr(f) == []
    # A file being written takes xattrs before its first close (cp -a does this).
    with open(mnt / "new", "wb") as out:
        out.write(b"data")
        os.setxattr(mnt / "new", "user.origin", b"cp")
        assert os.getxattr(mnt / "new", "user.origin") == b"cp"
    with open(mnt / "new", "ab") as out:
        out.write(b" appended")
    assert os.getxattr(mnt / "new", "user.origin") == b"cp", "a rewritten file keeps its xattrs"
    unmount_cli(mounter, mnt)
    assert attributes(container, "/bytes", "/new") == {"/bytes": {}, "/new": {"origin": ["cp", "|O"]}}


def test_sidecar_json_edits_round_trip(mounter, tmp_path):
    container = make_container(tmp_path / "c.h5")
    mnt = mounter(container)
    side = mnt / "typed.attrs"
    d = json.load(open(side))
    d["attributes"]["scale"] = 0.25
    d["attributes"]["added"] = [1.5, 2.5]
    d["attributes"]["when"] = "2026-12-02"
    del d["attributes"]["units"]
    json.dump(d, open(side, "w"))                                    # python, as the brief's users do
    shown = json.load(open(side))
    assert shown["attributes"] == {k: d["attributes"][k] for k in sorted(d["attributes"])}
    assert {k: v for k, v in shown.items() if k != "attributes"} == {k: v for k, v in d.items() if k != "attributes"}
    # cat new.json > x.attrs, next to a byte dataset that had no sidecar, and in a directory
    (tmp_path / "new.json").write_text('{"attributes": {"version": 2, "ok": true}}')
    run(["sh", "-c", f"cat {tmp_path / 'new.json'} > {mnt / 'bytes.attrs'}"], check=True)
    assert os.getxattr(mnt / "bytes", "user.version") == b"2"
    write(mnt / "g" / ".attrs", b'{"kind": "group", "attributes": {"title": "run 2", "n": [[1, 2], [3, 4]]}}')
    # sed -i writes a temporary file and renames it over the sidecar
    run(["sed", "-i", "s/run 2/run 3/", os.fspath(mnt / "g" / ".attrs")], check=True)
    assert os.getxattr(mnt / "g", "user.title") == b"run 3"
    assert sorted(os.listdir(mnt / "g")) == [".attrs"], "sed's temporary file is gone"
    written = json.load(open(side))
    # Non-finite floats render as "NaN"/"Infinity" strings; Python reads and writes them as such.
    nan_side = mnt / "nanfill.attrs"
    n = json.load(open(nan_side))
    assert n["fillvalue"] == "NaN" and n["attributes"]["limits"] == [0.0, "Infinity"]
    n["attributes"]["limits"] = [-1.0, "Infinity"]
    with open(nan_side, "w") as out:
        json.dump(n, out)
    unmount_cli(mounter, mnt)

    after = attributes(container, "/typed", "/bytes", "/g")
    assert after["/typed"]["scale"] == [0.25, "<f4"], "an edited attribute keeps its type"
    assert after["/typed"]["count"] == [3, "<i2"] and after["/typed"]["label"] == ["fixed", "|S5"], "untouched ones too"
    assert after["/typed"]["added"] == [[1.5, 2.5], "<f8"] and "units" not in after["/typed"]
    assert after["/bytes"] == {"ok": [True, "|b1"], "version": [2, "<i8"]}
    assert after["/g"] == {"n": [[[1, 2], [3, 4]], "<i8"], "title": ["run 3", "|O"]}
    assert attributes(container, "/nanfill")["/nanfill"] == {"limits": [[-1.0, float("inf")], "<f8"]}
    again = mounter(container)
    reread = json.load(open(again / "typed.attrs"))
    assert reread["attributes"] == written["attributes"], "sidecar JSON -> HDF5 -> the same sidecar JSON"


def test_bad_sidecar_json_is_einval_and_changes_nothing(mounter, tmp_path):
    container = make_container(tmp_path / "c.h5")
    before = attributes(container, "/typed")
    mnt = mounter(container)
    side = mnt / "typed.attrs"
    original = read(side)
    d = json.loads(original)
    d["attributes"]["new"] = 1
    changed = dict(d, dtype="<f8")
    for text in [b"{not json", b"[]", json.dumps(changed).encode(), json.dumps(dict(d, shape=[6])).encode(),
                 b'{"attributes": {"h5mount.stat": [1]}}', b'{"attributes": {"x": {"nested": 1}}}']:
        expect_errno(errno.EINVAL, lambda: write(side, text), f"writing {text[:40]!r}")
        assert read(side) == original, f"nothing changed after {text[:40]!r}"
    result = run(["sh", "-c", f"printf '{{bad' > {side}"])
    assert result.returncode == 0 or "Invalid argument" in result.stderr  # the shell ignores close errors
    assert read(side) == original
    unmount_cli(mounter, mnt)
    assert attributes(container, "/typed") == before


def test_read_only_mount_refuses_attribute_changes(mounter, tmp_path):
    container = make_container(tmp_path / "c.h5")
    mnt = mounter(container, "-o", "ro")
    expect_errno(errno.EROFS, lambda: os.setxattr(mnt / "typed", "user.units", b"m"), "setxattr")
    expect_errno(errno.EROFS, lambda: os.removexattr(mnt / "typed", "user.units"), "removexattr")
    expect_errno(errno.EROFS, lambda: os.setxattr(mnt / "typed", "security.x", b"m"), "setxattr of another namespace")
    expect_errno(errno.EROFS, lambda: write(mnt / "typed.attrs", b"{}"), "sidecar write")


def test_cp_a_carries_user_xattrs_in(mounter, tmp_path):
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "f").write_bytes(b"content")
    os.setxattr(src / "sub" / "f", "user.color", b"blue")
    os.setxattr(src / "sub", "user.level", b"2")
    container = tmp_path / "c.h5"
    mnt = mounter(container)
    result = run(["cp", "-a", os.fspath(src), os.fspath(mnt.path)])
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert os.getxattr(mnt / "src" / "sub" / "f", "user.color") == b"blue"
    copies = ["/src"]
    if shutil.which("rsync"):                      # rsync writes a temporary name, then renames it
        result = run(["rsync", "-aX", os.fspath(src) + "/", os.fspath(mnt / "copy")])
        assert result.returncode == 0, result.stderr
        assert os.getxattr(mnt / "copy" / "sub" / "f", "user.color") == b"blue"
        copies.append("/copy")
    unmount_cli(mounter, mnt)
    for top in copies:
        got = attributes(container, top + "/sub/f", top + "/sub")
        assert got == {top + "/sub/f": {"color": ["blue", "|O"]}, top + "/sub": {"level": [2, "<i8"]}}, top


def test_attribute_changes_survive_kill_9_and_recover(mounter, tmp_path):
    container = make_container(tmp_path / "c.h5")
    mnt = mounter(container)
    os.setxattr(mnt / "typed", "user.units", b"m")
    os.setxattr(mnt / "bytes", "user.gain", b"1.5")
    os.removexattr(mnt / "typed", "user.count")
    write(mnt / "g" / ".attrs", b'{"attributes": {"title": "after", "extra": [1, 2]}}')
    write(mnt / "f", b"a new file")
    os.setxattr(mnt / "f", "user.kind", b"new")
    kill_mount(mounter, mnt)
    code, text = attempt_mount(mounter.binary, container, mounter.new_mountpoint())
    assert code == EXIT_RUNTIME, text
    result = run([mounter.binary, "--recover", container], timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    got = attributes(container, "/typed", "/bytes", "/g", "/f")
    assert got["/typed"]["units"] == ["m", "|O"] and "count" not in got["/typed"]
    assert got["/bytes"] == {"gain": [1.5, "<f8"]}
    assert got["/g"] == {"extra": [[1, 2], "<i8"], "title": ["after", "|O"]}
    assert got["/f"] == {"kind": ["new", "|O"]}
