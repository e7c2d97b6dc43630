"""Frame views (`-o frames`) and .npy views (`-o npy`) on real mounts, h5py as the oracle
(docs/mapping.md, "Views"): `NAME.frames/NNNNNN.raw` is `ds[i]`'s bytes,
`numpy.load("NAME.npy", mmap_mode="r")` equals `ds[()]`, and nothing changes without
the options."""

from __future__ import annotations

import errno
import json
import os
import shutil
import time

import h5py
import numpy as np
import pytest

from mounting import run

FRAMES = 300
TABLE = np.dtype({"names": ["a", "b", "c"], "formats": ["<i4", "<f8", "(3,)<u2"],
                  "offsets": [0, 8, 16], "itemsize": 32})


@pytest.fixture(scope="module")
def stacks(tmp_path_factory):
    """A detector-like 3-D gzip stack, compound datasets (1-D and a stack of them) and a
    long stack of tiny frames, as h5py writes them."""
    path = tmp_path_factory.mktemp("views") / "stacks.h5"
    rng = np.random.default_rng(4)
    with h5py.File(path, "w") as f:
        f.create_dataset("entry/data/stack", data=rng.poisson(0.5, (FRAMES, 64, 64)).astype("<u2"),
                         chunks=(1, 64, 64), compression="gzip", compression_opts=4)
        table = np.zeros(7, dtype=TABLE)
        table["a"] = np.arange(7)
        table["b"] = np.linspace(-1, 1, 7)
        table["c"] = np.arange(21).reshape(7, 3)
        f.create_dataset("table", data=table)
        cstack = np.zeros((5, 3, 2), dtype=TABLE)
        cstack["a"] = np.arange(30).reshape(5, 3, 2)
        f.create_dataset("cstack", data=cstack, chunks=(1, 3, 2), compression="gzip")
        f.create_dataset("long", data=(np.arange(100_000) % 251).astype("<u2").reshape(100_000, 1, 1),
                         chunks=(4096, 1, 1))
    return path


def test_no_views_without_the_options(mounter, stacks):
    mnt = mounter(stacks, "-o", "ro")
    assert sorted(os.listdir(mnt)) == ["cstack", "cstack.attrs", "entry", "long", "long.attrs", "table", "table.attrs"]
    assert sorted(os.listdir(mnt / "entry/data")) == ["stack", "stack.attrs"]
    for name in ("entry/data/stack.npy", "entry/data/stack.frames", "table.npy"):
        assert not os.path.exists(mnt / name), name


def test_frames_list_and_read_like_h5py(mounter, stacks):
    mnt = mounter(stacks, "-o", "ro,frames")
    frames = mnt / "entry/data/stack.frames"
    assert "stack.frames" in os.listdir(mnt / "entry/data")
    assert not os.path.exists(mnt / "entry/data/stack.npy"), ".npy needs -o npy"
    head = run(["sh", "-c", f"ls '{frames}' | head -3"], check=True).stdout.split()
    assert head == ["000000.raw", "000001.raw", "000002.raw"]
    names = os.listdir(frames)
    assert len(names) == FRAMES + 1 and ".attrs" in names and "000299.raw" in names
    side = json.load(open(frames / ".attrs"))
    assert side == {"kind": "frames", "dtype": "<u2", "shape": [64, 64], "frames": FRAMES, "frame_bytes": 8192}
    with h5py.File(stacks) as f:
        ds = f["entry/data/stack"]
        for i in (0, 1, 150, FRAMES - 1):
            frame = frames / f"{i:06d}.raw"
            assert frame.stat().st_size == 8192
            cat = run(["cat", frame], check=True, binary=True).stdout
            assert cat == ds[i].tobytes(), f"frame {i}"
            # The raw-array promise, per frame.
            arr = np.fromfile(frame, dtype=np.dtype(side["dtype"])).reshape(side["shape"])
            assert (arr == ds[i]).all()
        compound = json.load(open(mnt / "cstack.frames/.attrs"))
        for i in range(5):
            arr = np.fromfile(mnt / f"cstack.frames/{i:06d}.raw", dtype=np.dtype(compound["dtype"]))
            assert arr.reshape(compound["shape"]).tobytes() == f["cstack"][i].tobytes()


def test_npy_views_load_lazily_and_equal_h5py(mounter, stacks):
    mnt = mounter(stacks, "-o", "ro,npy")
    assert not os.path.exists(mnt / "entry/data/stack.frames"), "frames need -o frames"
    with h5py.File(stacks) as f:
        for name in ("entry/data/stack", "table", "cstack"):
            expected = f[name][()]
            mapped = np.load(mnt / (name + ".npy"), mmap_mode="r")
            assert isinstance(mapped, np.memmap), name
            assert mapped.shape == expected.shape and mapped.dtype == expected.dtype, name
            assert mapped.tobytes() == expected.tobytes(), name
            loaded = np.load(mnt / (name + ".npy"))
            assert loaded.dtype == expected.dtype and (loaded == expected).all(), name
        # One frame of the memory map reads only what it touches, and reads it right.
        mapped = np.load(mnt / "entry/data/stack.npy", mmap_mode="r")
        assert (mapped[123] == f["entry/data/stack"][123]).all()


def test_frame_npy_files(mounter, stacks):
    mnt = mounter(stacks, "-o", "ro,frames,npy")
    listing = run(["ls", "-f", mnt / "cstack.frames"], check=True).stdout.split()
    assert listing[2:6] == ["000000.raw", "000000.npy", "000001.raw", "000001.npy"]
    with h5py.File(stacks) as f:
        for name, i in (("entry/data/stack", 42), ("entry/data/stack", FRAMES - 1), ("cstack", 3)):
            loaded = np.load(mnt / f"{name}.frames/{i:06d}.npy")
            expected = f[name][i]
            assert loaded.dtype == expected.dtype and loaded.shape == expected.shape
            assert loaded.tobytes() == expected.tobytes(), (name, i)


def test_listing_a_long_stack_is_cheap(mounter, stacks):
    mnt = mounter(stacks, "-o", "ro,frames,npy")
    started = time.monotonic()
    result = run(["sh", "-c", f"ls -f '{mnt / 'long.frames'}' | wc -l"], check=True)
    seconds = time.monotonic() - started
    assert int(result.stdout) == 2 * 100_000 + 1 + 2  # frames, .attrs, "." and ".."
    assert seconds < 10, f"ls of 100,000 frames took {seconds:.1f} s"
    with h5py.File(stacks) as f:
        assert np.load(mnt / "long.frames/099999.npy").tobytes() == f["long"][99_999].tobytes()
        assert open(mnt / "long.frames/054321.raw", "rb").read() == f["long"][54_321].tobytes()


def test_a_packed_tree_diffs_silently_with_the_options(mounter, features):
    """Copied-in files are byte datasets: they have no views, so a tree still diffs clean."""
    with mounter.mounted(features.tree_h5, "-o", "ro,frames,npy") as mnt:
        result = run(["diff", "-r", features.tree_src, mnt / features.tree_src.name], timeout=600)
        assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_views_are_read_only(mounter, stacks, tmp_path):
    container = tmp_path / "writable.h5"
    shutil.copy(stacks, container)
    mnt = mounter(container, "-o", "frames,npy")
    for name in ("table.npy", "entry/data/stack.frames/000001.raw", "entry/data/stack.npy"):
        assert os.stat(mnt / name).st_mode & 0o777 == 0o444, name
        with pytest.raises(OSError) as failure:
            open(mnt / name, "r+b")
        assert failure.value.errno in (errno.EPERM, errno.EACCES), name
        with pytest.raises(OSError) as failure:
            os.unlink(mnt / name)
        assert failure.value.errno in (errno.EPERM, errno.EACCES), name
    with pytest.raises(OSError) as failure:
        open(mnt / "entry/data/stack.frames/new", "wb")
    assert failure.value.errno in (errno.EPERM, errno.EACCES)
    with h5py.File(stacks) as f:
        assert open(mnt / "entry/data/stack.frames/000001.raw", "rb").read() == f["entry/data/stack"][1].tobytes()


@pytest.fixture(scope="module")
def nexus(tmp_path_factory):
    """A NeXus-shaped detector run: master.h5 with /entry/data/data an external link to
    data.h5's /data, a virtual dataset over four blocks of 10 frames, block 3 missing."""
    root = tmp_path_factory.mktemp("nexus")
    layout = h5py.VirtualLayout(shape=(40, 8, 8), dtype="<i4")
    for block in range(4):
        name = f"block_{block}.h5"
        with h5py.File(root / name, "w") as f:
            f.create_dataset("data", data=np.arange(640, dtype="<i4").reshape(10, 8, 8) + 1000 * block,
                             chunks=(1, 8, 8), compression="gzip")
        layout[block * 10:(block + 1) * 10] = h5py.VirtualSource(name, "data", shape=(10, 8, 8))
    with h5py.File(root / "data.h5", "w") as f:
        f.create_virtual_dataset("data", layout, fillvalue=-1)
    with h5py.File(root / "master.h5", "w") as f:
        f["entry/data/data"] = h5py.ExternalLink("data.h5", "/data")
    os.remove(root / "block_2.h5")
    return root


def test_views_of_a_virtual_dataset_behind_an_external_link(mounter, nexus):
    mnt = mounter(nexus / "master.h5", "-o", "ro,frames,npy")
    # Views sit beside the dataset itself: follow the link into /.external/.
    target = (mnt / "entry/data/data").resolve()
    assert not os.path.exists(mnt / "entry/data/data.frames"), "no views beside a link"
    frames = target.parent / "data.frames"
    with h5py.File(nexus / "data.h5") as f:
        ds = f["data"]
        for i in (0, 15, 25, 39):
            raw = open(frames / f"{i:06d}.raw", "rb").read()
            assert raw == ds[i].tobytes(), i
            assert (np.load(frames / f"{i:06d}.npy") == ds[i]).all(), i
        assert (np.load(frames / "000025.npy") == -1).all(), "frames of the missing block read as the fill value"
        whole = np.load(target.parent / "data.npy", mmap_mode="r")
        assert whole.tobytes() == ds[()].tobytes()
