"""Shared fixtures of the integration tests: the binary, mounts that always unmount,
the corpus (integration/corpus.py) and the harness's own feature containers.

Environment:
  H5MOUNT_BIN            the h5mount binary (default: .build/debug/h5mount)
  H5MOUNT_TEST_TIMEOUT   seconds after which a test's daemons are killed (default 300)
  H5MOUNT_READY_TIMEOUT  seconds a mount may take to appear (default 30)
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import fixtures
import mounting

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TEST_TIMEOUT = float(os.environ.get("H5MOUNT_TEST_TIMEOUT", "300"))
CORPUS_TIMEOUT = 900


@pytest.fixture(scope="session")
def h5mount_bin() -> str:
    path = os.environ.get("H5MOUNT_BIN") or str(ROOT / ".build" / "debug" / "h5mount")
    path = os.path.abspath(path)
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.fail(f"h5mount binary not found at {path} (build it: make build, or set H5MOUNT_BIN)")
    return path


@pytest.fixture(scope="session")
def fuse_ready() -> None:
    """Mount tests need the FUSE device and fusermount3; without them they are skipped."""
    if not os.path.exists("/dev/fuse"):
        pytest.skip("/dev/fuse is missing: FUSE is not available on this machine")
    if shutil.which("fusermount3") is None:
        pytest.skip("fusermount3 is not installed (apt-get install fuse3)")


@pytest.fixture(autouse=True)
def _watchdog(request):
    """Kills this session's daemons if a test runs past H5MOUNT_TEST_TIMEOUT.

    A read blocked on a stuck daemon cannot be interrupted from Python; killing the
    daemon aborts the connection, the read fails (ENOTCONN), the test fails, and its
    teardown unmounts.
    """
    fired = []

    def fire():
        fired.append(mounting.REGISTRY.kill_all())

    timer = threading.Timer(TEST_TIMEOUT, fire)
    timer.daemon = True
    timer.start()
    yield
    timer.cancel()
    if fired:
        pytest.fail(f"test ran longer than {TEST_TIMEOUT:.0f} s; killed daemons {fired[0]}",
                    pytrace=False)


class Mounter:
    """Makes mounts for one test and unmounts all of them at its end."""

    def __init__(self, binary: str, base: Path):
        self.binary = binary
        self.base = base
        self.mounts: list[mounting.Mount] = []
        self.problems: list[str] = []
        self._count = 0

    def new_mountpoint(self) -> Path:
        self._count += 1
        path = self.base / f"mnt{self._count}"
        path.mkdir(parents=True)
        return path

    def __call__(self, container, *options: str, foreground: bool = True,
                 mountpoint=None) -> mounting.Mount:
        mnt = mountpoint if mountpoint is not None else self.new_mountpoint()
        try:
            mount = mounting.start_mount(self.binary, container, mnt, options,
                                         foreground=foreground, log_dir=self.base / "logs")
        except mounting.MountFailed as failure:
            message = str(failure)
        else:
            self.mounts.append(mount)
            return mount
        pytest.fail(message, pytrace=False)

    def unmount(self, mount: mounting.Mount) -> None:
        if mount in self.mounts:
            self.mounts.remove(mount)
            self.problems += mounting.stop_mount(mount)

    @contextlib.contextmanager
    def mounted(self, container, *options: str, foreground: bool = True):
        """`with mounter.mounted(c) as m:` for tests that walk many containers one by one."""
        mount = self(container, *options, foreground=foreground)
        try:
            yield mount
        finally:
            self.unmount(mount)

    def close(self) -> None:
        for mount in reversed(list(self.mounts)):
            self.unmount(mount)


@pytest.fixture
def mounter(h5mount_bin, fuse_ready, tmp_path):
    """Factory: `mounter(container, "-o", "ro")` mounts in the foreground and returns the
    Mount (usable as a path); `foreground=False` uses daemon mode. Always unmounts."""
    m = Mounter(h5mount_bin, tmp_path / "mounts")
    try:
        yield m
    finally:
        m.close()
    if m.problems:
        pytest.fail("unclean unmount: " + "; ".join(m.problems), pytrace=False)


@pytest.fixture(scope="session")
def corpus(tmp_path_factory) -> fixtures.Corpus:
    """The corpus: `integration/corpus.py OUTDIR`, run once per session."""
    script = HERE / "corpus.py"
    if not script.exists():
        pytest.fail(f"{script} is missing (the corpus generator has not landed yet)")
    out = tmp_path_factory.mktemp("corpus")
    try:
        result = subprocess.run([sys.executable, str(script), str(out)], stdin=subprocess.DEVNULL,
                                capture_output=True, text=True, timeout=CORPUS_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"corpus.py did not finish within {CORPUS_TIMEOUT} s")
    if result.returncode != 0:
        pytest.fail(f"corpus.py failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return fixtures.Corpus.scan(out)


@pytest.fixture(scope="session")
def features(tmp_path_factory) -> fixtures.Features:
    """The harness's own small containers, each made for one rule of docs/mapping.md."""
    return fixtures.build_features(tmp_path_factory.mktemp("features"))


@pytest.fixture(params=["features", "corpus"])
def containers(request) -> list[Path]:
    """Every good container of one source: the harness's own, or the corpus."""
    source = request.getfixturevalue(request.param)
    return source.good_containers
