#!/usr/bin/env python3
"""CPU per GB of streaming one dataset through h5mount builds, run back to back.

    .venv/bin/python bench/stream_cpu.py CONTAINER INNER_PATH RUNS BINARY [BINARY ...]   (as root)

Wall-clock figures on a shared 2-core machine swing by 2x with other processes' load;
CPU time barely does. For each run and each binary, in turn: the container is read into
the page cache, a fresh `BINARY CONTAINER MNT -o ro,cache_size=256M -f` mount streams
INNER_PATH with `cat`, and the line gives MB/s, the daemon's CPU seconds (utime + stime
of all its threads, /proc/PID/stat) and cat's, per GB streamed. The daemon's part is split
into decoding (its threads named `h5m-decode`, the chunk engine's workers) and the rest
(FUSE threads: requests, replies, the kernel's copy of each reply). A BINARY given as
`zeros` is the FUSE ceiling instead: `.build/bench/fuse_zeros` serving a file of zeros of
the dataset's size (read with h5py), streamed the same way. Always unmounts.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mounts  # noqa: E402

MiB = 1 << 20
ZEROS = Path(__file__).resolve().parent.parent / ".build" / "bench" / "fuse_zeros"


def decode_seconds(pid: int) -> float:
    """utime + stime of the daemon's decode workers (threads named h5m-decode); they live as
    long as the engine, so none is missed by summing the live ones."""
    total = 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/comm") as f:
                if f.read().strip() != "h5m-decode":
                    continue
            with open(f"/proc/{pid}/task/{task}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def dataset_bytes(container: Path, inner: str) -> int:
    import h5py   # only for the ceiling's file size
    with h5py.File(container, "r") as f:
        d = f[inner]
        return int(d.size) * d.dtype.itemsize


def warm(path: Path) -> None:
    with open(path, "rb", buffering=0) as f:
        while f.read(MiB):
            pass


def main(argv: list[str]) -> int:
    if len(argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    container, inner, runs, binaries = Path(argv[0]), argv[1], int(argv[2]), argv[3:]
    work = Path(tempfile.mkdtemp(prefix="stream-cpu-"))
    mnt = work / "mnt"
    mnt.mkdir()
    try:
        zeros_size = dataset_bytes(container, inner) if "zeros" in binaries else 0
        for run in range(runs):
            for binary in binaries:
                warm(container)
                if binary == "zeros":
                    argv, target = [str(ZEROS), str(mnt), str(zeros_size)], mnt / "zeros"
                else:
                    argv = [binary, str(container), str(mnt), "-o", "ro,cache_size=268435456", "-f"]
                    target = mnt / inner
                with mounts.Mount(argv, mnt, work / "mount.log") as m:
                    size = os.stat(target).st_size
                    daemon0 = mounts.cpu_seconds(m.pid)
                    decode0 = decode_seconds(m.pid)
                    children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
                    t0 = time.perf_counter()
                    subprocess.run(["cat", str(target)], stdout=subprocess.DEVNULL, check=True)
                    seconds = time.perf_counter() - t0
                    children1 = resource.getrusage(resource.RUSAGE_CHILDREN)
                    daemon = mounts.cpu_seconds(m.pid) - daemon0
                    decode = decode_seconds(m.pid) - decode0
                cat = (children1.ru_utime + children1.ru_stime) - (children0.ru_utime + children0.ru_stime)
                gb = size / 1e9
                print(f"run {run + 1} {binary}: {size / seconds / 1e6:,.0f} MB/s, daemon {daemon / gb:.2f} "
                      f"CPU-s/GB (decode {decode / gb:.2f}, rest {(daemon - decode) / gb:.2f}), "
                      f"cat {cat / gb:.2f} CPU-s/GB, cores busy {(daemon + cat) / seconds:.2f}", flush=True)
    finally:
        mounts.cleanup_all()
        if not mounts.mounted_at(mnt):
            import shutil
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
