#!/usr/bin/env python3
"""make bench: h5mount against its peers and against the FUSE ceiling, in one run.

    bench.py [--quick] [--runs N] [--data DIR] [--cache-size 256M] [--only GROUPS]

Generates the containers (bench/datasets.py) once, then measures each figure --runs times
(at least 3 for a real run) and prints medians in a table: figure | h5mount | peer |
ratio (h5mount/peer) | target | met, then "targets met: N of M". See bench/README.md.

Method, the same for both sides of every row:
- "cold": the page cache is dropped (sync; echo 3 > /proc/sys/vm/drop_caches) before each
  run of either side; without root it cannot be, so both sides read the container once
  first instead ("warm"), and the header says so.
- "container warm": the container file is read into the page cache first (both sides); used
  where the peer is the FUSE ceiling, which serves memory, so that disk speed is not measured.
- Every h5mount run is a fresh mount (h5mount -f, -o ro,cache_size=...), so neither the
  daemon's chunk cache nor the mount's page cache carries over from a previous run;
  every h5py run is a fresh process.
- Streaming is `cat FILE > /dev/null` in a subprocess, timed with time.perf_counter around
  it; h5py is `ds[()]` timed inside its own process (bench/h5py_peer.py).
- Packing ("write"): a copy of the Python standard library (datasets.ensure_source_tree)
  packed by `h5mount C MNT; cp -a TREE MNT/; h5mount -u MNT` into a new container, timed
  from before the mount to after -u, against bench/h5zip.py (the seed's h5zip, timed inside
  its process) at the same gzip level; the tree is read once and `sync` run before each run
  of either side (bench/packing.py).
"""

from __future__ import annotations

import argparse
import atexit
import datetime
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import datasets  # noqa: E402
import mounts  # noqa: E402
import packing  # noqa: E402
from datasets import Container  # noqa: E402

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
MiB = 1 << 20


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def parse_bytes(text: str) -> int:
    units = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    text = text.strip().upper().removesuffix("B").removesuffix("I")
    suffix = text[-1] if text and text[-1] in units else ""
    return int(float(text[: len(text) - len(suffix)]) * units[suffix])


# ---------------------------------------------------------------- the table


@dataclass
class Row:
    figure: str
    mine: float | None                 # h5mount's value (median)
    peer: float | None                 # the peer's value (median)
    unit: str                          # how both values print: "MB/s", "ms", "us", "s", "MiB"
    target: str = ""                   # what is asked, as printed
    met: bool | None = None            # None: no target on this row
    notes: list[str] = field(default_factory=list)
    mine_text: str = ""                # printed instead of `mine` when set (rows with no h5mount side)
    peer_text: str = ""                # printed instead of `peer` when set (rows with no peer)

    @property
    def ratio(self) -> float | None:
        if self.mine is None or self.peer is None or self.peer == 0:
            return None
        return self.mine / self.peer


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "n/a"
    if unit == "MB/s":
        return f"{value / 1e6:,.0f} MB/s"
    if unit == "ms":
        return f"{value * 1e3:,.2f} ms"
    if unit == "us":
        return f"{value * 1e6:,.0f} us"
    if unit == "s":
        return f"{value:,.3f} s"
    if unit == "MiB":
        return f"{value / MiB:,.0f} MiB"
    if unit == "B":
        return f"{value:,.0f} B"
    return f"{value:g} {unit}"


def print_table(rows: list[Row], out=sys.stdout) -> None:
    header = ("figure", "h5mount", "peer", "ratio", "target", "met")
    cells = [header]
    for r in rows:
        ratio = "-" if r.ratio is None else f"{r.ratio:.2f}"
        met = "-" if r.met is None and not r.target else ("yes" if r.met else "NO")
        cells.append((r.figure, r.mine_text or fmt(r.mine, r.unit), r.peer_text or fmt(r.peer, r.unit), ratio, r.target or "-", met))
    widths = [max(len(c[i]) for c in cells) for i in range(len(header))]
    for n, c in enumerate(cells):
        line = " | ".join(c[i].ljust(widths[i]) if i == 0 else c[i].rjust(widths[i]) for i in range(len(c)))
        print(line.rstrip(), file=out)
        if n == 0:
            print("-+-".join("-" * w for w in widths), file=out)
    targets = [r for r in rows if r.target]
    print(f"targets met: {sum(1 for r in targets if r.met)} of {len(targets)}", file=out)
    notes = [(r.figure, note) for r in rows for note in r.notes]
    for figure, note in notes:
        print(f"  note ({figure}): {note}", file=out)


def median(values: list[float]) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


# ---------------------------------------------------------------- page cache


class PageCache:
    """Drops the page cache as root; otherwise warms what both sides read."""

    def __init__(self) -> None:
        self.can_drop = os.geteuid() == 0 and os.access("/proc/sys/vm/drop_caches", os.W_OK)

    @property
    def cold_mode(self) -> str:
        return "cold (page cache dropped before every run of either side)" if self.can_drop else \
            "WARM (not root: cannot drop the page cache, so both sides read the container once first)"

    def cold(self, files: list[Path]) -> None:
        if self.can_drop:
            os.sync()
            with open("/proc/sys/vm/drop_caches", "w") as f:
                f.write("3\n")
        else:
            self.warm(files)

    @staticmethod
    def warm(files: list[Path]) -> None:
        for path in files:
            with open(path, "rb", buffering=0) as f:
                while f.read(MiB):
                    pass


# ---------------------------------------------------------------- the harness


GROUPS = ("stream", "random", "first", "frame", "tree", "write", "vds")


class Bench:
    def __init__(self, args, data: datasets.DataSet | None, source: datasets.SourceTree | None, work: Path,
                 data_dir: Path | None = None):
        self.args = args
        self.data_dir = data_dir or work / "data"   # where derived containers (the VDS) are generated
        self.data = data                # the read figures' containers (None: none selected)
        self.source = source            # the write figures' tree (None: not selected)
        self.work = work
        self.runs = args.runs
        self.cache_bytes = parse_bytes(args.cache_size)
        self.cache = PageCache()
        self.mountpoint = work / "mnt"
        self.mountpoint.mkdir(exist_ok=True)
        self.python = sys.executable
        self.ceiling_cold: list[float] = []   # seconds per run of cat zeros (size of the detector stack)
        self.ceiling_warm: list[float] = []   # second cat of the same mount: page cache
        self.ceiling_ready: list[float] = []
        self.failures: dict[str, str] = {}    # h5mount measurements that failed: what -> first line
        self.scale = datasets.QUICK if args.quick else datasets.FULL

    # -- processes

    def h5mount(self, container: Path) -> mounts.Mount:
        argv = [str(self.args.h5mount), str(container), str(self.mountpoint),
                "-o", f"ro,cache_size={self.cache_bytes}", "-f"]
        return mounts.Mount(argv, self.mountpoint, self.work / "h5mount.log")

    def zeros(self, size: int) -> mounts.Mount:
        argv = [str(self.args.zeros), str(self.mountpoint), str(size)]
        return mounts.Mount(argv, self.mountpoint, self.work / "fuse_zeros.log")

    def peer(self, command: str, *args: str) -> dict:
        import json
        r = subprocess.run([self.python, str(BENCH_DIR / "h5py_peer.py"), command, *args],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"h5py_peer {command} failed:\n{r.stderr[-2000:]}")
        return json.loads(r.stdout)

    @staticmethod
    def timed(argv: list[str], timeout: float = 900) -> float:
        """Wall time of a command with its output discarded; a hung read (a daemon bug)
        ends in TimeoutExpired rather than a harness that never returns."""
        t0 = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, check=True, timeout=timeout)
        return time.perf_counter() - t0

    def h5mount_side(self, what: str, function):
        """Runs one h5mount measurement; a failure (no binary yet, a crash) becomes None
        and a note, so the peers are still measured and printed."""
        try:
            return function()
        except (mounts.MountError, OSError, subprocess.SubprocessError) as error:
            log(f"h5mount side of '{what}' failed: {error}")
            self.failures.setdefault(what, str(error).splitlines()[0][:160])
            return None

    # -- figures

    def ceiling(self) -> None:
        size = self.data.gzip.nbytes
        for run in range(self.runs):
            self.cache.cold([])
            with self.zeros(size) as m:
                self.ceiling_ready.append(m.ready_seconds)
                path = m.mountpoint / "zeros"
                self.ceiling_cold.append(self.timed(["cat", str(path)]))
                self.ceiling_warm.append(self.timed(["cat", str(path)]))
            log(f"ceiling run {run + 1}: {size / self.ceiling_cold[-1] / 1e6:,.0f} MB/s, "
                f"second read {size / self.ceiling_warm[-1] / 1e6:,.0f} MB/s")

    def ceiling_rate(self) -> float | None:
        t = median(self.ceiling_cold)
        return None if t is None else self.data.gzip.nbytes / t

    def stream_once(self, c: Container, run: int, warm_container: bool, second: bool = False,
                    files: list[Path] | None = None) -> dict | None:
        """h5mount: cat of the dataset's file on a fresh mount; None if h5mount failed.
        `files`: what the read touches (a VDS's sources too), default the container."""
        def one():
            if warm_container:
                self.cache.warm(files or [c.path])
            else:
                self.cache.cold(files or [c.path])
            with self.h5mount(c.path) as m:
                path = m.mountpoint / c.inner
                out = {"seconds": self.timed(["cat", str(path)]), "hwm": mounts.vm_hwm(m.pid)}
                if second:
                    _, w0 = mounts.io_bytes(m.pid)
                    out["second"] = self.timed(["cat", str(path)])
                    _, w1 = mounts.io_bytes(m.pid)
                    out["served"] = w1 - w0
                return out
        out = self.h5mount_side(f"stream {c.path.name}", one)
        if out is not None:
            log(f"h5mount cat {c.path.name} ({'container warm' if warm_container else 'cold'}) run {run + 1}: "
                f"{c.nbytes / out['seconds'] / 1e6:,.0f} MB/s, VmHWM {out['hwm'] / MiB:,.0f} MiB"
                + (f", second read {c.nbytes / out['second'] / 1e6:,.0f} MB/s, daemon wrote {out['served']:,} bytes"
                   if second else ""))
        return out

    def h5py_once(self, c: Container, run: int, files: list[Path] | None = None) -> dict:
        self.cache.cold(files or [c.path])
        out = self.peer("read-all", str(c.path), c.dataset)
        log(f"h5py ds[()] {c.path.name} run {run + 1}: {c.nbytes / out['seconds'] / 1e6:,.0f} MB/s")
        return out

    def dd_once(self, c: Container, run: int) -> float:
        """Throughput of dd bs=1M over the whole .h5 file, bytes/s."""
        self.cache.cold([c.path])
        size = c.path.stat().st_size
        rate = size / self.timed(["dd", f"if={c.path}", "of=/dev/null", "bs=1M", "status=none"])
        log(f"dd {c.path.name} run {run + 1}: {rate / 1e6:,.0f} MB/s")
        return rate

    def streaming(self, rows: list[Row]) -> None:
        ceiling = self.ceiling_rate()
        d = self.data
        label = {"seed": f"seed {d.seed.shape[0]}x512x512 gzip-4", "gzip": "detector gzip-4",
                 "bslz4": "detector bslz4", "none": "detector uncompressed"}
        for key, c, ceiling_target, h5py_target in (
                ("seed", d.seed, 0.70, 2.0), ("gzip", d.gzip, 0.70, 2.0),
                ("bslz4", d.bslz4, 0.80, None), ("none", d.none, 0.80, None)):
            # One run of every side after the other, then the next run, so that load
            # drifting on a shared machine hits both sides alike.
            cold, warm, peer, dd = [], [], [], []
            for run in range(self.runs):
                cold.append(self.stream_once(c, run, warm_container=False))
                peer.append(self.h5py_once(c, run))
                if key == "none":
                    dd.append(self.dd_once(c, run))
                warm.append(self.stream_once(c, run, warm_container=True, second=(key == "gzip")))
            cold = [r for r in cold if r]
            warm = [r for r in warm if r]
            size = f"{c.nbytes / 1e9:.2f} GB"
            mine = rate(c.nbytes, median([r["seconds"] for r in cold]))
            theirs = rate(c.nbytes, median([r["seconds"] for r in peer]))
            row = Row(f"stream {label[key]} ({size}): cat vs h5py ds[()], cold", mine, theirs, "MB/s")
            if h5py_target:
                row.target, row.met = f">= {h5py_target:.2f}", ratio_at_least(row.ratio, h5py_target)
            rows.append(row)
            if key == "none":
                rows.append(Row(f"stream {label[key]}: cat vs dd bs=1M of the .h5 file, cold", mine,
                                median(dd), "MB/s"))
            mine_warm = rate(c.nbytes, median([r["seconds"] for r in warm]))
            rows.append(Row(f"stream {label[key]}, container warm: cat vs FUSE ceiling", mine_warm, ceiling,
                            "MB/s", f">= {ceiling_target:.2f}",
                            ratio_at_least(none_div(mine_warm, ceiling), ceiling_target)))
            if key == "gzip":
                self.second_read_row(rows, c, warm)
                self.rss_row(rows, c, [r["hwm"] for r in warm + cold], [r["peak_rss"] for r in peer])

    def vds_stream(self, rows: list[Row]) -> None:
        """The virtual dataset over 4 gzip source files (datasets.ensure_vds): cat of the VDS's
        file vs h5py ds[()] of the same VDS, cold; and container (all 5 files) warm vs the
        FUSE ceiling. Same method and targets as the gzip detector stack's rows."""
        c, files = datasets.ensure_vds(self.data_dir, self.data.gzip, log=log)
        cold, warm, peer = [], [], []
        for run in range(self.runs):
            cold.append(self.stream_once(c, run, warm_container=False, files=files))
            peer.append(self.h5py_once(c, run, files=files))
            warm.append(self.stream_once(c, run, warm_container=True, files=files))
        cold = [r for r in cold if r]
        warm = [r for r in warm if r]
        mine = rate(c.nbytes, median([r["seconds"] for r in cold]))
        theirs = rate(c.nbytes, median([r["seconds"] for r in peer]))
        label = f"VDS over {len(files) - 1} gzip-4 files ({c.nbytes / 1e9:.2f} GB)"
        rows.append(Row(f"stream {label}: cat vs h5py ds[()], cold", mine, theirs, "MB/s", ">= 2.00",
                        ratio_at_least(none_div(mine, theirs), 2.0)))
        mine_warm = rate(c.nbytes, median([r["seconds"] for r in warm]))
        ceiling = self.ceiling_rate()
        rows.append(Row(f"stream {label}, container warm: cat vs FUSE ceiling", mine_warm, ceiling, "MB/s",
                        ">= 0.70", ratio_at_least(none_div(mine_warm, ceiling), 0.70)))

    def second_read_row(self, rows: list[Row], c: Container, warm: list[dict]) -> None:
        mine = rate(c.nbytes, median([r["second"] for r in warm]))
        ceiling = rate(self.data.gzip.nbytes, median(self.ceiling_warm))
        served = median([r["served"] for r in warm])
        row = Row("second read, same mount (page cache) vs ceiling's second read", mine, ceiling, "MB/s",
                  "daemon idle")
        if served is not None:
            # Served by the page cache: the daemon replied with (almost) no bytes.
            row.met = served < c.nbytes / 100
            row.notes.append(f"daemon wrote {served / 1e6:,.1f} MB to /dev/fuse during the second read "
                             f"(target: < 1% of {c.nbytes / 1e6:,.0f} MB)")
        rows.append(row)

    def rss_row(self, rows: list[Row], c: Container, hwm: list[int], peer_rss: list[int]) -> None:
        budget = self.cache_bytes + 64 * MiB
        peak = max(hwm) if hwm else None
        row = Row(f"peak RSS streaming {c.nbytes / 2**30:.2f} GiB (VmHWM) vs h5py ds[()]", peak,
                  max(peer_rss) if peer_rss else None, "MiB",
                  f"<= {budget / MiB:,.0f} MiB", None if peak is None else peak <= budget)
        row.notes.append(f"cache_size={self.cache_bytes / MiB:,.0f} MiB; h5mount figure is the highest VmHWM "
                         f"over {len(hwm)} mounts; h5py's holds the whole array")
        rows.append(row)

    def random_latency(self, rows: list[Row]) -> None:
        c = self.data.seed
        n = self.args.random_reads or self.scale.random_reads
        rng = np.random.default_rng(4096)
        itemsize = np.dtype(c.dtype).itemsize
        mine_med, mine_p99, peer_med, peer_p99, served = [], [], [], [], []
        for run in range(self.runs):
            offsets = rng.integers(0, c.nbytes // 4096, n) * 4096
            coords = np.stack(np.unravel_index(offsets // itemsize, c.shape), axis=1)
            coords_path = self.work / "coords.npy"
            np.save(coords_path, coords)

            def one():
                self.cache.cold([c.path])
                with self.h5mount(c.path) as m:
                    fd = os.open(m.mountpoint / c.inner, os.O_RDONLY)
                    try:
                        _, w0 = mounts.io_bytes(m.pid)
                        clock = time.perf_counter_ns
                        lat = np.empty(n, dtype=np.int64)
                        for i, off in enumerate(offsets.tolist()):
                            t0 = clock()
                            os.pread(fd, 4096, off)
                            lat[i] = clock() - t0
                        _, w1 = mounts.io_bytes(m.pid)
                    finally:
                        os.close(fd)
                return float(np.median(lat)) / 1e9, float(np.percentile(lat, 99)) / 1e9, w1 - w0
            out = self.h5mount_side("random reads", one)
            if out:
                mine_med.append(out[0])
                mine_p99.append(out[1])
                served.append(out[2])
            self.cache.cold([c.path])
            theirs = self.peer("random", str(c.path), c.dataset, str(coords_path))
            peer_med.append(theirs["median"])
            peer_p99.append(theirs["p99"])
            log(f"random 4 KiB run {run + 1}: h5mount "
                + (f"{out[0] * 1e6:,.0f}/{out[1] * 1e6:,.0f} us" if out else "n/a")
                + f", h5py element {theirs['median'] * 1e6:,.0f}/{theirs['p99'] * 1e6:,.0f} us (median/p99)")
        what = f"{n:,} reads, seed stack, cold"
        rows.append(Row(f"random 4 KiB pread vs h5py one element, median ({what})",
                        median(mine_med), median(peer_med), "us"))
        p99 = Row("random 4 KiB pread vs h5py one element, p99", median(mine_p99), median(peer_p99), "us")
        if served:
            # More than n x 4 KiB would mean the kernel read ahead around the random reads
            # (later reads then hit the page cache, not the daemon).
            p99.notes.append(f"the daemon sent {median(served) / 1e6:,.1f} MB to the kernel for {n:,} reads "
                             f"of 4 KiB ({n * 4096 / 1e6:,.1f} MB asked); h5mount's chunk cache holds "
                             f"{self.cache_bytes / MiB:,.0f} MiB, h5py's default 1 MiB")
        rows.append(p99)

    def first_read(self, rows: list[Row]) -> None:
        c = self.data.gzip
        ready, first, peer = [], [], []
        for run in range(self.runs):
            def one():
                self.cache.cold([c.path])
                with self.h5mount(c.path) as m:
                    t0 = time.perf_counter()
                    fd = os.open(m.mountpoint / c.inner, os.O_RDONLY)
                    try:
                        os.pread(fd, 4096, 0)
                    finally:
                        os.close(fd)
                    return m.ready_seconds, time.perf_counter() - t0
            out = self.h5mount_side("first read", one)
            if out:
                ready.append(out[0])
                first.append(out[1])
            self.cache.cold([c.path])
            peer.append(self.peer("first-read", str(c.path), c.dataset)["seconds"])
            log(f"first read run {run + 1}: h5mount "
                + (f"ready {out[0] * 1e3:,.1f} ms, first 4 KiB {out[1] * 1e3:,.2f} ms" if out else "n/a")
                + f"; h5py open + first 4 KiB {peer[-1] * 1e3:,.2f} ms")
        rows.append(Row("first 4 KiB after mount (open+pread) vs h5py File()+ds[0,0,:2048], cold",
                        median(first), median(peer), "ms"))
        rows.append(Row("mount until ready (start -> root stat) vs fuse_zeros", median(ready),
                        median(self.ceiling_ready), "ms"))

    def frame_read(self, rows: list[Row]) -> None:
        """One frame of the gzip detector stack through `-o frames` (NAME.frames/NNNNNN.raw,
        open + read of the whole file on a fresh mount) vs h5py File() + ds[i], both cold.
        A different frame each run, from the middle of the stack."""
        c = self.data.gzip
        mine, peer = [], []
        for run in range(self.runs):
            index = c.shape[0] // 2 + run
            def one():
                self.cache.cold([c.path])
                argv = [str(self.args.h5mount), str(c.path), str(self.mountpoint),
                        "-o", f"ro,frames,cache_size={self.cache_bytes}", "-f"]
                with mounts.Mount(argv, self.mountpoint, self.work / "h5mount.log") as m:
                    frame = m.mountpoint / f"{c.inner}.frames" / f"{index:06d}.raw"
                    t0 = time.perf_counter()
                    with open(frame, "rb", buffering=0) as f:
                        while f.read(MiB):
                            pass
                    return time.perf_counter() - t0
            out = self.h5mount_side("frame read", one)
            if out is not None:
                mine.append(out)
            self.cache.cold([c.path])
            peer.append(self.peer("frame", str(c.path), c.dataset, str(index))["seconds"])
            log(f"frame read run {run + 1}: h5mount " + (f"{out * 1e3:,.1f} ms" if out is not None else "n/a")
                + f"; h5py {peer[-1] * 1e3:,.1f} ms")
        frame_mb = c.nbytes / c.shape[0] / 1e6
        rows.append(Row(f"one {frame_mb:,.1f} MB frame: NAME.frames/NNNNNN.raw (open+read) vs h5py File()+ds[i], cold",
                        median(mine), median(peer), "ms"))

    def tree(self, rows: list[Row]) -> None:
        tree = self.data.tree
        results = {"find": [], "ls -lR": [], "h5ls -r": []}
        for run in range(self.runs):
            for tool, argv in (("find", ["find"]), ("ls -lR", ["ls", "-lR"])):
                def one():
                    self.cache.cold([tree])
                    with self.h5mount(tree) as m:
                        return self.timed(argv + [str(m.mountpoint)])
                t = self.h5mount_side(tool, one)
                if t is not None:
                    results[tool].append(t)
            self.cache.cold([tree])
            results["h5ls -r"].append(self.timed(["h5ls", "-r", str(tree)]))
            log(f"tree run {run + 1}: " + ", ".join(f"{k} {v[-1] * 1e3:,.1f} ms" for k, v in results.items() if v))
        peer = median(results["h5ls -r"])
        files = self.tree_count()
        for tool in ("find", "ls -lR"):
            mine = median(results[tool])
            row = Row(f"{tool} of the tree container ({files:,} files) vs h5ls -r, cold", mine, peer, "ms",
                      "<= 1.00", ratio_at_most(none_div(mine, peer), 1.0))
            rows.append(row)

    def write(self, rows: list[Row]) -> None:
        """Packing a tree into a new container, h5mount (cp -a + h5mount -u, its default
        gzip:6) against h5zip at gzip 6; sizes against tar czf; the round trip."""
        tree, level = self.source, 6
        files = tree.regular_files()
        mine, peer, floor, compressing, stored = [], [], [], [], []
        for run in range(self.runs):
            container = self.work / f"packed-{run}.h5"

            def one():
                self.prepare_pack(files)
                out = packing.pack_h5mount(self.args.h5mount, tree.path, container, self.mountpoint)
                out["size"] = container.stat().st_size
                with self.h5mount(container) as m:   # -o ro, a fresh mount
                    copy = m.mountpoint / tree.path.name
                    out["diff"] = packing.diff_tree(tree.path, copy)
                    out["metadata"] = packing.metadata_mismatches(tree.path, copy)
                return out
            try:
                out = self.h5mount_side("pack tree", one)
            finally:
                remove(container, container.with_name(container.name + ".h5mount-work"))
            if out is not None:
                mine.append(out)
                log(f"pack run {run + 1}: h5mount {out['seconds']:,.2f} s (mount {out['mount']:,.2f}, cp -a "
                    f"{out['copy']:,.2f}, -u {out['unmount']:,.2f}), {out['size']:,} bytes, diff -r "
                    f"{len(out['diff'])} lines, metadata mismatches {len(out['metadata'])}")

            theirs_path = self.work / f"h5zip-{run}.h5"
            try:
                self.prepare_pack(files)
                theirs = packing.pack_h5zip(self.python, tree.path, theirs_path, level)
                theirs["size"] = theirs_path.stat().st_size
            finally:
                remove(theirs_path)
            peer.append(theirs)
            log(f"pack run {run + 1}: h5zip gzip-{level} {theirs['seconds']:,.2f} s "
                f"(process {theirs['wall']:,.2f} s), {theirs['size']:,} bytes")

            self.prepare_pack(files)
            sunk = packing.copy_into_sink(self.args.sink, tree.path, self.mountpoint, self.work / "fuse_sink.log")
            floor.append(sunk)
            log(f"pack run {run + 1}: cp -a into fuse_sink {sunk['seconds']:,.2f} s (CPU: cp "
                f"{sunk['cp_cpu']:,.2f} s, fuse_sink {sunk['sink_cpu']:,.2f} s)")

            # The packing floors: compressed and dropped, then compressed and stored as datasets.
            for results, floor_h5 in ((compressing, None), (stored, self.work / f"floor-{run}.h5")):
                try:
                    self.prepare_pack(files)
                    sunk = packing.copy_into_compressing_sink(self.args.sink, tree.path, self.mountpoint,
                                                              self.work / "fuse_sink.log", level, hdf5=floor_h5)
                    sunk["size"] = floor_h5.stat().st_size if floor_h5 else None
                finally:
                    if floor_h5:
                        remove(floor_h5)
                results.append(sunk)
                log(f"pack run {run + 1}: cp -a into fuse_sink --deflate={level}{' --hdf5' if floor_h5 else ''} + "
                    f"unmount {sunk['seconds']:,.2f} s (cp -a {sunk['copy']:,.2f}, unmount {sunk['unmount']:,.2f}; "
                    f"CPU: cp {sunk['cp_cpu']:,.2f} s, fuse_sink {sunk['sink_cpu']:,.2f} s)"
                    + (f", {sunk['size']:,} bytes" if floor_h5 else ""))

        archive = self.work / "tree.tar.gz"
        try:
            self.prepare_pack(files)
            tar_seconds = packing.tar_czf(tree.path, archive)
            tar_size = archive.stat().st_size
        finally:
            remove(archive)
        log(f"tar czf: {tar_seconds:,.2f} s, {tar_size:,} bytes")

        what = f"{tree.files:,} files, {tree.nbytes / 1e6:,.0f} MB"
        seconds = median([r["seconds"] for r in mine])
        row = Row(f"pack tree ({what}): cp -a + h5mount -u vs h5zip gzip-{level}", seconds,
                  median([r["seconds"] for r in peer]), "s", "<= 0.50")
        row.met = ratio_at_most(row.ratio, 0.50)
        if mine:
            def step(key: str) -> float | None:
                return median([r[key] for r in mine])
            daemon = step("daemon_cpu")
            row.notes.append(f"h5mount steps (medians): mount {step('mount'):,.2f} s, cp -a {step('copy'):,.2f} s, "
                             f"h5mount -u (commit, fsync included) {step('unmount'):,.2f} s; CPU: cp "
                             f"{step('cp_cpu'):,.2f} s, daemon until -u "
                             + ("n/a" if daemon is None else f"{daemon:,.2f} s"))
        last = peer[-1]
        row.notes.append(f"h5zip timed from File() to its close, no fsync; its whole process (interpreter start, "
                         f"imports) took {median([r['wall'] for r in peer]):,.2f} s, CPU "
                         f"{median([r['cpu'] for r in peer]):,.2f} s; it packed {last['files']:,} files, "
                         f"{last['groups']:,} groups"
                         + (f", skipped {last['skipped']} symbolic links or special files" if last["skipped"] else ""))
        rows.append(row)

        def floor_row(title: str, runs: list[dict], what: str) -> Row:
            """A floor of packing: its runs' median seconds against h5zip's, and the CPU of cp
            and of the sink after `what` it is."""
            row = Row(f"{title} vs h5zip gzip-{level}", median([r["seconds"] for r in runs]),
                      median([r["seconds"] for r in peer]), "s")
            row.notes.append(f"{what}; CPU: cp {median([r['cp_cpu'] for r in runs]):,.2f} s, fuse_sink "
                             f"{median([r['sink_cpu'] for r in runs]):,.2f} s (bench/fuse_sink.c)")
            return row

        rows.append(floor_row("FUSE floor: cp -a into fuse_sink (metadata kept, bytes dropped)", floor,
                              "what any FUSE filesystem pays to receive the tree from cp -a here"))
        rows.append(floor_row(f"packing floor: cp -a into fuse_sink --deflate={level} + unmount", compressing,
                              f"the FUSE floor plus libdeflate level {level} on every byte, 1 MiB pieces on one "
                              f"thread per core, output dropped (no HDF5, no spool file)"))
        rows.append(floor_row(f"HDF5 packing floor: fuse_sink --deflate={level} --hdf5 + unmount", stored,
                              f"the packing floor plus libhdf5: each file a dataset made as h5mount makes it, the "
                              f"file closed and fsync'd at the end (bench/sink_store.h), "
                              f"{median([r['size'] for r in stored]):,.0f} bytes; no journal, no spool file"))

        size = median([r["size"] for r in mine])
        row = Row("container size (h5mount, gzip 6) vs tar czf", size, tar_size, "B", "<= 1.10")
        row.met = ratio_at_most(row.ratio, 1.10)
        row.notes.append(f"tar czf took {tar_seconds:,.2f} s (one run)")
        rows.append(row)
        rows.append(Row(f"container size vs h5zip gzip-{level} container", size,
                        median([r["size"] for r in peer]), "B"))

        if mine:
            worst = max(mine, key=lambda r: len(r["diff"]))
            row = Row("round trip: mount -o ro, diff -r vs the tree (mismatched files, worst run)",
                      len(worst["diff"]), None, "files", "0", len(worst["diff"]) == 0, peer_text="-")
            row.notes.extend(f"diff: {line}" for line in worst["diff"][:5])
            meta = max(mine, key=lambda r: len(r["metadata"]))["metadata"]
            row.notes.append(f"mode, owner, mtime mismatches (informational): {len(meta)}"
                             + (": " + "; ".join(meta[:5]) if meta else ""))
        else:
            row = Row("round trip: mount -o ro, diff -r vs the tree (mismatched files, worst run)",
                      None, None, "files", "0", False, peer_text="-")
        rows.append(row)

    def prepare_pack(self, files: list[Path]) -> None:
        """Both sides start alike: the tree in the page cache, nothing dirty left to write."""
        self.cache.warm(files)
        os.sync()

    def tree_count(self) -> int:
        import h5py
        count = 0

        def visit(_name, obj):
            nonlocal count
            if isinstance(obj, h5py.Dataset):
                count += 1
        with h5py.File(self.data.tree, "r") as f:
            f.visititems(visit)
        return count


def remove(*paths: Path) -> None:
    """Removes files or directories the harness made; missing ones are fine."""
    import shutil
    for path in paths:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        elif path.exists() or path.is_symlink():
            path.unlink()


def rate(nbytes: int, seconds: float | None) -> float | None:
    return None if seconds is None or seconds <= 0 else nbytes / seconds


def none_div(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def ratio_at_least(ratio: float | None, target: float) -> bool | None:
    return False if ratio is None else ratio >= target


def ratio_at_most(ratio: float | None, target: float) -> bool | None:
    return False if ratio is None else ratio <= target


# ---------------------------------------------------------------- setup


def build_c_filesystem(binary: Path, source: Path) -> None:
    """Compiles one of the peer filesystems (fuse_zeros, fuse_sink) when missing or older
    than its source (make bench does the same; this keeps bench.py runnable on its own)."""
    newest = max(source.stat().st_mtime, (BENCH_DIR / "fuse_peer.h").stat().st_mtime,
                 (BENCH_DIR / "sink_store.h").stat().st_mtime)
    if binary.exists() and binary.stat().st_mtime >= newest:
        return
    binary.parent.mkdir(parents=True, exist_ok=True)
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "fuse3", "libdeflate", "hdf5"], check=True,
                           stdout=subprocess.PIPE, text=True).stdout.split()
    log(f"building {binary}")
    subprocess.run(["cc", "-O2", "-Wall", "-o", str(binary), str(source), *flags, "-lpthread"], check=True)


def git_describe() -> str:
    r = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL, text=True)
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout.strip()
    return (r.stdout.strip() or "unknown") + ("+dirty" if dirty else "")


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description="h5mount benchmark (make bench)")
    p.add_argument("--quick", action="store_true", help="small data (50 frames, ...) to check the harness")
    p.add_argument("--runs", type=int, default=3, help="runs per figure; medians are printed (default 3)")
    p.add_argument("--data", type=Path, default=os.environ.get("H5MOUNT_BENCH_DATA"),
                   help="keep generated containers here (default $H5MOUNT_BENCH_DATA, else a temporary "
                        "directory removed at the end)")
    p.add_argument("--cache-size", default="256M", help="h5mount -o cache_size= (default 256M)")
    p.add_argument("--h5mount", type=Path, default=ROOT / ".build" / "release" / "h5mount")
    p.add_argument("--zeros", type=Path, default=ROOT / ".build" / "bench" / "fuse_zeros")
    p.add_argument("--sink", type=Path, default=ROOT / ".build" / "bench" / "fuse_sink")
    p.add_argument("--random-reads", type=int, default=0, help="reads per random-latency run")
    p.add_argument("--only", default="", help="comma list of: " + ", ".join(GROUPS) + " (default all)")
    args = p.parse_args(argv)
    only = set(filter(None, args.only.split(","))) or set(GROUPS)
    if only - set(GROUPS):
        p.error(f"--only: unknown {', '.join(sorted(only - set(GROUPS)))} (choose from {', '.join(GROUPS)})")
    if args.runs < 3:
        log(f"--runs {args.runs}: fewer than 3 runs, the medians are not the benchmark's")

    work = Path(tempfile.mkdtemp(prefix="h5mount-bench-"))
    atexit.register(mounts.cleanup_all)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGHUP, lambda *_: sys.exit(129))
    try:
        build_c_filesystem(args.zeros, BENCH_DIR / "fuse_zeros.c")
        if "write" in only:
            build_c_filesystem(args.sink, BENCH_DIR / "fuse_sink.c")
        if not args.h5mount.exists():
            log(f"{args.h5mount} not found (swift build -c release); the h5mount column will say n/a")
        scale = datasets.QUICK if args.quick else datasets.FULL
        data_dir = args.data.resolve() if args.data else work / "data"
        t0 = time.perf_counter()
        # Only what the selected figures read is generated.
        data = datasets.ensure(data_dir, scale, log=log) if only - {"write"} else None
        source = datasets.ensure_source_tree(data_dir, args.quick, log=log) if "write" in only else None
        log(f"data ready in {data_dir} ({time.perf_counter() - t0:,.0f} s)")

        bench = Bench(args, data, source, work, data_dir=data_dir)
        rows: list[Row] = []
        t0 = time.perf_counter()
        if only & {"stream", "first", "vds"}:   # the ceiling is their peer
            bench.ceiling()
            rows.append(Row(f"FUSE ceiling: cat zeros ({data.gzip.nbytes / 1e9:.2f} GB) from fuse_zeros",
                            None, bench.ceiling_rate(), "MB/s", mine_text="-"))
        if "stream" in only:
            bench.streaming(rows)
        if "random" in only:
            bench.random_latency(rows)
        if "first" in only:
            bench.first_read(rows)
        if "frame" in only:
            bench.frame_read(rows)
        if "vds" in only:
            bench.vds_stream(rows)
        if "tree" in only:
            bench.tree(rows)
        if "write" in only:
            bench.write(rows)
        elapsed = time.perf_counter() - t0

        print(f"h5mount bench — {datetime.datetime.now().isoformat(timespec='seconds')}, commit {git_describe()}, "
              f"{platform.node()} ({os.cpu_count()} cores, Linux {platform.release()})")
        print(f"runs per figure: {args.runs} (medians); {'quick data' if args.quick else 'full data'}; "
              f"measured in {elapsed:,.0f} s")
        if data is not None:
            print(f"reading: page cache {bench.cache.cold_mode}; h5mount -o ro,cache_size={args.cache_size}; "
                  f"streaming = cat FILE > /dev/null")
        if source is not None:
            print(f"packing: {source.path} ({source.files:,} files, {source.directories:,} directories, "
                  f"{source.symlinks:,} symbolic links, {source.nbytes / 1e6:,.1f} MB); h5mount CONTAINER MNT "
                  f"(daemon, default -o compression=gzip:6), cp -a, h5mount -u; page cache: the tree read "
                  f"once and sync before every run of either side")
        print_table(rows)
        for what, error in bench.failures.items():
            print(f"  h5mount failed ({what}): {error}")
        return 0
    finally:
        mounts.cleanup_all()
        # Remove the work directory only once nothing is mounted below it.
        if not mounts.mounted_at(work / "mnt"):
            import shutil
            shutil.rmtree(work, ignore_errors=True)
        else:
            log(f"{work / 'mnt'} is still mounted; leaving {work} in place")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
