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
    for heading in ("SYNOPSIS", "DESCRIPTION", "OPTIONS", "MAPPING", "EXIT STATUS", "FILES", "EXAMPLES"):
        assert f"\n{heading}\n" in done.stdout
    assert "fuse.h5mount" in done.stdout
