"""Progress of `h5mount -u` and `h5mount --recover` (issue 5, item 4; docs/write-path.md
"Progress of a commit"): a bar redrawn in place on a terminal, plain lines through pipes,
nothing with -q.

A commit of a few MiB takes well under a second on this machine's disk (1 GiB written just
before the unmount: 0.6 s), so the tests slow the commit's sync down with the test-only
variable H5MOUNT_TEST_SYNC_BYTES_PER_SECOND (a slow disk, as far as the commit can tell).
The daemon inherits it from the mounting process; --recover reads it itself.
"""

from __future__ import annotations

import fcntl
import os
import re
import select
import struct
import subprocess
import termios
import time

import pytest

import mounting
from mounting import run
from test_write import MiB, dump, expect, files_of, kill_mount, unmount_cli, write

pytestmark = pytest.mark.write_path

THROTTLE = "H5MOUNT_TEST_SYNC_BYTES_PER_SECOND"
ERASE = "\x1b[K"


def run_on_terminal(args: list[str], *, columns: int = 120, timeout: float = 120) -> tuple[int, str, float]:
    """Runs `args` with stdin, stdout and stderr on a new pseudo-terminal of `columns`
    columns; returns (exit status, everything it wrote, seconds it took)."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    started = time.monotonic()
    process = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
    os.close(slave)
    chunks: list[bytes] = []
    try:
        while time.monotonic() - started < timeout:
            ready, _, _ = select.select([master], [], [], 0.5)
            if not ready:
                if process.poll() is not None:
                    break
                continue
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: every writer of the terminal has closed it
                break
            if not data:
                break
            chunks.append(data)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        os.close(master)
    return process.returncode, b"".join(chunks).decode(errors="replace"), time.monotonic() - started


def slow_mount(mounter, monkeypatch, container, bytes_per_second: int, *options: str, foreground: bool = True):
    """A mount whose commit syncs at most `bytes_per_second` (the daemon inherits the variable)."""
    monkeypatch.setenv(THROTTLE, str(bytes_per_second))
    try:
        return mounter(container, "-o", "compression=none", *options, foreground=foreground)
    finally:
        monkeypatch.delenv(THROTTLE)


def fill(mnt, files: int, size: int = 8 * MiB) -> dict[str, bytes]:
    written = {f"/f{index}": os.urandom(size) for index in range(files)}
    for path, data in written.items():
        write(mnt / path.lstrip("/"), data)
    return written


def hand_back(mounter, mnt) -> None:
    """The mount is gone (unmounted by the test): the harness need not unmount it."""
    if mnt.process is not None:
        mnt.process.wait(timeout=60)
    mounter.mounts.remove(mnt)
    mounting.REGISTRY.remove(mnt)


def bar_frames(text: str) -> list[str]:
    """The lines a terminal showed in place: the text between a carriage return and an
    erase-to-end-of-line."""
    return [frame for frame in re.findall(r"\r([^\r\n]*?)\x1b\[K", text) if frame]


@pytest.mark.parametrize("options,foreground", [((), True), (("-o", "inplace"), True), ((), False)],
                         ids=["working-copy", "inplace", "daemon"])
def test_unmount_on_a_terminal_redraws_a_bar_and_ends_with_the_result(mounter, monkeypatch, tmp_path, options,
                                                                      foreground):
    """The commit's sync of the working copy (or, -o inplace, of the container itself), by a
    foreground daemon or a background one (which logs to syslog and has no terminal)."""
    container = tmp_path / "c.h5"
    mnt = slow_mount(mounter, monkeypatch, container, 8 * MiB, *options, foreground=foreground)
    files = fill(mnt, 3)
    code, text, seconds = run_on_terminal([mounter.binary, "-u", mnt.path])
    hand_back(mounter, mnt)
    resolved = os.path.realpath(container)
    assert code == 0, text
    assert seconds >= 2, f"the commit of 24 MiB at 8 MiB/s took only {seconds:.1f} s"
    frames = bar_frames(text)
    assert len(frames) >= 3, f"{len(frames)} redraws in {seconds:.1f} s: {text!r}"
    assert all(frame.startswith("committing c.h5") and len(frame) < 120 for frame in frames), frames
    synced = [frame for frame in frames if " written to disk" in frame]
    assert synced, frames
    assert any(re.search(r"MiB / \d+ MiB written to disk, 3 files, [\d.]+ MiB/s, \d+:\d\d left$", frame)
               for frame in synced), frames
    # The results on their own lines; the bar erased before the last one; nothing after it.
    assert text.startswith(f"committing {resolved}...\r\n"), text[:200]
    assert text.endswith(f"\r{ERASE}committed {resolved}\r\n"), text[-200:]
    assert files_of(dump(container)) == expect(files)


def test_unmount_through_pipes_prints_plain_lines(mounter, monkeypatch, tmp_path):
    container = tmp_path / "c.h5"
    mnt = slow_mount(mounter, monkeypatch, container, 2 * MiB)
    fill(mnt, 1, 12 * MiB)
    started = time.monotonic()
    result = unmount_cli(mounter, mnt)
    seconds = time.monotonic() - started
    resolved = os.path.realpath(container)
    assert result.stdout.splitlines() == [f"committing {resolved}...", f"committed {resolved}"], result.stdout
    lines = result.stderr.splitlines()
    # One line per 5 s of a commit of about 6 s.
    assert 1 <= len(lines) <= seconds / 5 + 1, (seconds, result.stderr)
    assert all(re.fullmatch(r"h5mount: committing c\.h5: [\d.]+ MiB / [\d.]+ MiB written to disk, 1 file"
                            r"(, [\d.]+ MiB/s, \d+:\d\d left)?", line) for line in lines), result.stderr
    assert "\r" not in result.stderr and "\x1b" not in result.stderr


def test_q_prints_nothing_even_on_a_terminal(mounter, monkeypatch, tmp_path):
    container = tmp_path / "c.h5"
    mnt = slow_mount(mounter, monkeypatch, container, 8 * MiB)
    files = fill(mnt, 2)
    code, text, seconds = run_on_terminal([mounter.binary, "-u", mnt.path, "-q"])
    hand_back(mounter, mnt)
    assert code == 0 and text == "", (code, text)
    assert seconds >= 1.5, "the commit was slow enough to have shown a bar"
    assert files_of(dump(container)) == expect(files)


def test_recover_on_a_terminal_shows_its_progress_and_quiet_prints_nothing(mounter, monkeypatch, tmp_path):
    container = tmp_path / "c.h5"
    mnt = mounter(container, "-o", "compression=none")
    files = fill(mnt, 3)
    kill_mount(mounter, mnt)
    monkeypatch.setenv(THROTTLE, str(8 * MiB))
    code, text, seconds = run_on_terminal([mounter.binary, "--recover", os.fspath(container)])
    resolved = os.path.realpath(container)
    assert code == 0, text
    frames = bar_frames(text)
    assert len(frames) >= 3 and all(frame.startswith("recovering c.h5") for frame in frames), (seconds, text)
    assert any("journal records replayed" in frame or "written to disk" in frame for frame in frames), frames
    assert re.search(rf"\r\x1b\[Krecovered {re.escape(resolved)}: 3 files restored, 0 lost, \d+ changes? replayed; "
                     r"committed\r\n$", text), text[-300:]
    assert files_of(dump(container)) == expect(files)

    # Again, quietly: a crashed session, recovered with -q through pipes and on a terminal.
    for on_terminal in (False, True):
        mnt = mounter(container, "-o", "compression=none")
        more = fill(mnt, 1)
        kill_mount(mounter, mnt)
        if on_terminal:
            code, text, _ = run_on_terminal([mounter.binary, "--recover", os.fspath(container), "-q"])
        else:
            result = run([mounter.binary, "--recover", os.fspath(container), "-q"], timeout=120)
            code, text = result.returncode, result.stdout + result.stderr
        assert code == 0 and text == "", (on_terminal, code, text)
        files |= more
    assert files_of(dump(container)) == expect(files)


def test_recover_through_pipes_prints_plain_lines(mounter, monkeypatch, tmp_path):
    container = tmp_path / "c.h5"
    mnt = mounter(container, "-o", "compression=none")
    files = fill(mnt, 1, 12 * MiB)
    kill_mount(mounter, mnt)
    monkeypatch.setenv(THROTTLE, str(2 * MiB))
    started = time.monotonic()
    result = run([mounter.binary, "--recover", os.fspath(container)], timeout=120)
    seconds = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    resolved = os.path.realpath(container)
    assert re.fullmatch(rf"recovered {re.escape(os.fspath(container))}: 1 file restored, 0 lost, \d+ changes? replayed; "
                        r"committed\n", result.stdout), result.stdout
    lines = result.stderr.splitlines()
    assert 1 <= len(lines) <= seconds / 5 + 1, (seconds, result.stderr)
    assert all(line.startswith("h5mount: recovering c.h5: ") for line in lines), result.stderr
    assert any(" written to disk" in line for line in lines), result.stderr
    assert "\r" not in result.stderr and "\x1b" not in result.stderr
    assert files_of(dump(resolved)) == expect(files)
