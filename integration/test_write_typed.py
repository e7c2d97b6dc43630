"""Writing into typed datasets' raw-array files (DESIGN.md §2, docs/writing.md "Typed
datasets") through real mounts, with h5py as the oracle after `h5mount -u`.

In-place overwrites at any byte offset, growth only along an unlimited first dimension
(whole rows), EFBIG / EINVAL / EPERM / EROFS where the contract says no, reads through the
mount right after a write, and recovery of a closed write after kill -9.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
from pathlib import Path

import h5py
import numpy as np
import pytest

from mounting import run
from test_write import EXIT_RUNTIME, attempt_mount, expect_errno, kill_mount, unmount_cli

pytestmark = pytest.mark.write_path


def stack_values(shape, dtype="<u2", seed=0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 60000, size=shape).astype(dtype)


def make(path: Path, datasets: dict) -> Path:
    """datasets: name -> (array, create_dataset keyword arguments)."""
    with h5py.File(path, "w") as f:
        for name, (data, options) in datasets.items():
            f.create_dataset(name, data=data, **options)
    return path


def dataset(container, name) -> np.ndarray:
    with h5py.File(container, "r") as f:
        return f[name][()]


def sidecar(mnt, name) -> dict:
    return json.loads((mnt / f"{name}.attrs").read_text())


def patch(path, offset: int, data: bytes) -> None:
    """numpy's way: open r+b, seek, write."""
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(data)


def test_unaligned_overwrite_of_a_gzip_stack_reads_back_at_once_and_in_h5py(mounter, tmp_path):
    stack = stack_values((12, 64, 48))
    container = make(tmp_path / "c.h5", {"entry/stack": (stack, dict(chunks=(2, 16, 16), compression="gzip",
                                                                       compression_opts=4, shuffle=True))})
    mnt = mounter(container)
    expected = bytearray(stack.tobytes())
    rng = np.random.default_rng(7)
    # Starts in the middle of an element, spans several chunks in every dimension, ends mid-element.
    for offset, length in [(3 * 64 * 48 * 2 + 5 * 48 * 2 + 7 * 2 + 1, 40_001), (17, 3), (len(expected) - 5, 5)]:
        data = rng.integers(0, 256, size=length, dtype=np.uint8).tobytes()
        patch(mnt / "entry/stack", offset, data)
        expected[offset:offset + length] = data
        assert (mnt / "entry/stack").read_bytes() == bytes(expected), f"read back after a write at {offset}"
    # A slice, the way numpy users write one: frame 9, rows 10..40.
    frame = np.frombuffer(bytes(expected), "<u2").reshape(stack.shape).copy()
    frame[9, 10:40] = 4242
    with open(mnt / "entry/stack", "r+b") as f:
        f.seek(9 * 64 * 48 * 2 + 10 * 48 * 2)
        f.write(frame[9, 10:40].tobytes())
    assert os.stat(mnt / "entry/stack").st_size == stack.nbytes
    assert np.array_equal(np.fromfile(mnt / "entry/stack", dtype="<u2").reshape(stack.shape), frame)
    unmount_cli(mounter, mnt)
    with h5py.File(container, "r") as f:
        ds = f["entry/stack"]
        assert ds.compression == "gzip" and ds.shuffle and ds.chunks == (2, 16, 16)
        assert np.array_equal(ds[()], frame)


def test_dd_conv_notrunc_into_a_contiguous_big_endian_dataset(mounter, tmp_path):
    values = np.linspace(0, 1, 1000).astype(">f8")
    container = make(tmp_path / "c.h5", {"x": (values, {})})
    mnt = mounter(container)
    source = tmp_path / "piece.raw"
    replacement = (np.arange(10) * -1.5).astype(">f8")
    source.write_bytes(replacement.tobytes())
    result = run(["dd", f"if={source}", f"of={mnt / 'x'}", "bs=8", "seek=500", "conv=notrunc", "status=none"])
    assert result.returncode == 0, result.stderr
    expected = values.copy()
    expected[500:510] = replacement
    assert np.array_equal(np.fromfile(mnt / "x", dtype=">f8"), expected)
    unmount_cli(mounter, mnt)
    got = dataset(container, "x")
    assert got.dtype == np.dtype(">f8") and np.array_equal(got, expected)


def test_compound_elements_are_written_as_stored(mounter, tmp_path):
    kind = np.dtype([("id", "<i4"), ("pos", ">f4", (2,)), ("flag", "u1")])
    values = np.zeros(50, dtype=kind)
    values["id"] = np.arange(50)
    container = make(tmp_path / "c.h5", {"table": (values, dict(chunks=(8,), compression="gzip"))})
    mnt = mounter(container)
    side = sidecar(mnt, "table")
    stored = np.dtype([tuple(field) for field in side["dtype"]]) if isinstance(side["dtype"], list) else np.dtype(side["dtype"])
    assert stored.itemsize == kind.itemsize
    row = np.zeros(3, dtype=kind)
    row["id"] = [-1, -2, -3]
    row["pos"] = [[1.5, 2.5], [3.5, 4.5], [5.5, 6.5]]
    row["flag"] = 1
    patch(mnt / "table", 20 * kind.itemsize, row.tobytes())
    unmount_cli(mounter, mnt)
    expected = values.copy()
    expected[20:23] = row
    assert dataset(container, "table").tobytes() == expected.tobytes()


def test_cat_appends_frames_to_an_unlimited_stack(mounter, tmp_path):
    frames = stack_values((3, 256, 256), dtype="<f4", seed=3)   # 256 KiB frames: cat writes them in pieces
    container = make(tmp_path / "c.h5", {"stack": (frames[:1], dict(maxshape=(None, 256, 256), chunks=(1, 128, 128),
                                                                      compression="gzip", fillvalue=-1.0))})
    mnt = mounter(container)
    for index in (1, 2):
        raw = tmp_path / f"frame{index}.raw"
        raw.write_bytes(frames[index].tobytes())
        result = subprocess.run(f"cat {raw} >> {mnt / 'stack'}", shell=True, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        assert os.stat(mnt / "stack").st_size == (index + 1) * frames[0].nbytes
        assert sidecar(mnt, "stack")["shape"] == [index + 1, 256, 256]
    assert np.array_equal(np.fromfile(mnt / "stack", dtype="<f4").reshape(3, 256, 256), frames)
    # Half a frame: the file grows to the whole row; the rest reads as the fill value.
    with open(mnt / "stack", "ab") as f:
        f.write(frames[0, :100].tobytes())
    grown = np.fromfile(mnt / "stack", dtype="<f4").reshape(-1, 256, 256)
    assert grown.shape == (4, 256, 256)
    assert np.array_equal(grown[3, :100], frames[0, :100]) and np.all(grown[3, 100:] == -1.0)
    unmount_cli(mounter, mnt)
    got = dataset(container, "stack")
    assert got.shape == (4, 256, 256)
    assert np.array_equal(got[:3], frames) and np.all(got[3, 100:] == -1.0)


def test_truncate_sets_the_extent_along_an_unlimited_first_dimension(mounter, tmp_path):
    rows = np.arange(6 * 10, dtype="<i8").reshape(6, 10)
    container = make(tmp_path / "c.h5", {"rows": (rows, dict(maxshape=(None, 10), chunks=(4, 10)))})
    mnt = mounter(container)
    row_bytes = 10 * 8
    os.truncate(mnt / "rows", 2 * row_bytes)
    assert os.stat(mnt / "rows").st_size == 2 * row_bytes
    os.truncate(mnt / "rows", 5 * row_bytes)                      # grown back: fill value, not the old rows
    assert np.array_equal(np.fromfile(mnt / "rows", dtype="<i8").reshape(5, 10)[2:], np.zeros((3, 10)))
    expect_errno(errno.EINVAL, lambda: os.truncate(mnt / "rows", 5 * row_bytes + 3), "truncate to a partial row")
    # cat a > existing: O_TRUNC, then the new rows.
    replacement = tmp_path / "new.raw"
    new_rows = -np.arange(3 * 10, dtype="<i8").reshape(3, 10)
    replacement.write_bytes(new_rows.tobytes())
    result = subprocess.run(f"cat {replacement} > {mnt / 'rows'}", shell=True, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert sidecar(mnt, "rows")["shape"] == [3, 10]
    unmount_cli(mounter, mnt)
    assert np.array_equal(dataset(container, "rows"), new_rows)


def test_fixed_shape_refuses_growth_with_efbig_and_stays_unchanged(mounter, tmp_path):
    values = np.arange(64, dtype="<u4").reshape(8, 8)
    container = make(tmp_path / "c.h5", {"fixed": (values, dict(chunks=(4, 4), compression="gzip")),
                                         "text": (np.array([b"one", b"two"]), {})})
    mnt = mounter(container)
    size = values.nbytes

    def append():
        with open(mnt / "fixed", "ab") as f:
            f.write(b"\0" * 32)
    expect_errno(errno.EFBIG, append, "append to a fixed-shape dataset")
    expect_errno(errno.EFBIG, lambda: patch(mnt / "fixed", size - 2, b"1234"), "write across the end")
    expect_errno(errno.EINVAL, lambda: os.truncate(mnt / "fixed", size // 2), "shrink a fixed shape")
    expect_errno(errno.EFBIG, lambda: os.truncate(mnt / "fixed", size * 2), "grow a fixed shape")
    expect_errno(errno.EPERM, lambda: patch(mnt / "text", 0, b"x"), "a string dataset")
    assert os.stat(mnt / "fixed").st_size == size
    # O_TRUNC on a fixed shape: the same number of bytes again replaces it whole.
    whole = tmp_path / "whole.raw"
    replacement = values[::-1].copy()
    whole.write_bytes(replacement.tobytes())
    assert subprocess.run(f"cat {whole} > {mnt / 'fixed'}", shell=True).returncode == 0
    short = tmp_path / "short.raw"
    short.write_bytes(b"\1" * 10)
    assert subprocess.run(f"cat {short} > {mnt / 'fixed'}", shell=True, capture_output=True).returncode != 0, \
        "a short rewrite of a fixed shape fails at close"
    assert np.array_equal(np.fromfile(mnt / "fixed", dtype="<u4").reshape(8, 8), replacement)
    unmount_cli(mounter, mnt)
    assert np.array_equal(dataset(container, "fixed"), replacement)


def test_read_only_mount_answers_erofs(mounter, tmp_path):
    container = make(tmp_path / "c.h5", {"x": (np.arange(10, dtype="<i2"), {})})
    mnt = mounter(container, "-o", "ro")
    expect_errno(errno.EROFS, lambda: patch(mnt / "x", 0, b"12"), "write on -o ro")
    expect_errno(errno.EROFS, lambda: os.truncate(mnt / "x", 0), "truncate on -o ro")


def test_kill_9_after_a_closed_write_then_recover(mounter, tmp_path):
    stack = stack_values((4, 32, 32), seed=5)
    container = make(tmp_path / "c.h5", {"stack": (stack, dict(maxshape=(None, 32, 32), chunks=(1, 32, 32),
                                                                 compression="gzip"))})
    mnt = mounter(container)
    expected = stack.copy()
    expected[1, 3:9] = 77
    patch(mnt / "stack", (1 * 32 + 3) * 32 * 2, expected[1, 3:9].tobytes())
    extra = stack_values((1, 32, 32), seed=6)
    with open(mnt / "stack", "ab") as f:
        f.write(extra.tobytes())
    expected = np.concatenate([expected, extra])
    kill_mount(mounter, mnt)
    assert np.array_equal(dataset(container, "stack"), stack), "a crash leaves the original intact"
    code, text = attempt_mount(mounter.binary, container, mounter.new_mountpoint())
    assert code == EXIT_RUNTIME, text
    result = run([mounter.binary, "--recover", container], timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    assert np.array_equal(dataset(container, "stack"), expected)


def test_a_filter_libhdf5_cannot_apply_answers_eio_and_changes_nothing(mounter, tmp_path):
    hdf5plugin = pytest.importorskip("hdf5plugin")
    values = np.arange(1000, dtype="<u2")
    container = make(tmp_path / "c.h5", {"x": (values, dict(chunks=(100,), **hdf5plugin.LZ4()))})
    env_plugin = os.environ.pop("HDF5_PLUGIN_PATH", None)
    try:
        mnt = mounter(container)
    finally:
        if env_plugin is not None:
            os.environ["HDF5_PLUGIN_PATH"] = env_plugin
    assert np.array_equal(np.fromfile(mnt / "x", dtype="<u2"), values), "still readable (native lz4)"
    expect_errno(errno.EIO, lambda: patch(mnt / "x", 0, b"\1\1"), "lz4 without its plugin")
    assert "filter" in mnt.stderr_text() and "HDF5_PLUGIN_PATH" in mnt.stderr_text()
    unmount_cli(mounter, mnt)
    with h5py.File(container, "r") as f:
        assert np.array_equal(f["x"][()], values)


def test_lz4_and_bitshuffle_datasets_are_writable_with_the_plugin(mounter, tmp_path, monkeypatch):
    hdf5plugin = pytest.importorskip("hdf5plugin")
    values = np.arange(4000, dtype="<u4").reshape(40, 100)
    container = make(tmp_path / "c.h5", {"lz4": (values, dict(chunks=(8, 100), **hdf5plugin.LZ4())),
                                         "bslz4": (values, dict(chunks=(8, 100), maxshape=(None, 100),
                                                                **hdf5plugin.Bitshuffle()))})
    monkeypatch.setenv("HDF5_PLUGIN_PATH", hdf5plugin.PLUGIN_PATH)
    mnt = mounter(container)
    row = np.full(100, 0xDEADBEEF, dtype="<u4")
    patch(mnt / "lz4", 13 * 400 + 6, row.tobytes())               # unaligned, across two chunks
    with open(mnt / "bslz4", "ab") as f:
        f.write(row.tobytes())
    unmount_cli(mounter, mnt)
    expected = bytearray(values.tobytes())
    expected[13 * 400 + 6:13 * 400 + 6 + 400] = row.tobytes()
    with h5py.File(container, "r") as f:
        assert f["lz4"][()].tobytes() == bytes(expected)
        assert f["bslz4"].shape == (41, 100) and np.array_equal(f["bslz4"][40], row)
        assert f["lz4"].id.get_create_plist().get_filter(0)[0] == 32004


def test_json_lines_datasets_and_external_files_are_not_writable(mounter, tmp_path):
    other = make(tmp_path / "other.h5", {"x": (np.arange(10, dtype="<i2"), {})})
    container = tmp_path / "c.h5"
    with h5py.File(container, "w") as f:
        f.create_dataset("ragged", data=np.array([np.arange(3), np.arange(2)], dtype=object),
                         dtype=h5py.vlen_dtype("i4"))
        f["ext"] = h5py.ExternalLink(str(other), "/x")
    mnt = mounter(container)
    expect_errno(errno.EPERM, lambda: patch(mnt / "ragged", 0, b"[1]"), "a JSON-lines dataset")
    target = mnt / os.readlink(mnt / "ext") if not os.path.isabs(os.readlink(mnt / "ext")) else Path(os.readlink(mnt / "ext"))
    assert np.array_equal(np.fromfile(target, dtype="<i2"), np.arange(10))
    expect_errno(errno.EROFS, lambda: patch(target, 0, b"\1\0"), "a dataset under /.external/")
    unmount_cli(mounter, mnt)
    assert np.array_equal(dataset(other, "x"), np.arange(10))


def test_numpy_memmap_r_plus_writes_through(mounter, tmp_path):
    values = np.arange(3 * 4, dtype="<f4").reshape(3, 4)
    container = make(tmp_path / "c.h5", {"m": (values, dict(chunks=(1, 4), compression="gzip"))})
    mnt = mounter(container)
    mapped = np.memmap(mnt / "m", dtype="<f4", mode="r+", shape=(3, 4))
    mapped[1] = -5
    mapped.flush()
    del mapped
    expected = values.copy()
    expected[1] = -5
    assert np.array_equal(np.fromfile(mnt / "m", dtype="<f4").reshape(3, 4), expected)
    unmount_cli(mounter, mnt)
    assert np.array_equal(dataset(container, "m"), expected)
