"""Security (issue 3, item 5): permissions under allow_other, the external-link policy
(`-o external=dir|any|none`), names that would escape their directory, and symbolic
links resolved once at mount (docs/mapping.md "External links" and "Names",
docs/mounting.md "Security")."""

from __future__ import annotations

import errno
import os
import pwd
import shutil
import struct
import subprocess
import tempfile
from pathlib import Path

import h5py
import numpy as np
import pytest

import mounting
from hdf5_checksum import hashlittle, object_header_checksum_span
from mounting import run

TEST_USER = "h5mount-test"


# ---------------------------------------------------------------- allow_other

@pytest.fixture(scope="session")
def other_user() -> str:
    """A user that is not root, made for the test if missing (skips when that is impossible)."""
    if os.geteuid() != 0:
        pytest.skip("needs root: the test mounts with allow_other and acts as another user")
    if shutil.which("runuser") is None:
        pytest.skip("runuser (util-linux) is missing")
    try:
        pwd.getpwnam(TEST_USER)
    except KeyError:
        made = run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", TEST_USER])
        if made.returncode != 0:
            pytest.skip(f"cannot create user {TEST_USER}: {made.stderr.strip()}")
    return TEST_USER


def as_user(user: str, *command: str) -> subprocess.CompletedProcess:
    return run(["runuser", "-u", user, "--", *command], timeout=60)


@pytest.fixture
def shared_mountpoint():
    """A mount point another user can reach (pytest's tmp_path lies under a 0700 directory)."""
    base = Path(tempfile.mkdtemp(prefix="h5mount-shared-", dir="/tmp"))
    base.chmod(0o755)
    mnt = base / "mnt"
    mnt.mkdir()
    try:
        yield mnt
    finally:
        if mounting.is_mounted(str(mnt)):
            run(["fusermount3", "-u", "-z", str(mnt)])
        shutil.rmtree(base, ignore_errors=True)


def test_allow_other_enforces_the_modes_shown(mounter, other_user, shared_mountpoint, tmp_path):
    container = tmp_path / "c.h5"
    with h5py.File(container, "w") as f:
        f["public"] = np.frombuffer(b"everyone may read this\n", dtype=np.uint8)
        f["private"] = np.frombuffer(b"only root may read this\n", dtype=np.uint8)
    mnt = mounter(container, "-o", "allow_other", mountpoint=shared_mountpoint)
    os.chmod(mnt / "private", 0o600)
    assert os.stat(mnt / "private").st_mode & 0o777 == 0o600 and os.stat(mnt / "private").st_uid == 0

    public = as_user(other_user, "cat", str(mnt / "public"))
    assert public.returncode == 0 and public.stdout == "everyone may read this\n", public.stderr
    private = as_user(other_user, "cat", str(mnt / "private"))
    assert private.returncode != 0 and "Permission denied" in private.stderr, private
    # Writing needs write permission too: the mount's files are root's, 0644.
    written = as_user(other_user, "sh", "-c", f"echo x >> {mnt / 'public'}")
    assert written.returncode != 0 and "Permission denied" in written.stderr, written
    created = as_user(other_user, "touch", str(mnt / "new"))
    assert created.returncode != 0 and "Permission denied" in created.stderr, created
    assert (mnt / "private").read_bytes() == b"only root may read this\n", "the owner still reads it"
    options = mounting.mount_entry(mnt.path)
    table = Path("/proc/self/mounts").read_text()
    line = next(line for line in table.splitlines() if f" {mnt.path} " in line)
    assert "default_permissions" in line.split()[3].split(","), (options, line)


def test_without_allow_other_other_users_see_nothing(mounter, other_user, shared_mountpoint, tmp_path):
    container = tmp_path / "c.h5"
    with h5py.File(container, "w") as f:
        f["public"] = np.frombuffer(b"x", dtype=np.uint8)
    mnt = mounter(container, "-o", "ro", mountpoint=shared_mountpoint)
    listed = as_user(other_user, "ls", mnt.path)
    assert listed.returncode != 0 and "Permission denied" in listed.stderr, listed


# ---------------------------------------------------------------- external links

@pytest.fixture
def linked(tmp_path) -> dict[str, Path]:
    """A container in project/ with external links to a file beside it, to a file outside
    project/ (relative with .., and absolute), to a symlink in project/ that points
    outside, and to a missing file."""
    project, outside = tmp_path / "project", tmp_path / "outside"
    project.mkdir()
    outside.mkdir()
    (project / "sub").mkdir()
    for path, text in [(project / "sub" / "inside.h5", b"inside\n"), (outside / "secret.h5", b"secret\n")]:
        with h5py.File(path, "w") as f:
            f["d"] = np.frombuffer(text, dtype=np.uint8)
    (project / "sneaky.h5").symlink_to(outside / "secret.h5")
    container = project / "master.h5"
    with h5py.File(container, "w") as f:
        f["inside"] = h5py.ExternalLink("sub/inside.h5", "/d")
        f["dotdot"] = h5py.ExternalLink("../outside/secret.h5", "/d")
        f["absolute"] = h5py.ExternalLink(str(outside / "secret.h5"), "/d")
        f["sneaky"] = h5py.ExternalLink("sneaky.h5", "/d")
        f["missing"] = h5py.ExternalLink("sub/none.h5", "/d")
        f["plain"] = np.frombuffer(b"plain\n", dtype=np.uint8)
    return {"container": container, "outside": outside}


REFUSED = ["dotdot", "absolute", "sneaky"]


def read_or_errno(path: Path) -> bytes | int:
    try:
        return path.read_bytes()
    except OSError as error:
        return error.errno


def test_default_policy_follows_only_links_under_the_containers_directory(mounter, linked):
    mnt = mounter(linked["container"], "-o", "ro")
    assert sorted(os.listdir(mnt.path)) == sorted(["inside", "missing", "plain", *REFUSED])
    assert read_or_errno(mnt / "inside") == b"inside\n"
    assert read_or_errno(mnt / "missing") == errno.ENOENT, "a link to a missing file dangles"
    for name in REFUSED:
        assert os.path.islink(mnt / name), name
        assert os.readlink(mnt / name).startswith(".external/"), os.readlink(mnt / name)
        for _ in range(2):
            assert read_or_errno(mnt / name) == errno.EACCES, name
    log = mnt.stderr_text().splitlines()
    refusals = [line for line in log if "not followed" in line]
    assert len(refusals) == len(REFUSED), "\n".join(log)
    assert all("-o external=any" in line and "outside the container's directory" in line for line in refusals)
    assert not any(str(linked["outside"] / "secret.h5") in line and "not followed" not in line for line in log)


def test_info_reports_links_outside_the_directory_without_opening_them(h5mount_bin, linked):
    result = run([h5mount_bin, "--info", linked["container"]])
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    for name in REFUSED:
        assert any(line.startswith(f"  /{name} -> ") and line.endswith(": outside the container's directory")
                   for line in lines), (name, lines)
    assert any(line.startswith("  /inside -> sub/inside.h5:/d: resolves") for line in lines), lines
    assert "external links: 5 (4 not resolving)" in lines, lines


def test_external_any_follows_every_link(mounter, linked):
    mnt = mounter(linked["container"], "-o", "ro,external=any")
    for name in REFUSED:
        assert read_or_errno(mnt / name) == b"secret\n", name
    assert read_or_errno(mnt / "inside") == b"inside\n"


def test_external_none_hides_external_links(mounter, linked):
    mnt = mounter(linked["container"], "-o", "ro,external=none")
    assert os.listdir(mnt.path) == ["plain"]
    for name in ["inside", "missing", ".external", *REFUSED]:
        assert read_or_errno(mnt / name) == errno.ENOENT, name
    result = run(["find", mnt.path])
    assert result.returncode == 0 and sorted(result.stdout.split()) == sorted([mnt.path, f"{mnt.path}/plain"])


def test_bad_external_value_is_a_usage_error(h5mount_bin, linked, tmp_path):
    result = run([h5mount_bin, linked["container"], tmp_path, "-o", "external=everything"])
    assert result.returncode == 2 and "external" in result.stderr, result.stderr


def test_rendering_a_soft_link_never_follows_an_external_link(mounter, linked):
    """A soft link whose path runs through an external link reads back verbatim: finding
    out where it leads would make libhdf5 open the other file on its own."""
    container = linked["container"].parent / "soft.h5"
    with h5py.File(container, "w") as f:
        f["far"] = h5py.ExternalLink("../outside/secret.h5", "/")
        f["via_far"] = h5py.SoftLink("/far/d")
        f.create_group("g")["d"] = np.frombuffer(b"near\n", dtype=np.uint8)
        f["alias"] = h5py.SoftLink("/g")
        f["via_alias"] = h5py.SoftLink("/alias/d")
    for options in (["-o", "ro"], ["-o", "ro,external=any"]):
        with mounter.mounted(container, *options) as mnt:
            assert os.readlink(mnt / "via_far") == "/far/d", options
            assert os.readlink(mnt / "via_alias") == "alias/d", "soft links within the file still resolve"
            assert (mnt / "via_alias").read_bytes() == b"near\n"


# ---------------------------------------------------------------- names

CRAFTED = {b"slash_ab": b"slash/ab", b"dd": b"..", b"d": b".", b"dotdir": b"../../", b"nul_ab": b"nul\0ab"}


def craft_names(path: Path) -> Path:
    """An h5py file (oldest format: link names in a local heap, no checksum) whose link
    names are then patched into ones no well-formed file has."""
    with h5py.File(path, "w", libver="earliest") as f:
        f["okname"] = np.frombuffer(b"ok\n", dtype=np.uint8)
        for name in CRAFTED:
            if name == b"dotdir":
                f.create_group("dotdir")["inner"] = np.frombuffer(b"escaped?\n", dtype=np.uint8)
            else:
                f[name.decode()] = np.frombuffer(name + b"\n", dtype=np.uint8)
    raw = bytearray(path.read_bytes())
    for old, new in CRAFTED.items():
        pattern = b"\0" + old + b"\0"
        at = raw.find(pattern)
        assert at > 0 and raw.find(pattern, at + 1) < 0, old
        raw[at + 1:at + 1 + len(old)] = new
    path.write_bytes(raw)
    return path


def test_names_that_would_escape_their_directory_never_reach_the_kernel(mounter, tmp_path):
    container = craft_names(tmp_path / "crafted.h5")
    with h5py.File(container) as f:
        stored = set(f)
    assert {"slash/ab", "..", ".", "../../", "nul"} <= stored, stored  # the crafted names are really there

    mnt = mounter(container, "-o", "ro")
    for _ in range(2):
        assert sorted(os.listdir(mnt.path)) == ["nul", "okname"]
    # libhdf5 reads a name only up to a NUL byte (h5py shows "nul" too): that is its name.
    assert (mnt / "nul").read_bytes() == b"nul_ab\n"
    for name in ["slash", "ab", "slash%2Fab", "inner"]:
        assert read_or_errno(mnt / name) == errno.ENOENT, name
    found = run(["find", mnt.path])
    assert found.returncode == 0 and sorted(found.stdout.split()) == sorted(
        [mnt.path, f"{mnt.path}/nul", f"{mnt.path}/okname"]), found.stdout
    assert os.path.realpath(mnt / ".." / "..") == os.path.realpath(Path(mnt.path).parent.parent)
    left_out = [line for line in mnt.stderr_text().splitlines() if "not a valid file name" in line]
    assert len(left_out) == 4, "\n".join(left_out)  # each logged once, both listings together
    assert any('"slash/ab"' in line for line in left_out) and any('"../../"' in line for line in left_out)


# ---------------------------------------------------------------- symbolic links resolved once

def test_a_container_reached_through_symlinks_is_resolved_once_at_mount(mounter, tmp_path):
    real_dir = tmp_path / "real"
    real_dir.mkdir()
    container = real_dir / "c.h5"
    with h5py.File(container, "w") as f:
        f["old"] = np.frombuffer(b"old\n", dtype=np.uint8)
    decoy = tmp_path / "decoy.h5"
    shutil.copy(container, decoy)
    decoy_bytes = decoy.read_bytes()
    (tmp_path / "via").symlink_to(real_dir)
    link = tmp_path / "link.h5"
    link.symlink_to(tmp_path / "via" / "c.h5")

    mnt = mounter(link)
    assert mounting.mount_entry(mnt.path)[1] == str(container), "the source is the resolved path"
    (mnt / "new").write_bytes(b"new\n")
    assert Path(f"{container}.h5mount-work").is_dir(), "the work directory lies beside the real file"
    assert not (tmp_path / "link.h5.h5mount-work").exists()
    link.unlink()
    link.symlink_to(decoy)                       # re-pointed while mounted
    result = run([mounter.binary, "-u", mnt.path], timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    mnt.process.wait(timeout=mounting.EXIT_TIMEOUT)
    mounter.mounts.remove(mnt)
    mounting.REGISTRY.remove(mnt)
    with h5py.File(container) as f:
        assert f["new"][()].tobytes() == b"new\n"
    assert decoy.read_bytes() == decoy_bytes, "the commit went to the file resolved at mount"


def test_names_patched_into_a_checksummed_object_header_are_left_out(mounter, tmp_path):
    """The newest format keeps a group's links in its object header, under a checksum:
    patched names with the checksum recomputed (h5py opens the file and lists them)."""
    container = tmp_path / "crafted-v2.h5"
    with h5py.File(container, "w", libver="latest") as f:
        for name in ["okname", "slash_ab", "dd"]:
            f[name] = np.frombuffer(name.encode() + b"\n", dtype=np.uint8)
        root = h5py.h5o.get_info(f.id).addr
    raw = bytearray(container.read_bytes())
    end = object_header_checksum_span(raw, root)
    assert raw[end:end + 4] == struct.pack("<I", hashlittle(bytes(raw[root:end]))), "checksum code is wrong"
    for old, new in [(b"slash_ab", b"slash/ab"), (b"dd", b"..")]:
        at = raw.find(old, root, end)
        raw[at:at + len(old)] = new
    raw[end:end + 4] = struct.pack("<I", hashlittle(bytes(raw[root:end])))
    container.write_bytes(raw)
    with h5py.File(container) as f:
        assert sorted(f) == ["..", "okname", "slash/ab"]

    mnt = mounter(container, "-o", "ro")
    assert os.listdir(mnt.path) == ["okname"]
    for name in ["slash", "ab", "dd", "slash_ab"]:
        assert read_or_errno(mnt / name) == errno.ENOENT, name
    left_out = [line for line in mnt.stderr_text().splitlines() if "not a valid file name" in line]
    assert len(left_out) == 2, left_out


def test_an_empty_name_is_left_out_and_the_rest_lists(mounter, tmp_path):
    """libhdf5's own iteration gives up at an empty link name (h5py cannot list the group);
    the mount leaves that one link out and lists the others."""
    container = tmp_path / "empty-name.h5"
    with h5py.File(container, "w", libver="earliest") as f:
        for name in ["a", "ok", "zz"]:               # "a" sorts first: the B-tree stays in order
            f[name] = np.frombuffer(name.encode() + b"\n", dtype=np.uint8)
    raw = bytearray(container.read_bytes())
    at = raw.find(b"\0a\0")
    raw[at + 1] = 0
    container.write_bytes(raw)
    with h5py.File(container) as f, pytest.raises(Exception):
        list(f)

    mnt = mounter(container, "-o", "ro")
    assert sorted(os.listdir(mnt.path)) == ["ok", "zz"]
    assert (mnt / "ok").read_bytes() == b"ok\n" and (mnt / "zz").read_bytes() == b"zz\n"
    left_out = [line for line in mnt.stderr_text().splitlines() if "not a valid file name" in line]
    assert len(left_out) == 1 and '"" (0 bytes)' in left_out[0], left_out
