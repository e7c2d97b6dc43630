#!/usr/bin/env python3
"""Regenerates the Codecs test fixtures: real chunks written by libhdf5 + hdf5plugin.

Each fixture is a one-chunk dataset. We keep the raw stored chunk (read_direct_chunk), the
bytes h5py decodes it to, and the dataset's filter pipeline, listed in fixtures.json.

    /tmp/venv-probe/bin/python Tests/CodecsTests/Fixtures/make_fixtures.py
"""
import json
import os
import tempfile

import h5py
import hdf5plugin
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(20240601)


def poisson(shape, lam, dtype):
    return rng.poisson(lam, size=shape).astype(dtype)


def shuffled(array):
    """HDF5 shuffle of a contiguous array (byte planes)."""
    size = array.dtype.itemsize
    return array.view(np.uint8).reshape(-1, size).T.tobytes()


CASES = [
    # name, data, create_dataset keyword arguments
    ("lz4_u2", (np.arange(3000) // 7).astype("<u2") + poisson(3000, 1, "<u2"), hdf5plugin.LZ4()),
    ("lz4_blocks_u4", poisson(1000, 20, "<u4"), hdf5plugin.LZ4(nbytes=1024)),
    ("lz4_raw_u1", rng.integers(0, 256, 700).astype("u1"), hdf5plugin.LZ4(nbytes=256)),
    ("lz4_tiny_u2", np.array([513], dtype="<u2"), hdf5plugin.LZ4()),
    ("bslz4_u2_poisson", poisson((64, 64), 0.5, "<u2"), hdf5plugin.Bitshuffle(cname="lz4")),
    ("bslz4_u2_leftover", poisson(4095, 2, "<u2"), hdf5plugin.Bitshuffle(cname="lz4")),
    ("bslz4_u4_nelems64", poisson(1003, 100, "<u4"), hdf5plugin.Bitshuffle(nelems=64, cname="lz4")),
    ("bslz4_f8", rng.normal(0, 1, 517).astype("<f8"), hdf5plugin.Bitshuffle(cname="lz4")),
    ("bslz4_u1", poisson(1001, 3, "u1"), hdf5plugin.Bitshuffle(cname="lz4")),
    ("bslz4_tiny_u2", np.array([7, 300, 65535], dtype="<u2"), hdf5plugin.Bitshuffle(cname="lz4")),
    ("bshuf_plain_u2", poisson(1003, 5, "<u2"), hdf5plugin.Bitshuffle(cname="none")),
    ("bshuf_plain_u4_nelems128", poisson(1005, 1000, "<u4"), hdf5plugin.Bitshuffle(nelems=128, cname="none")),
    ("gzip_shuffle_fletcher_u2", poisson(2000, 30, "<u2"),
     dict(compression="gzip", compression_opts=4, shuffle=True, fletcher32=True)),
    ("gzip_f8", np.cumsum(rng.normal(0, 1, 500)).astype("<f8"), dict(compression="gzip", compression_opts=6)),
    ("shuffle_u4", poisson(777, 50000, "<u4"), dict(shuffle=True)),
    ("shuffle_gzip_s3", np.array([b"abc", b"xyz", b"a1"] * 111, dtype="S3"),
     dict(compression="gzip", shuffle=True)),
    ("fletcher_u1_odd", poisson(1001, 40, "u1"), dict(fletcher32=True)),
    ("gzip_fletcher_u1_odd", poisson(999, 4, "u1"), dict(compression="gzip", fletcher32=True)),
]

# Chunks written with direct chunk write and filters marked skipped in the chunk's mask;
# h5py's read of the dataset is the oracle for how libhdf5 honours the mask.
MASK_CASES = [
    ("mask_skip_deflate_u2", poisson(500, 1000, "<u2"), 0b10, shuffled),
    ("mask_skip_all_u2", poisson(500, 1000, "<u2"), 0b11, lambda a: a.tobytes()),
]


def filters_of(ds):
    plist = ds.id.get_create_plist()
    out = []
    for i in range(plist.get_nfilters()):
        fid, flags, values, name = plist.get_filter(i)
        out.append({"id": int(fid), "name": name.decode(), "flags": int(flags),
                    "clientData": [int(v) for v in values]})
    return out


def record(ds, name, manifest):
    mask, raw = ds.id.read_direct_chunk((0,) * ds.ndim)
    expected = ds[()].tobytes()
    with open(os.path.join(HERE, name + ".chunk"), "wb") as f:
        f.write(raw)
    with open(os.path.join(HERE, name + ".expected"), "wb") as f:
        f.write(expected)
    manifest.append({"name": name, "dtype": ds.dtype.str, "elementSize": ds.dtype.itemsize,
                     "filterMask": int(mask), "filters": filters_of(ds)})


def main():
    manifest = []
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "fixtures.h5")
        with h5py.File(path, "w") as f:
            for name, data, options in CASES:
                f.create_dataset(name, data=data, chunks=data.shape, **options)
            for name, data, mask, encode in MASK_CASES:
                ds = f.create_dataset(name, shape=data.shape, dtype=data.dtype, chunks=data.shape,
                                      compression="gzip", shuffle=True)
                ds.id.write_direct_chunk((0,), encode(data), filter_mask=mask)
        # Reopen: in the writing session libhdf5 may serve a direct-written chunk from its cache
        # without honouring the mask.
        with h5py.File(path, "r") as f:
            for name, data, *_ in CASES + MASK_CASES:
                assert (f[name][()] == data).all(), name
                record(f[name], name, manifest)
    with open(os.path.join(HERE, "fixtures.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
