"""Native integration: `make install`/`uninstall` into a DESTDIR, the man page, and
mounting through mount(8) and an fstab (fuse3's mount helper, mount.fuse3)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import h5py
import numpy as np
import pytest

import mounting
from mounting import run

ROOT = Path(__file__).resolve().parent.parent


def make(*args, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "--no-print-directory", "-C", str(ROOT), *args],
                          capture_output=True, text=True, timeout=timeout)


def test_make_install_and_uninstall(h5mount_bin, tmp_path):
    dest = tmp_path / "dest"
    done = make("install", f"DESTDIR={dest}", "PREFIX=/opt/h5", f"BIN={h5mount_bin}")
    assert done.returncode == 0, done.stderr
    prefix = dest / "opt" / "h5"
    binary = prefix / "bin" / "h5mount"
    assert binary.is_file() and os.access(binary, os.X_OK)
    assert binary.read_bytes() == Path(h5mount_bin).read_bytes()
    man = prefix / "share" / "man" / "man1" / "h5mount.1"
    assert man.read_bytes() == (ROOT / "docs" / "h5mount.1").read_bytes()
    bash = prefix / "share" / "bash-completion" / "completions" / "h5mount"
    zsh = prefix / "share" / "zsh" / "site-functions" / "_h5mount"
    fish = prefix / "share" / "fish" / "vendor_completions.d" / "h5mount.fish"
    assert "-F _h5mount h5mount" in bash.read_text() and "--recover" in bash.read_text()
    assert zsh.read_text().startswith("#compdef h5mount") and "--discard" in zsh.read_text()
    assert "complete -c 'h5mount'" in fish.read_text() and "recover" in fish.read_text()
    # The installed binary runs.
    version = run([str(binary), "--version"])
    assert version.returncode == 0 and version.stdout.strip()

    gone = make("uninstall", f"DESTDIR={dest}", "PREFIX=/opt/h5")
    assert gone.returncode == 0, gone.stderr
    assert [p for p in dest.rglob("*") if p.is_file()] == []


def test_man_page_renders_without_warnings():
    if shutil.which("man") is None:
        pytest.skip("man is not installed (apt-get install man-db)")
    env = dict(os.environ, MANWIDTH="80")
    done = subprocess.run(["man", "--warnings", "-l", str(ROOT / "docs" / "h5mount.1")],
                          capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0
    assert done.stderr == ""
    for heading in ("SYNOPSIS", "DESCRIPTION", "OPTIONS", "PROGRESS", "LOGS", "MAPPING", "EXIT STATUS", "FILES",
                    "ENVIRONMENT", "EXAMPLES"):
        assert f"\n{heading}\n" in done.stdout
    assert "fuse.h5mount" in done.stdout
    # The progress output and -q (issue 5, item 4), the test-only variable marked as such.
    flat = " ".join(done.stdout.split())  # the words, whatever the line breaks
    assert "h5mount --recover container [--force] [-q]" in flat
    assert "written to disk" in flat and "-q silences it" in flat
    assert "For h5mount's own tests only" in flat
    assert max(len(line) for line in done.stdout.splitlines()) <= 80


# mount(8) runs helpers with an empty environment, so mount.fuse3's `/bin/sh -c h5mount`
# searches the shell's default PATH (/usr/local/sbin first). The test makes the built
# binary that `h5mount` inside a private mount namespace only: a bind mount over
# /usr/local/sbin that nothing outside the namespace sees (nothing is installed into /).
MOUNT_SCRIPT = r"""
set -u
bin="$1"; work="$2"
mnt0="$work/mnt0"; mnt1="$work/mnt1"; mnt2="$work/mnt2"
cleanup() {
  for m in "$mnt0" "$mnt1" "$mnt2"; do
    if grep -q " $m " /proc/mounts; then fusermount3 -u -z "$m"; fi
  done
}
trap cleanup EXIT
mount --bind "$bin" /usr/local/sbin || exit 90
step() { name="$1"; shift; "$@" > "$work/$name.out" 2> "$work/$name.err"; echo $? > "$work/$name.rc"; }

step cmdline mount -t fuse.h5mount "$work/run1.h5" "$mnt0" -o ro
grep " $mnt0 " /proc/mounts > "$work/cmdline.mounts"
ls "$mnt0" > "$work/cmdline.ls"
cat "$mnt0/g/s" > "$work/cmdline.cat"
step cmdline_u "$bin/h5mount" -u "$mnt0"

step fstab_a mount -T "$work/fstab" -a
grep -E " ($mnt1|$mnt2) " /proc/mounts > "$work/fstab_a.mounts"
ls "$mnt1" > "$work/fstab_a.ls"
step fstab_user mount -T "$work/fstab" "$mnt2"
grep " $mnt2 " /proc/mounts > "$work/fstab_user.mounts"
ls "$mnt2" > "$work/fstab_user.ls"
step fstab_u1 "$bin/h5mount" -u "$mnt1"
step fstab_u2 "$bin/h5mount" -u "$mnt2"
grep -E " ($mnt0|$mnt1|$mnt2) " /proc/mounts > "$work/after.mounts"
exit 0
"""


@pytest.fixture
def namespace_ready(fuse_ready):
    if os.geteuid() != 0:
        pytest.skip("mount(8) with an fstab needs root")
    for tool in ("unshare", "mount", "/sbin/mount.fuse3"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is missing")


def test_mount_command_and_fstab(h5mount_bin, namespace_ready, tmp_path):
    work = tmp_path
    with h5py.File(work / "run1.h5", "w") as f:
        f["x"] = np.arange(10)
        f.create_group("g")["s"] = np.frombuffer(b"hello", dtype=np.uint8)
    for name in ("mnt0", "mnt1", "mnt2"):
        (work / name).mkdir()
    (work / "fstab").write_text(
        "# a test fstab\n"
        f"{work}/run1.h5 {work}/mnt1 fuse.h5mount ro,allow_other,nofail 0 0\n"
        f"{work}/run1.h5 {work}/mnt2 fuse.h5mount ro,noauto,user 0 0\n")
    bindir = work / "bin"
    bindir.mkdir()
    (bindir / "h5mount").symlink_to(h5mount_bin)
    try:
        done = subprocess.run(["unshare", "--mount", "--propagation", "private", "bash", "-c",
                               MOUNT_SCRIPT, "script", str(bindir), str(work)],
                              capture_output=True, text=True, timeout=180)
    finally:
        # Daemons of the namespace (started by this test), should the script have left any.
        for name in ("mnt0", "mnt1", "mnt2"):
            pid = mounting.find_daemon_pid("h5mount", str(work / name))
            if pid is not None:
                os.kill(pid, 9)
    assert done.returncode == 0, done.stderr

    def result(step):
        return (int((work / f"{step}.rc").read_text()),
                (work / f"{step}.err").read_text())

    # mount -t fuse.h5mount SRC MNT -o ro
    assert result("cmdline") == (0, "")
    fields = (work / "cmdline.mounts").read_text().split()
    assert fields[:3] == [f"{work}/run1.h5", f"{work}/mnt0", "fuse.h5mount"]
    assert "ro" in fields[3].split(",")
    assert (work / "cmdline.ls").read_text().split() == ["g", "x", "x.attrs"]
    assert (work / "cmdline.cat").read_text() == "hello"
    assert result("cmdline_u")[0] == 0

    # mount -a: the `nofail` line mounts, the `noauto,user` line is skipped.
    assert result("fstab_a") == (0, "")
    lines = (work / "fstab_a.mounts").read_text().splitlines()
    assert len(lines) == 1
    fields = lines[0].split()
    assert fields[1:3] == [f"{work}/mnt1", "fuse.h5mount"]
    assert {"ro", "allow_other"} <= set(fields[3].split(","))
    assert (work / "fstab_a.ls").read_text().split() == ["g", "x", "x.attrs"]
    # ... and mounts by its mount point; `user` implies nosuid,nodev,noexec.
    assert result("fstab_user") == (0, "")
    fields = (work / "fstab_user.mounts").read_text().split()
    assert fields[1:3] == [f"{work}/mnt2", "fuse.h5mount"]
    assert {"ro", "nosuid", "nodev", "noexec"} <= set(fields[3].split(","))
    assert (work / "fstab_user.ls").read_text().split() == ["g", "x", "x.attrs"]
    assert result("fstab_u1")[0] == 0 and result("fstab_u2")[0] == 0
    assert (work / "after.mounts").read_text() == ""


def test_mount_helper_options_are_accepted(h5mount_bin, fuse_ready, tmp_path):
    """What mount(8) and mount.fuse3 pass on (dev,suid as root; fstab bookkeeping
    such as defaults, users, x-*) mounts instead of being a usage error."""
    container = tmp_path / "c.h5"
    with h5py.File(container, "w") as f:
        f["x"] = np.arange(4)
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    options = "ro,dev,suid,defaults,users,nofail,_netdev,noauto,user=root,x-systemd.automount,comment=x"
    mount = mounting.start_mount(h5mount_bin, container, mnt, ["-o", options], foreground=False,
                                  log_dir=tmp_path / "logs")
    try:
        assert sorted(os.listdir(mnt)) == ["x", "x.attrs"]
        fields = mounting.mount_entry(str(mnt.resolve()))
        assert fields is not None
    finally:
        mounting.stop_mount(mount)
    assert not mounting.is_mounted(str(mnt.resolve()))
    bad = run([h5mount_bin, str(container), str(mnt), "-o", "ro,bogus"])
    assert bad.returncode == 2 and "unknown mount option 'bogus'" in bad.stderr


@pytest.fixture
def small_container(tmp_path) -> Path:
    path = tmp_path / "small.h5"
    with h5py.File(path, "w") as f:
        f["x"] = np.arange(4)
    return path


@pytest.mark.parametrize("foreground", [False, True])
def test_mkdir_creates_and_removes_the_mount_point(h5mount_bin, fuse_ready, small_container,
                                                   tmp_path, foreground):
    mnt = tmp_path / "new-mnt"
    assert not mnt.exists()
    mount = mounting.start_mount(h5mount_bin, small_container, mnt, ["-o", "ro,mkdir"],
                                 foreground=foreground, log_dir=tmp_path / "logs")
    try:
        assert mounting.is_fuse_mounted(str(mnt))
        assert sorted(os.listdir(mnt)) == ["x", "x.attrs"]
        if not foreground:
            # -u waits for the daemon, which removes the directory on exit.
            done = run([h5mount_bin, "-u", str(mnt)])
            assert done.returncode == 0, done.stderr
            assert not mnt.exists()
    finally:
        problems = mounting.stop_mount(mount)
    assert problems == []
    # A foreground daemon (stop_mount waited for it) removes it too.
    assert not mnt.exists()


def test_mkdir_keeps_an_existing_mount_point(h5mount_bin, fuse_ready, small_container, tmp_path):
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    mount = mounting.start_mount(h5mount_bin, small_container, mnt, ["-o", "ro,mkdir"],
                                 foreground=False, log_dir=tmp_path / "logs")
    try:
        assert sorted(os.listdir(mnt)) == ["x", "x.attrs"]
    finally:
        mounting.stop_mount(mount)
    assert mnt.is_dir()


def test_mkdir_removes_the_mount_point_when_the_mount_fails(h5mount_bin, fuse_ready, small_container,
                                                            tmp_path):
    not_hdf5 = tmp_path / "notes.h5"
    not_hdf5.write_text("not an HDF5 file\n" * 10)
    mnt = tmp_path / "new-mnt"
    done = run([h5mount_bin, str(not_hdf5), str(mnt), "-o", "ro,mkdir"])
    assert done.returncode == 3, done.stderr
    assert not mnt.exists()
    # Without -o mkdir a missing mount point is an error (exit 5) and stays missing.
    done = run([h5mount_bin, str(small_container), str(mnt), "-o", "ro"])
    assert done.returncode == 5, done.stderr
    assert not mnt.exists()


FUSE_UNAVAILABLE_SCRIPT = r"""
set -u
binary=$1; container=$2; mnt=$3; keep=$4
# This namespace's /dev: a tmpfs with /dev/null only (the real one stays reachable in $keep).
mount --rbind /dev "$keep" && mount -t tmpfs tmpfs /dev && touch /dev/null \
    && mount --bind "$keep/null" /dev/null || exit 99
"$binary" "$container" "$mnt" -o ro; echo "missing $?"
# A /dev/fuse that opens but is no FUSE device: the kernel refuses the mount.
touch /dev/fuse && mount --bind "$keep/null" /dev/fuse || exit 99
"$binary" "$container" "$mnt" -o ro; echo "refused $?"
"""


def test_fuse_unavailable_exits_6(h5mount_bin, namespace_ready, small_container, tmp_path):
    """Exit 6 when there is no /dev/fuse, or the kernel refuses the mount (a private mount
    namespace whose /dev lacks the device)."""
    (tmp_path / "mnt").mkdir()
    (tmp_path / "dev").mkdir()
    done = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", FUSE_UNAVAILABLE_SCRIPT,
                           "script", h5mount_bin, str(small_container), str(tmp_path / "mnt"), str(tmp_path / "dev")],
                          capture_output=True, text=True, timeout=120)
    assert done.stdout.split("\n")[:2] == ["missing 6", "refused 6"], (done.stdout, done.stderr)
    assert "h5mount: /dev/fuse: No such file or directory (is the fuse module loaded? try: modprobe fuse)" \
        in done.stderr, done.stderr
    assert f"h5mount: {tmp_path / 'mnt'}: mount failed" in done.stderr, done.stderr
    assert not mounting.is_mounted(str(tmp_path / "mnt"))


def test_info_reports_without_mounting(h5mount_bin, tmp_path):
    import hdf5plugin

    with h5py.File(tmp_path / "src_a.h5", "w") as f:
        f["d"] = np.arange(5)
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f["x"] = np.arange(3)
    container = tmp_path / "info.h5"
    with h5py.File(container, "w") as f:
        f.create_dataset("z", data=np.arange(1000), chunks=(100,), compression="gzip", shuffle=True)
        f.create_dataset("zz", data=np.arange(1000), chunks=(100,), compression="gzip")
        f.create_dataset("b", data=np.arange(1000), chunks=(100,), **hdf5plugin.Blosc())
        g = f.create_group("g")
        g["s"] = np.arange(3)
        g["hard"] = f["z"]
        g["soft"] = h5py.SoftLink("/z")
        f["ext_ok"] = h5py.ExternalLink("other.h5", "/x")
        f["ext_missing"] = h5py.ExternalLink("nope.h5", "/x")
        f["ext_noobj"] = h5py.ExternalLink("other.h5", "/nothere")
        layout = h5py.VirtualLayout(shape=(2, 5), dtype="i8")
        layout[0] = h5py.VirtualSource("src_a.h5", "d", shape=(5,))
        layout[1] = h5py.VirtualSource("src_missing.h5", "d", shape=(5,))
        f.create_virtual_dataset("v", layout, fillvalue=-1)
    before = container.read_bytes()
    done = run([h5mount_bin, "--info", str(container)])
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"container: {container}"
    assert "objects: 2 groups, 5 datasets, 0 named datatypes" in lines
    # b, g, g/s, g/hard, v, z, zz are hard links; g/hard is z again (counted once).
    assert "links: 7 hard, 1 soft, 3 external, 0 other" in lines
    assert "filters: 3" in lines
    assert "  filter deflate (1): 2 datasets, native" in lines
    assert "  filter shuffle (2): 1 dataset, native" in lines
    assert any(l.startswith("  filter ") and "(32001): 1 dataset, libhdf5" in l for l in lines)
    assert "virtual datasets: 1 (1 missing source)" in lines
    assert "    source src_a.h5: present" in lines
    assert "    source src_missing.h5: missing" in lines
    assert "external links: 3 (2 not resolving)" in lines
    assert "  /ext_ok -> other.h5:/x: resolves" in lines
    assert "  /ext_missing -> nope.h5:/x: missing file" in lines
    assert "  /ext_noobj -> other.h5:/nothere: missing object" in lines
    # Read-only: the container is untouched and nothing was left next to it.
    assert container.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["info.h5", "other.h5", "src_a.h5"]


def test_info_errors(h5mount_bin, tmp_path):
    notes = tmp_path / "notes.h5"
    notes.write_text("plain text\n" * 10)
    done = run([h5mount_bin, "--info", str(notes)])
    assert done.returncode == 3 and "not an HDF5 file" in done.stderr
    done = run([h5mount_bin, "--info", str(tmp_path / "missing.h5")])
    assert done.returncode == 4 and "No such file or directory" in done.stderr
    done = run([h5mount_bin, "--info", str(notes), str(tmp_path)])
    assert done.returncode == 2
