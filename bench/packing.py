"""The write figures' steps: pack a tree through a writable mount, check it came back,
pack it the peers' ways (bench/h5zip.py, tar czf). bench.py times and tabulates them.
"""

from __future__ import annotations

import json
import os
import resource
import stat
import subprocess
import time
from pathlib import Path

import mounts

BENCH_DIR = Path(__file__).resolve().parent


def pack_h5mount(h5mount: Path, tree: Path, container: Path, mountpoint: Path) -> dict:
    """What a user does: `h5mount CONTAINER MNT` (daemon mode, default options: gzip:6,
    a new container is created), `cp -a TREE MNT/`, `h5mount -u MNT` (returns after the
    commit). Seconds from before the mount to after -u, and each step's share; CPU
    seconds of cp and of the daemon until -u (where the time goes). The mount is always
    undone, also when a step fails."""
    if container.exists():
        raise FileExistsError(f"{container} exists; each run packs into a new container")
    m = mounts.DaemonMount(h5mount, container, mountpoint)
    t0 = time.perf_counter()
    m.mount()
    try:
        t1 = time.perf_counter()
        before = children_cpu()
        subprocess.run(["cp", "-a", str(tree), str(m.mountpoint) + "/"], check=True, timeout=900,
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        t2 = time.perf_counter()
        cp_cpu = children_cpu() - before
        daemon_cpu = None
        try:   # the bridge answers its pid on the root; gone once -u returns
            daemon_cpu = mounts.cpu_seconds(int(os.getxattr(m.mountpoint, "user.h5mount.pid")))
        except (OSError, ValueError):
            pass
        m.unmount()
        t3 = time.perf_counter()
    finally:
        m.stop()   # a no-op once -u succeeded
    return {"seconds": t3 - t0, "mount": t1 - t0, "copy": t2 - t1, "unmount": t3 - t2, "cp_cpu": cp_cpu,
            "daemon_cpu": daemon_cpu}


def copy_into_sink(sink: Path, tree: Path, mountpoint: Path, log_path: Path) -> dict:
    """The FUSE floor of packing: `cp -a TREE` into bench/fuse_sink.c, which keeps the
    tree's metadata and drops its bytes. Seconds of the copy alone (the sink has nothing
    to commit), CPU seconds of cp and of the sink."""
    with mounts.Mount([str(sink), str(mountpoint)], mountpoint, log_path) as m:
        before = children_cpu()
        t0 = time.perf_counter()
        subprocess.run(["cp", "-a", str(tree), str(m.mountpoint) + "/"], check=True, timeout=900,
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        seconds = time.perf_counter() - t0
        cp_cpu = children_cpu() - before
        sink_cpu = mounts.cpu_seconds(m.pid)
    return {"seconds": seconds, "cp_cpu": cp_cpu, "sink_cpu": sink_cpu}


def copy_into_compressing_sink(sink: Path, tree: Path, mountpoint: Path, log_path: Path, level: int,
                               hdf5: Path | None = None) -> dict:
    """The floor of packing with compression: `cp -a TREE` into `fuse_sink --deflate=LEVEL`,
    which compresses each closed file on one thread per core and drops the output (with
    `hdf5`: stores it there, a dataset per file, `--hdf5=FILE`), then unmount, which waits
    until every file is compressed (and the HDF5 file closed and fsync'd). Seconds of the
    copy and of copy + unmount; CPU seconds of cp and of the sink (once it has ended)."""
    argv = [str(sink), f"--deflate={level}"] + ([f"--hdf5={hdf5}"] if hdf5 else []) + [str(mountpoint)]
    m = mounts.Mount(argv, mountpoint, log_path)
    with m:
        before = children_cpu()
        t0 = time.perf_counter()
        subprocess.run(["cp", "-a", str(tree), str(m.mountpoint) + "/"], check=True, timeout=900,
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        t1 = time.perf_counter()
        cp_cpu = children_cpu() - before
        m.stop()
        t2 = time.perf_counter()
        if m.proc is None or m.proc.returncode != 0:
            raise RuntimeError(f"fuse_sink --deflate ended with {m.proc and m.proc.returncode}:\n" + m.log_tail())
        sink_cpu = children_cpu() - before - cp_cpu
    return {"seconds": t2 - t0, "copy": t1 - t0, "unmount": t2 - t1, "cp_cpu": cp_cpu, "sink_cpu": sink_cpu}


def children_cpu() -> float:
    """User + system seconds of the harness's finished children."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def diff_tree(tree: Path, copy: Path) -> list[str]:
    """`diff -r` of the tree and its copy (symbolic links compared as links): one line
    per file that differs or exists on one side only. Empty: the copy is exact."""
    r = subprocess.run(["diff", "-rq", "--no-dereference", str(tree), str(copy)], stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace", timeout=900)
    lines = r.stdout.splitlines()
    if r.returncode > 1:   # trouble (an unreadable file): each message counts as a mismatch
        lines += [f"diff: {line}" for line in r.stderr.splitlines()] or [f"diff exited with {r.returncode}"]
    return lines


def metadata_mismatches(tree: Path, copy: Path) -> list[str]:
    """What `cp -a` should carry besides content: type, permission bits, owner and
    mtime of every entry (symbolic links: type only; HDF5 keeps no times for them)."""
    out = []
    for dirpath, dirnames, filenames in os.walk(tree):
        for name in [""] + dirnames + filenames:
            source = Path(dirpath, name) if name else Path(dirpath)
            rel = source.relative_to(tree)
            try:
                a, b = source.lstat(), (copy / rel).lstat()
            except OSError as error:
                out.append(f"{rel}: {error.strerror}")
                continue
            if stat.S_IFMT(a.st_mode) != stat.S_IFMT(b.st_mode):
                out.append(f"{rel}: type {stat.S_IFMT(a.st_mode):o} -> {stat.S_IFMT(b.st_mode):o}")
            elif not stat.S_ISLNK(a.st_mode):
                for what, x, y in (("mode", f"{stat.S_IMODE(a.st_mode):o}", f"{stat.S_IMODE(b.st_mode):o}"),
                                   ("owner", f"{a.st_uid}:{a.st_gid}", f"{b.st_uid}:{b.st_gid}"),
                                   ("mtime", a.st_mtime_ns, b.st_mtime_ns)):
                    if x != y:
                        out.append(f"{rel}: {what} {x} -> {y}")
    return out


def pack_h5zip(python: str, tree: Path, container: Path, level: int) -> dict:
    """bench/h5zip.py in a fresh process: its own timing (open to close of the file, no
    interpreter start) plus `wall` and `cpu`, the whole process's."""
    t0, cpu = time.perf_counter(), children_cpu()
    r = subprocess.run([python, str(BENCH_DIR / "h5zip.py"), str(tree), str(container), str(level)],
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=1800)
    wall, cpu = time.perf_counter() - t0, children_cpu() - cpu
    if r.returncode != 0:
        raise RuntimeError(f"h5zip.py failed:\n{r.stderr[-2000:]}")
    out = json.loads(r.stdout)
    out["wall"], out["cpu"] = wall, cpu
    return out


def tar_czf(tree: Path, archive: Path) -> float:
    """`tar czf` of the tree (gzip's default level, 6), seconds."""
    t0 = time.perf_counter()
    subprocess.run(["tar", "czf", str(archive), "-C", str(tree.parent), tree.name], check=True, timeout=1800,
                   stdin=subprocess.DEVNULL)
    return time.perf_counter() - t0
