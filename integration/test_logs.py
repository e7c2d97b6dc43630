"""Logs (issue 5, item 5; docs/mounting.md "Logs"): a foreground daemon logs to stderr, a
background one to syslog; -d / -o debug adds one line per request; every EIO a user gets
has one log line that names the object and the cause.

The unreadable object: a dataset compressed with Zstandard (filter 32015), which h5mount
does not decode itself and libhdf5 cannot without hdf5plugin's plugin directory.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import subprocess
import sys
import time

import h5py
import hdf5plugin
import numpy as np
import pytest

import mounting

MiB = 1 << 20

SYSLOG_SCRIPT = r"""
# Runs in a private mount namespace (unshare --mount): /dev is replaced by a tmpfs holding
# the few devices the test needs and a /dev/log socket of our own, so the daemon's
# syslog(3) lines arrive here. Nothing outside the namespace sees any of it.
import json, os, socket, subprocess, sys, time
binary, container, mnt, work = sys.argv[1:5]
real = os.path.join(work, "dev")
os.mkdir(real)
subprocess.run(["mount", "--rbind", "/dev", real], check=True)
subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=755", "tmpfs", "/dev"], check=True)
for name in ("fuse", "null", "zero", "full", "random", "urandom"):
    open("/dev/" + name, "w").close()
    subprocess.run(["mount", "--bind", os.path.join(real, name), "/dev/" + name], check=True)
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind("/dev/log")
sock.settimeout(0.2)
out = {}
mounted = subprocess.run([binary, container, mnt], capture_output=True, text=True, timeout=60)
out["mount"] = [mounted.returncode, mounted.stdout + mounted.stderr]
if mounted.returncode == 0:
    try:
        with open(os.path.join(mnt, "new"), "wb") as f:
            f.write(b"a change to commit")
        try:
            open(os.path.join(mnt, "bad"), "rb").read()
        except OSError as error:
            out["errno"] = error.errno
    finally:
        done = subprocess.run([binary, "-u", mnt], capture_output=True, text=True, timeout=60)
        out["unmount"] = [done.returncode, done.stdout + done.stderr]
lines = []
deadline = time.monotonic() + 1.0
while time.monotonic() < deadline:
    try:
        lines.append(sock.recv(65536).decode(errors="replace"))
    except socket.timeout:
        pass
out["syslog"] = lines
print(json.dumps(out))
"""


@pytest.fixture
def unreadable(tmp_path, monkeypatch):
    """A container with two datasets no reader here can decode, and one that reads."""
    monkeypatch.delenv("HDF5_PLUGIN_PATH", raising=False)
    path = tmp_path / "zstd.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("bad", data=np.arange(400_000, dtype="<i4"), chunks=(100_000,), **hdf5plugin.Zstd())
        f.create_dataset("worse", data=np.arange(1000, dtype="<f8"), chunks=(1000,), **hdf5plugin.Zstd())
        f["title"] = np.frombuffer(b"readable\n", dtype=np.uint8)
    return path


def log_lines(mnt, pattern: str) -> list[str]:
    return [line for line in mnt.stderr_text().splitlines() if re.search(pattern, line)]


def read_fails_with_eio(path) -> None:
    with pytest.raises(OSError) as caught:
        with open(path, "rb") as f:
            f.read()
    assert caught.value.errno == errno.EIO, repr(caught.value)


def test_every_eio_has_one_log_line_naming_the_object_and_the_cause(mounter, unreadable):
    mnt = mounter(unreadable, "-o", "ro")
    read_fails_with_eio(mnt / "bad")
    read_fails_with_eio(mnt / "worse")
    assert (mnt / "title").read_bytes() == b"readable\n"
    time.sleep(0.2)
    for name in ("bad", "worse"):
        lines = log_lines(mnt, rf"/{name}\b")
        assert len(lines) == 1, (name, mnt.stderr_text())
        assert lines[0].startswith("h5mount: READ "), lines[0]
        assert "a filter of this dataset is not available to libhdf5; see HDF5_PLUGIN_PATH" in lines[0], lines[0]
    # The same read two seconds later is a new failure for the user: it has its own line.
    time.sleep(2.1)
    read_fails_with_eio(mnt / "bad")
    time.sleep(0.2)
    assert len(log_lines(mnt, r"/bad\b")) == 2, mnt.stderr_text()
    assert mnt.process.poll() is None, "the daemon died"


@pytest.mark.parametrize("spelling", [["-d"], ["-o", "debug"]])
def test_debug_logs_one_line_per_request(mounter, unreadable, spelling):
    mnt = mounter(unreadable, "-o", "ro", *spelling)
    assert (mnt / "title").read_bytes() == b"readable\n"
    sorted(os.listdir(mnt.path))
    time.sleep(0.2)
    log = mnt.stderr_text()
    for request in (r"LOOKUP 1/title -> node \d+", r"OPEN \d+", r"READ \d+ offset 0 size \d+",
                    r"OPENDIR 1 -> handle \d+", r"READDIR(PLUS)? 1 offset 0 -> \d+ entries"):
        assert re.search(rf"^h5mount: {request}", log, re.MULTILINE), (request, log)


def test_without_debug_requests_are_not_logged(mounter, unreadable):
    mnt = mounter(unreadable, "-o", "ro")
    assert (mnt / "title").read_bytes() == b"readable\n"
    os.listdir(mnt.path)
    time.sleep(0.2)
    assert not log_lines(mnt, r"LOOKUP|OPENDIR|READ "), mnt.stderr_text()


def test_a_daemon_logs_to_syslog(h5mount_bin, fuse_ready, unreadable, tmp_path):
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("a private /dev/log needs root and unshare (a private mount namespace)")
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    try:
        done = subprocess.run(["unshare", "--mount", "--propagation", "private", sys.executable, "-c",
                               SYSLOG_SCRIPT, h5mount_bin, str(unreadable), str(mnt), str(tmp_path)],
                              capture_output=True, text=True, timeout=120)
    finally:
        # A daemon of the namespace that outlived the script (it should not).
        pid = mounting.find_daemon_pid(h5mount_bin, str(mnt))
        if pid is not None:
            os.kill(pid, 9)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["mount"] == [0, ""], out
    assert out.get("errno") == errno.EIO, out
    assert out["unmount"][0] == 0, out
    lines = out["syslog"]
    # <PRI>TIMESTAMP h5mount[PID]: MESSAGE; PRI = facility daemon (3) * 8 + severity.
    pattern = re.compile(r"^<(\d+)>\w{3} [ \d]\d \d\d:\d\d:\d\d h5mount\[(\d+)\]: (.*)$")
    parsed = [pattern.match(line) for line in lines]
    assert lines and all(parsed), lines
    messages = [(int(match[1]), match[3]) for match in parsed]
    assert len({match[2] for match in parsed}) == 1, "one daemon, one pid"
    eio = [text for priority, text in messages if priority == 3 * 8 + 3 and "/bad" in text]
    assert len(eio) == 1 and "HDF5_PLUGIN_PATH" in eio[0], messages
    container = os.path.realpath(unreadable)
    info = [text for priority, text in messages if priority == 3 * 8 + 6]
    assert f"committing {container}" in info and f"committed {container}" in info, messages
    with h5py.File(unreadable) as f:
        assert f["new"][()].tobytes() == b"a change to commit"
