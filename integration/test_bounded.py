"""Bounded work for absurd but valid files (issue 3 item 3; docs/hdf5-store.md "Bounded
work"): huge sparse datasets, chunks whose stored size or decoded size is impossible,
decompression bombs, a group with a million links, groups inside their own subtree.
Fixtures come from integration/absurd.py; h5py is the oracle for what stays intact.
Each test's bound on time is its command timeouts (and the session watchdog), never a
timed assertion.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import time
import zlib
from pathlib import Path

import h5py
import numpy as np
import pytest

import absurd
import mounting
from test_write_stress import memory_status

HERE = Path(__file__).resolve().parent
CACHE = 16 << 20
# What the daemon holds besides its chunk cache: code, libhdf5 (its metadata cache capped
# at 8 MiB, docs/hdf5-store.md "Many links"), buffers, the node table of a small container.
# Measured 28-36 MiB peak in these tests (debug build).
OVERHEAD = 64 << 20
# A million links takes minutes to list on a busy 2-core machine (libhdf5 1.10.8's dense
# link iteration grows faster than linearly; docs/hdf5-store.md "Bounded work"), so the
# suite lists 200,000; H5MOUNT_MANY_LINKS=1000000 runs the full case.
LINKS = int(os.environ.get("H5MOUNT_MANY_LINKS", "200000"))
# Daemon memory per listed link: the group's listing, kept for the mount's life as a link
# block (about 24 bytes a link plus its 8-byte name), and no node per symbolic link, whatever
# the kernel holds. Before link blocks: ~1 KB a link (a node each, a listing per opendir).
PER_LINK = 40


def build(tmp_path_factory, kind, *extra) -> Path:
    path = tmp_path_factory.mktemp(kind) / f"{kind}.h5"
    subprocess.run([sys.executable, str(HERE / "absurd.py"), str(path), kind, *map(str, extra)],
                   check=True, timeout=300)
    return path


@pytest.fixture(scope="session")
def sparse(tmp_path_factory):
    return build(tmp_path_factory, "sparse")


@pytest.fixture(scope="session")
def chunks(tmp_path_factory):
    return build(tmp_path_factory, "chunks")


@pytest.fixture(scope="session")
def cycles(tmp_path_factory):
    return build(tmp_path_factory, "cycles")


@pytest.fixture(scope="session")
def many_links(tmp_path_factory):
    return build(tmp_path_factory, "links", LINKS)


def pread(path, offset, count) -> bytes:
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.pread(fd, count, offset)
    finally:
        os.close(fd)


def peak_rss(mnt) -> int:
    return memory_status(mnt.process.pid)["VmHWM"] * 1024


# ---------------------------------------------------------------- huge sparse datasets

def test_a_dataset_of_2_62_bytes_stats_its_size_and_reads_fill_values_anywhere(mounter, sparse):
    mnt = mounter(sparse, "-o", f"ro,cache_size={CACHE}")
    huge = mnt / "huge"
    assert os.stat(huge).st_size == 2**62
    assert pread(huge, 0, 8) == bytes([1, 2, 3, 4, 5, 7, 7, 7])
    assert pread(huge, 2**62 - 8, 8) == bytes([7, 7, 7, 0, 1, 2, 3, 4])
    assert pread(huge, 2**61 + 12345, 4096) == bytes([absurd.SPARSE_FILL]) * 4096
    assert pread(huge, 2**62, 8) == b"" and pread(huge, 2**62 + 5, 8) == b""
    # 64 MiB of fill read from the middle: served, and memory stays put.
    out = subprocess.run(["dd", f"if={huge}", "of=/dev/null", "bs=1M", "count=64", f"skip={2**41}"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "67108864 bytes" in out.stderr, out.stderr
    with h5py.File(sparse, "r") as f:
        assert pread(huge, 2**62 - 5, 5) == f["huge"][2**62 - 5:].tobytes()
    assert peak_rss(mnt) < CACHE + OVERHEAD, memory_status(mnt.process.pid)


def test_a_typed_dataset_of_2_62_bytes_has_its_sidecar_and_its_corner(mounter, sparse):
    mnt = mounter(sparse, "-o", "ro")
    square = mnt / "square"
    assert os.stat(square).st_size == 2**31 * 2**30 * 2
    sidecar = (mnt / "square.attrs").read_text()
    assert '"shape": [2147483648, 1073741824]' in sidecar and '"fillvalue": 3' in sidecar, sidecar
    assert pread(square, 0, 4) == np.array([3, 3], "<u2").tobytes()
    last_row = (2**31 - 1) * 2**30 * 2
    with h5py.File(sparse, "r") as f:
        want = f["square"][2**31 - 1, 2**30 - 4:].tobytes()
    assert pread(square, last_row + (2**30 - 4) * 2, 8) == want == np.array([3, 3, 9, 9], "<u2").tobytes()
    assert pread(mnt / "contiguous", 2**40 - 4, 8) == bytes(4)
    assert (mnt / "small").read_bytes() == np.arange(10, dtype="<i4").tobytes()


def test_a_dataset_beyond_the_largest_file_offset_answers_eio_and_says_why(mounter, sparse):
    """2**65 bytes cannot be a file's size: listed (empty), EIO to open, one log line."""
    mnt = mounter(sparse, "-o", "ro")
    assert "beyond" in os.listdir(mnt)
    assert os.stat(mnt / "beyond").st_size == 0
    with pytest.raises(OSError) as failure:
        (mnt / "beyond").read_bytes()
    assert failure.value.errno == errno.EIO
    time.sleep(0.2)
    lines = [line for line in mnt.stderr_text().splitlines() if "/beyond" in line]
    assert len(lines) == 1 and "overflows" in lines[0], mnt.stderr_text()
    assert os.stat(mnt / "huge").st_size == 2**62


# ---------------------------------------------------------------- impossible chunks, bombs

def test_impossible_chunks_and_bombs_answer_eio_with_one_line_each_in_bounded_memory(mounter, chunks):
    mnt = mounter(chunks, "-o", f"ro,cache_size={CACHE}")
    before = memory_status(mnt.process.pid)
    for name, what in absurd.DAMAGED.items():
        with pytest.raises(OSError) as failure:
            (mnt / name).read_bytes()
        assert failure.value.errno == errno.EIO, (name, what)
    with h5py.File(chunks, "r") as f:
        for name in absurd.INTACT:
            assert (mnt / name).read_bytes() == f[name][()].tobytes(), name
        # The damaged datasets' intact chunks still read as h5py reads them.
        assert pread(mnt / "bomb_gzip", absurd.CHUNK, absurd.CHUNK) == f["bomb_gzip"][absurd.CHUNK:2 * absurd.CHUNK].tobytes()
    time.sleep(0.3)
    log = mnt.stderr_text().splitlines()
    for name in absurd.DAMAGED:
        lines = [line for line in log if f": /{name}: " in line]
        assert len(lines) == 1, (name, log)
    assert "decodes to more than 65536 bytes" in "\n".join(log)
    assert "claims 1099511627776 decoded bytes" in "\n".join(log)
    # The gzip bomb inflates to 256 MiB: the decoder stops at the chunk's 64 KiB.
    assert peak_rss(mnt) < CACHE + OVERHEAD, (before, memory_status(mnt.process.pid))
    assert mnt.process.poll() is None


def test_the_bomb_is_a_bomb_for_libhdf5(chunks):
    """The fixture's own check: libhdf5 inflates the gzip bomb's whole stream (h5py then
    keeps the chunk's first 64 KiB), so the RSS bound above is about our decoder."""
    with h5py.File(chunks, "r") as f:
        index = f["bomb_gzip"].id
        info = index.get_chunk_info(0)
        raw = index.read_direct_chunk((0,))[1]
    assert info.size == len(raw) < 1 << 20
    assert len(zlib.decompress(raw)) == absurd.BOMB_BYTES


# ---------------------------------------------------------------- a million links

def test_a_group_of_a_million_links_lists_whole_and_the_daemon_stays_bounded(mounter, many_links):
    """With the default trial time limit (10 s): the trial's link iteration sends heartbeats."""
    mnt = mounter(many_links, "-o", f"ro,cache_size={CACHE}")
    many = mnt / "many"
    counted = subprocess.run(f"ls -f {many} | wc -l", shell=True, capture_output=True, text=True, timeout=600)
    assert int(counted.stdout) == LINKS + 2, counted      # with . and ..
    found = subprocess.run(["find", str(mnt)], capture_output=True, text=True, timeout=600)
    assert found.returncode == 0 and len(found.stdout.splitlines()) == LINKS + 3, found.stderr
    assert os.readlink(many / f"l{LINKS - 1:07d}") == "../target"
    # ls -l looks every link up: the kernel then holds a million inodes, the daemon no node each.
    long = subprocess.run(f"ls -l {many} | grep -c -- '-> ../target$'", shell=True,
                          capture_output=True, text=True, timeout=900)
    assert int(long.stdout) == LINKS, long
    # A link's inode is the same in a listing and in a lookup, and stays so.
    with os.scandir(many) as entries:
        listed = {entry.name: entry.inode() for entry, _ in zip(entries, range(5))}
    for name, inode in listed.items():
        assert os.lstat(many / name).st_ino == inode, name
    after = memory_status(mnt.process.pid)
    print(f"\n{LINKS} links: daemon VmHWM {after['VmHWM'] / 1024:.0f} MiB, VmRSS {after['VmRSS'] / 1024:.0f} MiB")
    assert after["VmHWM"] * 1024 < CACHE + OVERHEAD + LINKS * PER_LINK, after
    assert mnt.process.poll() is None



# ---------------------------------------------------------------- hard-link cycles

def test_groups_inside_their_own_subtree_end_find_and_ls_R_with_one_inode_each(mounter, cycles):
    mnt = mounter(cycles, "-o", "ro")
    found = subprocess.run(["find", str(mnt), "-printf", "%y %P\n"], capture_output=True, text=True, timeout=60)
    assert found.returncode == 0, found.stderr
    entries = dict(reversed(line.split(" ", 1)) for line in found.stdout.splitlines() if line[2:])
    assert {p for p, kind in entries.items() if kind == "d"} == {"a", "a/b", "a/b/c", "x"}
    assert {p for p, kind in entries.items() if kind == "l"} == {"a/b/c/up", "a/b/self", "a/b/c/x", "x/back"}
    listed = subprocess.run(["ls", "-R", str(mnt)], capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0 and listed.stdout.count(":\n") == 5, listed   # ., a, a/b, a/b/c, x
    # One stable inode per group, whichever path reaches it, again and again.
    for _ in range(2):
        assert os.stat(mnt / "a/b/c/up").st_ino == os.stat(mnt / "a").st_ino == os.stat(mnt / "x/back").st_ino
        assert os.stat(mnt / "a/b/self").st_ino == os.stat(mnt / "a/b").st_ino
        assert os.stat(mnt / "a/b/c/x").st_ino == os.stat(mnt / "x").st_ino
    assert (mnt / "a/b/c/up/b/c/x/bytes").read_bytes() == b"payload"
    with h5py.File(cycles, "r") as f:
        assert (mnt / "x/back/b/c/data").read_bytes() == f["a/b/c/data"][()].tobytes()


# ---------------------------------------------------------------- the generated corpus, quick

def test_a_quick_sweep_of_mutated_files_crashes_hangs_leaks_and_differs_nowhere(h5mount_bin, fuse_ready):
    """12 inputs of mutation_sweep.py (four of each seed); `make sweep` runs 300."""
    import mutation_sweep
    totals = mutation_sweep.sweep(12, seed=7, binary=h5mount_bin, walk_timeout=120)
    print(f"\nquick sweep: {totals}")
    assert totals["inputs"] == 12
    assert totals["daemon_crashes"] == totals["hangs"] == totals["leaked_mounts"] == 0, totals
    assert totals["datasets_compared"] > 0 and totals["datasets_differing"] == 0, totals
