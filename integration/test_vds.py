"""Virtual datasets read like any typed dataset; where a source file is missing they
read as the fill value (here: the second half of the stack is -1)."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

import oracle


@pytest.mark.parametrize("foreground", [True, False], ids=["foreground", "daemon"])
def test_missing_source_reads_fill_value(mounter, features, foreground):
    # Daemon mode too: the daemon's working directory must not matter for relative sources.
    mnt = mounter(features.vds, foreground=foreground)
    keys, side = oracle.load_sidecar(mnt / "stack.attrs")
    assert "virtual_sources" in keys and len(side["virtual_sources"]) == 2
    assert side["fillvalue"] == -1
    arr = np.fromfile(mnt / "stack", dtype=np.dtype(side["dtype"])).reshape(side["shape"])
    assert arr.shape == (8, 5)
    assert (arr[:4] == np.arange(20).reshape(4, 5)).all(), "present source: its data"
    assert (arr[4:] == -1).all(), "missing source: the fill value"
    with h5py.File(features.vds) as f:
        assert arr.tobytes() == f["stack"][()].tobytes()


# --- Native reads (docs/chunk-engine.md, "Virtual datasets") -----------------------------

import os
import random
import subprocess


def _sources(root, name, blocks, frames, shape, dtype="<i4"):
    """`blocks` gzip-chunked source files of `frames` frames each (one chunk per frame)."""
    paths = []
    for block in range(blocks):
        path = root / f"{name}_{block}.h5"
        data = (np.arange(frames * shape[0] * shape[1], dtype=dtype).reshape(frames, *shape)
                + 1000 * (block + 1)).astype(dtype)
        with h5py.File(path, "w") as f:
            f.create_dataset("data", data=data, chunks=(1, *shape), compression="gzip", compression_opts=4)
        paths.append(path)
    return paths


@pytest.fixture
def four_sources(tmp_path):
    """A VDS over 4 gzip-chunked source files of 6 frames each; source 2 is missing."""
    shape = (24, 40)
    _sources(tmp_path, "src", 4, 6, shape)
    layout = h5py.VirtualLayout(shape=(24, *shape), dtype="<i4")
    for block in range(4):
        layout[block * 6:(block + 1) * 6] = h5py.VirtualSource(f"src_{block}.h5", "data", shape=(6, *shape))
    with h5py.File(tmp_path / "vds.h5", "w") as f:
        f.create_virtual_dataset("stack", layout, fillvalue=-7)
    os.remove(tmp_path / "src_2.h5")
    return tmp_path / "vds.h5"


def _expected(path, name="stack"):
    with h5py.File(path) as f:
        return f[name][()]


def test_vds_of_four_gzip_sources_is_read_natively(mounter, four_sources):
    mnt = mounter(four_sources, "-o", "ro,frames,npy")
    expected = _expected(four_sources)
    assert (expected[12:18] == -7).all(), "the oracle reads the missing source as the fill value"
    whole = subprocess.run(["cat", str(mnt / "stack")], capture_output=True, check=True, timeout=60).stdout
    assert whole == expected.tobytes()
    rng = random.Random(11)
    with open(mnt / "stack", "rb") as f:
        for _ in range(60):
            offset = rng.randrange(len(whole))
            count = rng.randrange(1, 20000)
            f.seek(offset)
            assert f.read(count) == whole[offset:offset + count], (offset, count)
    for i in (0, 5, 6, 13, 23):
        assert (mnt / f"stack.frames/{i:06d}.raw").read_bytes() == expected[i].tobytes(), i
        assert (np.load(mnt / f"stack.frames/{i:06d}.npy") == expected[i]).all(), i
    assert (np.load(mnt / "stack.npy", mmap_mode="r") == expected).all()
    log = mnt.stderr_text()
    # Fails if the dataset went through libhdf5's serial path instead.
    assert "virtual dataset /stack" in log and "read natively from 3 of 4 sources (1 missing" in log, log


def test_sidecar_marks_only_the_missing_source(mounter, four_sources):
    mnt = mounter(four_sources, "-o", "ro")
    keys, side = oracle.load_sidecar(mnt / "stack.attrs")
    entries = side["virtual_sources"]
    assert [e["file"] for e in entries] == [f"src_{b}.h5" for b in range(4)]
    assert [e.get("missing") for e in entries] == [None, None, True, None]
    assert list(entries[2]) == ["destination", "file", "dataset", "source", "missing"]


def test_interleaved_and_strided_mappings(mounter, tmp_path):
    """Frames dealt round-robin over 3 files (stride 3 in the virtual space), a source read
    every other frame (stride 2 in the source), and an unmapped tail: fill value."""
    shape = (8, 10)
    _sources(tmp_path, "rr", 3, 8, shape, dtype="<u2")
    layout = h5py.VirtualLayout(shape=(14, *shape), dtype="<u2")
    for block in range(3):
        source = h5py.VirtualSource(f"rr_{block}.h5", "data", shape=(8, *shape))
        layout[block:12:3] = source[0:8:2]
    with h5py.File(tmp_path / "rr.h5", "w") as f:
        f.create_virtual_dataset("stack", layout, fillvalue=9)
    mnt = mounter(tmp_path / "rr.h5", "-o", "ro")
    expected = _expected(tmp_path / "rr.h5")
    assert (expected[12:] == 9).all()
    data = (mnt / "stack").read_bytes()
    assert data == expected.tobytes()
    assert "read natively from 3 of 3 sources" in mnt.stderr_text()


def test_partial_blocks_and_a_shifted_window(mounter, tmp_path):
    """Pieces that cut across source chunks and virtual tiles: columns 3..9 of each source
    placed at a column offset, rows shifted by one."""
    shape = (6, 12)
    _sources(tmp_path, "win", 2, 5, shape, dtype="<f8")
    layout = h5py.VirtualLayout(shape=(11, 7, 12), dtype="<f8")
    for block in range(2):
        source = h5py.VirtualSource(f"win_{block}.h5", "data", shape=(5, *shape))
        layout[1 + 5 * block:6 + 5 * block, 1:7, 5:12] = source[:, 0:6, 3:10]
    with h5py.File(tmp_path / "win.h5", "w") as f:
        f.create_virtual_dataset("stack", layout, fillvalue=-1.5)
    mnt = mounter(tmp_path / "win.h5", "-o", "ro")
    assert (mnt / "stack").read_bytes() == _expected(tmp_path / "win.h5").tobytes()
    assert "read natively from 2 of 2 sources" in mnt.stderr_text()


def test_source_of_another_type_goes_through_libhdf5(mounter, tmp_path):
    _sources(tmp_path, "conv", 1, 4, (4, 4), dtype="<i2")
    layout = h5py.VirtualLayout(shape=(4, 4, 4), dtype="<i4")
    layout[:] = h5py.VirtualSource("conv_0.h5", "data", shape=(4, 4, 4), dtype="<i2")
    with h5py.File(tmp_path / "conv.h5", "w") as f:
        f.create_virtual_dataset("stack", layout, fillvalue=0)
    mnt = mounter(tmp_path / "conv.h5", "-o", "ro")
    assert (mnt / "stack").read_bytes() == _expected(tmp_path / "conv.h5").tobytes()
    assert "read through libhdf5" in mnt.stderr_text()


@pytest.mark.parametrize("policy", ["dir", "any"])
def test_sources_outside_the_container_directory_follow_the_external_policy(mounter, tmp_path, policy):
    outside = tmp_path / "outside"
    inside = tmp_path / "inside"
    outside.mkdir()
    inside.mkdir()
    (source,) = _sources(outside, "far", 1, 3, (4, 4))
    layout = h5py.VirtualLayout(shape=(3, 4, 4), dtype="<i4")
    layout[:] = h5py.VirtualSource(str(source), "data", shape=(3, 4, 4))
    with h5py.File(inside / "vds.h5", "w") as f:
        f.create_virtual_dataset("stack", layout, fillvalue=-3)
    mnt = mounter(inside / "vds.h5", "-o", f"ro,external={policy}")
    data = np.fromfile(mnt / "stack", dtype="<i4").reshape(3, 4, 4)
    _, side = oracle.load_sidecar(mnt / "stack.attrs")
    if policy == "any":
        assert (data == _expected(inside / "vds.h5")).all()
        assert "missing" not in side["virtual_sources"][0]
    else:
        assert (data == -3).all(), "refused by -o external=dir: read as the fill value"
        assert side["virtual_sources"][0]["missing"] is True


def test_sidecar_with_a_missing_source_writes_back_on_a_writable_mount(mounter, four_sources):
    """The sidecar shows "missing": true; writing it back with an attribute added is an
    attribute change, not an attempt to change a read-only key (which would be EINVAL)."""
    import json
    mnt = mounter(four_sources)
    side = mnt / "stack.attrs"
    shown = json.loads(side.read_text())
    assert shown["virtual_sources"][2]["missing"] is True
    shown["attributes"]["note"] = "block 2 lost"
    side.write_text(json.dumps(shown))
    again = json.loads(side.read_text())
    assert again["attributes"] == {"note": "block 2 lost"}
    assert again["virtual_sources"] == shown["virtual_sources"]
    assert (mnt / "stack").read_bytes() == _expected(four_sources).tobytes()


def test_byte_vds_is_read_natively(mounter, tmp_path):
    """A 1-D uint8 virtual dataset is a byte file (described lazily): read natively too."""
    for block in range(2):
        with h5py.File(tmp_path / f"b_{block}.h5", "w") as f:
            f.create_dataset("data", data=np.arange(5000, dtype="u1") ^ block, chunks=(1000,), compression="gzip")
    layout = h5py.VirtualLayout(shape=(12000,), dtype="u1")
    for block in range(2):
        layout[block * 6000:block * 6000 + 5000] = h5py.VirtualSource(f"b_{block}.h5", "data", shape=(5000,))
    with h5py.File(tmp_path / "bytes.h5", "w") as f:
        f.create_virtual_dataset("blob", layout, fillvalue=7)
    mnt = mounter(tmp_path / "bytes.h5", "-o", "ro")
    assert (mnt / "blob").read_bytes() == _expected(tmp_path / "bytes.h5", "blob").tobytes()
    assert "virtual dataset /blob" in mnt.stderr_text() and "read natively from 2 of 2" in mnt.stderr_text()
