"""`-o swmr`: following a file an h5py SWMR writer appends frames to (docs/mounting.md,
"Following a SWMR writer"), and the refusal of such a file without the option."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

import mounting

HERE = Path(__file__).resolve().parent
EXIT_CONTAINER = 4
H, W = 64, 64
FRAME_BYTES = H * W * 2
# The default refresh interval with -o swmr (the kernel's attribute timeout too).
INTERVAL = 1.0
# What a loaded 2-core machine adds on top of the interval.
SLACK = 3.0


class Writer:
    """The SWMR writer (integration/swmr_writer.py) in a child process; always stopped."""

    def __init__(self, path: Path, **options):
        args = [sys.executable, str(HERE / "swmr_writer.py"), str(path)]
        for key, value in options.items():
            args += [f"--{key.replace('_', '-')}", str(value)]
        self.process = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        text=True)
        self.path = path
        self.expect("ready")
        # When each frame was flushed (monotonic), from the writer's "frame i" lines.
        self.written: dict[int, float] = {}
        self.finished = threading.Event()
        threading.Thread(target=self._record, daemon=True).start()

    def _record(self) -> None:
        for line in self.process.stdout:
            word, _, number = line.strip().partition(" ")
            if word == "frame":
                self.written[int(number)] = time.monotonic()
            elif word == "done":
                self.finished.set()
        self.finished.set()

    def expect_done(self, timeout: float = 60) -> None:
        assert self.finished.wait(timeout), f"the writer did not finish in {timeout} s"

    def expect(self, word: str, timeout: float = 60) -> None:
        """Reads lines up to `word`: only before the recording thread starts ("ready")."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line:
                raise AssertionError(f"the writer exited before '{word}'")
            if line.strip() == word:
                return
        raise AssertionError(f"no '{word}' from the writer in {timeout} s")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def writer(tmp_path):
    made: list[Writer] = []

    def start(**options) -> Writer:
        made.append(Writer(tmp_path / "live.h5", **options))
        return made[-1]

    try:
        yield start
    finally:
        for w in made:
            w.stop()


def frame(i: int) -> np.ndarray:
    return np.full((H, W), i, dtype="<u2")


def read_frames(path: Path, first: int, last: int) -> list[np.ndarray]:
    with open(path, "rb") as f:
        f.seek(first * FRAME_BYTES)
        data = f.read((last - first) * FRAME_BYTES)
    assert len(data) == (last - first) * FRAME_BYTES
    return list(np.frombuffer(data, dtype="<u2").reshape(-1, H, W))


def test_following_a_growing_dataset(mounter, writer):
    frames = 40
    live = writer(frames=frames, period=0.1)
    mnt = mounter(live.path, "-o", "swmr")
    data = mnt / "frames"
    seen, sizes, lags, shapes = 0, set(), [], []
    deadline = time.monotonic() + frames * 0.1 + 30
    while seen < frames and time.monotonic() < deadline:
        size = os.stat(data).st_size
        sizes.add(size)
        assert size % FRAME_BYTES == 0
        now = size // FRAME_BYTES
        if now > seen:
            seen_at = time.monotonic()
            lags += [seen_at - live.written[i] for i in range(seen, now) if i in live.written]
            # Every frame as it appears is the writer's, never a stale or fill chunk.
            for i, got in enumerate(read_frames(data, seen, now), start=seen):
                assert np.array_equal(got, frame(i)), f"frame {i}"
            seen = now
        # The sidecar's shape follows too, never going back.
        shapes.append(json.loads((mnt / "frames.attrs").read_text())["shape"])
        assert shapes[-1][1:] == [H, W] and shapes[-1][0] >= (shapes[-2][0] if len(shapes) > 1 else 0)
        time.sleep(0.05)
    assert seen == frames, f"saw {seen} of {frames} frames"
    assert len(sizes) >= 3, f"the size grew in steps while following: {sorted(sizes)}"
    assert len({s[0] for s in shapes}) >= 3, f"the sidecar's shape grew in steps: {shapes}"
    # A flushed frame shows in stat within the refresh interval (the attribute timeout).
    print(f"swmr lag from flush to stat: max {max(lags):.2f} s, median {sorted(lags)[len(lags) // 2]:.2f} s")
    assert max(lags) <= INTERVAL + SLACK, f"a frame took {max(lags):.2f} s to show"
    time.sleep(INTERVAL + 0.2)
    side = json.loads((mnt / "frames.attrs").read_text())
    assert side["shape"] == [frames, H, W]
    assert side["maxshape"] == [None, H, W]
    whole = np.fromfile(data, dtype=side["dtype"]).reshape(side["shape"])
    assert all(np.array_equal(whole[i], frame(i)) for i in range(frames))


def test_a_shorter_interval_shows_frames_sooner(mounter, writer):
    frames = 20
    live = writer(frames=frames, period=0.1)
    mnt = mounter(live.path, "-o", "swmr,swmr_interval=0.2")
    lags, seen = [], 0
    deadline = time.monotonic() + frames * 0.1 + 30
    while seen < frames and time.monotonic() < deadline:
        now = os.stat(mnt / "frames").st_size // FRAME_BYTES
        lags += [time.monotonic() - live.written[i] for i in range(seen, now) if i in live.written]
        seen = max(seen, now)
        time.sleep(0.02)
    assert seen == frames
    print(f"swmr_interval=0.2 lag: max {max(lags):.2f} s, median {sorted(lags)[len(lags) // 2]:.2f} s")
    assert sorted(lags)[len(lags) // 2] <= 0.2 + 0.5


def test_tail_follows_new_frames(mounter, writer, tmp_path):
    frames, skip = 30, 5
    live = writer(frames=frames, period=0.1)
    mnt = mounter(live.path, "-o", "swmr")
    # tail -c +N on a file shorter than N starts following from its end, not from N.
    deadline = time.monotonic() + INTERVAL + SLACK + skip * 0.1
    while os.stat(mnt / "frames").st_size < skip * FRAME_BYTES and time.monotonic() < deadline:
        time.sleep(0.05)
    assert os.stat(mnt / "frames").st_size >= skip * FRAME_BYTES
    out = tmp_path / "tail.out"
    with open(out, "wb") as sink:
        tail = subprocess.Popen(["tail", "-c", f"+{skip * FRAME_BYTES + 1}", "-f", str(mnt / "frames")],
                                stdout=sink, stderr=subprocess.DEVNULL)
        try:
            live.expect_done()
            want = (frames - skip) * FRAME_BYTES
            deadline = time.monotonic() + INTERVAL + SLACK + 2  # tail polls once a second
            while out.stat().st_size < want and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            tail.terminate()
            tail.wait(timeout=10)
    got = np.fromfile(out, dtype="<u2")
    assert got.size * 2 == (frames - skip) * FRAME_BYTES, f"tail gave {got.size * 2} bytes"
    got = got.reshape(-1, H, W)
    assert all(np.array_equal(got[k], frame(skip + k)) for k in range(frames - skip))


@pytest.mark.parametrize("options", [[], ["-o", "ro"]], ids=["default", "ro"])
def test_a_file_being_written_is_refused_without_swmr(h5mount_bin, fuse_ready, writer, tmp_path, options):
    live = writer(frames=2, period=0.0)
    live.expect_done()
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    try:
        result = subprocess.run([h5mount_bin, *options, "live.h5", "mnt"], cwd=tmp_path, stdin=subprocess.DEVNULL,
                                capture_output=True, text=True, timeout=60)
    finally:
        real = os.path.realpath(mnt)
        if mounting.is_mounted(real):
            mounting.stop_mount(mounting.Mount(binary=h5mount_bin, container="?", path=real, foreground=False,
                                               log=Path("/dev/null"), pid=mounting.find_daemon_pid(h5mount_bin, real)))
    assert result.returncode == EXIT_CONTAINER, result.stderr
    assert result.stderr.startswith("h5mount: live.h5: open for writing by another process (a SWMR writer): "
                                    "mount with -o swmr to follow it"), result.stderr
    assert not mounting.is_mounted(os.path.realpath(mnt))
    # With the option the same file mounts, read-only.
    follow = subprocess.run([h5mount_bin, "-o", "swmr", "live.h5", "mnt"], cwd=tmp_path, stdin=subprocess.DEVNULL,
                            capture_output=True, text=True, timeout=60)
    try:
        assert follow.returncode == 0, follow.stderr
        assert os.stat(mnt / "frames").st_size == 2 * FRAME_BYTES
        with pytest.raises(OSError):
            open(mnt / "frames", "r+b")
    finally:
        subprocess.run([h5mount_bin, "-u", "mnt"], cwd=tmp_path, timeout=60)


def test_swmr_on_a_file_nobody_writes(mounter, tmp_path):
    # Any HDF5 file opens as a SWMR reader, whatever its format: it just never grows.
    path = tmp_path / "plain.h5"
    data = np.arange(3 * H * W, dtype="<i4").reshape(3, H, W)
    with h5py.File(path, "w") as f:
        f.create_dataset("stack", data=data, chunks=(1, H, W), compression="gzip")
        f["text"] = "hello"
    mnt = mounter(path, "-o", "swmr")
    assert np.array_equal(np.fromfile(mnt / "stack", dtype="<i4").reshape(3, H, W), data)
    assert (mnt / "text").read_text() == "hello\n"
    with pytest.raises(OSError) as refused:
        (mnt / "new").write_bytes(b"x")
    assert refused.value.errno == errno.EROFS


def test_views_follow_the_dataset(mounter, writer):
    # -o npy and -o frames views made while the dataset was short grow with it.
    frames = 12
    live = writer(frames=frames, period=0.1)
    mnt = mounter(live.path, "-o", "swmr,npy,frames,swmr_interval=0.3")
    early = os.stat(mnt / "frames.npy").st_size
    early_frames = len([n for n in os.listdir(mnt / "frames.frames") if n.endswith(".raw")])
    live.expect_done()
    time.sleep(0.3 + 0.5)
    assert early_frames < frames
    assert os.stat(mnt / "frames.npy").st_size > early
    stack = np.load(mnt / "frames.npy", mmap_mode="r")
    assert stack.shape == (frames, H, W)
    assert all(np.array_equal(stack[i], frame(i)) for i in range(frames))
    names = sorted(n for n in os.listdir(mnt / "frames.frames") if n.endswith(".raw"))
    assert len(names) == frames
    last = np.fromfile(mnt / "frames.frames" / names[-1], dtype="<u2").reshape(H, W)
    assert np.array_equal(last, frame(frames - 1))
