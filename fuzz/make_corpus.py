#!/usr/bin/env python3
"""Writes the seed corpus of the h5fuzz targets (docs/fuzzing.md) into fuzz/corpus/TARGET/.

Codec seeds are real chunks: small one-chunk datasets written by libhdf5 through h5py and
hdf5plugin, read back raw with read_direct_chunk, and framed in each target's input layout
(the header bytes documented at the top of Sources/h5fuzz/*Target.swift). JSON and sidecar
seeds are sidecars as h5mount shows them, and edits of them.

    .venv/bin/python fuzz/make_corpus.py      # rewrites fuzz/corpus (deterministic)
"""
import json
import os
import shutil
import struct
import tempfile

import h5py
import hdf5plugin
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "corpus")
rng = np.random.default_rng(20261202)
# The pipeline target's filter id selector, in its order (PipelineTarget.swift).
PIPELINE_IDS = [1, 2, 3, 32004, 32008, 4, 32015, 32001]


def u32(value):
    return struct.pack("<I", value & 0xFFFFFFFF)


def poisson(count, lam, dtype):
    return rng.poisson(lam, size=count).astype(dtype)


class Chunks:
    """One-chunk datasets in a scratch file; each gives its stored chunk and its pipeline."""

    def __init__(self, path):
        self.file = h5py.File(path, "w")
        self.count = 0

    def make(self, data, **options):
        self.count += 1
        ds = self.file.create_dataset(f"d{self.count}", data=data, chunks=data.shape, **options)
        return self.read(ds)

    def masked(self, data, stored, mask, **options):
        """A chunk written directly with `mask` (filters skipped), as libhdf5 stores small chunks."""
        self.count += 1
        ds = self.file.create_dataset(f"d{self.count}", shape=data.shape, dtype=data.dtype,
                                      chunks=data.shape, **options)
        ds.id.write_direct_chunk((0,) * data.ndim, stored, mask)
        return self.read(ds)

    @staticmethod
    def read(ds):
        mask, raw = ds.id.read_direct_chunk((0,) * ds.ndim)
        plist = ds.id.get_create_plist()
        filters = []
        for i in range(plist.get_nfilters()):
            fid, _flags, values, _name = plist.get_filter(i)
            filters.append((int(fid), [int(v) for v in values]))
        return dict(raw=bytes(raw), mask=int(mask), filters=filters,
                    size=ds.dtype.itemsize * int(np.prod(ds.shape)), element=ds.dtype.itemsize)


def write(target, name, data):
    directory = os.path.join(CORPUS, target)
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, name), "wb") as f:
        f.write(data)


def codec_seeds(chunks):
    text = np.frombuffer((b"h5mount mounts HDF5 containers as directory trees. " * 40)[:2000], dtype="u1")
    for name, data, level in [("u2_poisson", poisson(1024, 3, "<u2"), 4),
                              ("text", text, 9), ("f8_walk", np.cumsum(rng.normal(0, 1, 300)), 1)]:
        c = chunks.make(data, compression="gzip", compression_opts=level)
        write("deflate", name, bytes([level]) + u32(c["size"]) + c["raw"])

    for name, data in [("u4", poisson(500, 40000, "<u4")), ("u2", poisson(700, 9, "<u2")),
                       ("f8", rng.normal(0, 1, 129)), ("s3", np.array([b"abc", b"xy"] * 50, dtype="S3"))]:
        c = chunks.make(data, shuffle=True)
        write("shuffle", name, bytes([c["filters"][0][1][0] if c["filters"][0][1] else 0, c["element"]]) + c["raw"])

    for name, data in [("u1_odd", poisson(1001, 40, "u1")), ("u2", poisson(600, 1000, "<u2"))]:
        write("fletcher32", name, chunks.make(data, fletcher32=True)["raw"])

    for name, data, options in [("u2_one_block", poisson(2000, 2, "<u2"), hdf5plugin.LZ4()),
                                ("u4_blocks", poisson(1000, 20, "<u4"), hdf5plugin.LZ4(nbytes=1024)),
                                ("u1_raw_blocks", rng.integers(0, 256, 700).astype("u1"), hdf5plugin.LZ4(nbytes=256))]:
        c = chunks.make(data, **options)
        block = c["filters"][0][1][0] if c["filters"][0][1] else 0
        write("lz4", name, u32(block) + u32(c["size"]) + c["raw"])

    for name, data, options in [
            ("lz4_u2", poisson(2047, 0.5, "<u2"), hdf5plugin.Bitshuffle(cname="lz4")),
            ("lz4_u4_nelems64", poisson(1003, 100, "<u4"), hdf5plugin.Bitshuffle(nelems=64, cname="lz4")),
            ("lz4_f8", rng.normal(0, 1, 301), hdf5plugin.Bitshuffle(cname="lz4")),
            ("none_u2", poisson(1003, 5, "<u2"), hdf5plugin.Bitshuffle(cname="none")),
            ("none_u1_nelems128", poisson(999, 3, "u1"), hdf5plugin.Bitshuffle(nelems=128, cname="none"))]:
        c = chunks.make(data, **options)
        values = c["filters"][0][1]  # [filter version, bitshuffle version, element size, block, compression]
        compression = values[4] if len(values) > 4 else 0
        write("bitshuffle", name, bytes([values[2]]) + u32(values[3]) + bytes([1 if compression == 2 else 0])
              + u32(c["size"]) + c["raw"])

    pipelines = [
        ("shuffle_gzip_fletcher_u2", chunks.make(poisson(1500, 30, "<u2"), shuffle=True, compression="gzip",
                                                 compression_opts=4, fletcher32=True)),
        ("bitshuffle_lz4_u2", chunks.make(poisson(1024, 1, "<u2"), **hdf5plugin.Bitshuffle(cname="lz4"))),
        ("shuffle_lz4_f4", chunks.make(rng.normal(0, 1, 400).astype("<f4"), shuffle=True, **hdf5plugin.LZ4())),
        ("mask_skip_deflate_u2", chunks.masked(poisson(400, 1000, "<u2"),
                                               poisson(400, 1000, "<u2").view("u1").reshape(-1, 2).T.tobytes(),
                                               0b10, shuffle=True, compression="gzip")),
    ]
    for name, c in pipelines:
        header = bytes([len(c["filters"])])
        for fid, values in c["filters"]:
            header += bytes([PIPELINE_IDS.index(fid), len(values)]) + b"".join(u32(v) for v in values)
        write("pipeline", name, header + u32(c["mask"]) + bytes([c["element"]]) + u32(c["size"]) + c["raw"])


SIDECAR = {
    "kind": "dataset", "dtype": "<u2", "shape": [8, 64, 64], "maxshape": [None, 64, 64],
    "chunks": [1, 64, 64], "filters": [{"id": 1, "name": "deflate", "options": [4]}],
    "fillvalue": 0, "layout": "chunked",
    "storage": {"logical_bytes": 65536, "allocated_bytes": 24347, "ratio": 2.692},
    "attributes": {"long_name": "detector counts", "units": "counts", "scale": 0.5,
                   "offsets": [1, -2, 3], "mask": [[True, False], [False, True]], "nan": "NaN",
                   "floats": [1.5, "Infinity", "-Infinity"], "big": 18446744073709551615, "none": None},
}
COMPOUND = {
    "kind": "dataset", "dtype": [["x", "<f4"], ["y", "<i8", [2]]], "shape": [3], "encoding": "json",
    "attributes": {"title": "caf\u00e9 \u2603 \U0001F600", "escaped": "tab\tquote\"back\\slash\nline\u0001"},
}
GROUP = {"kind": "group", "attributes": {"NX_class": "NXentry", "count": 3}}


def pretty(value):
    return json.dumps(value, indent=2, ensure_ascii=False).encode() + b"\n"


def json_seeds():
    write("json", "sidecar", pretty(SIDECAR))
    write("json", "compound", pretty(COMPOUND))
    write("json", "escapes", rb'["\ud83d\ude00", "\u00e9\u0000", "\/", -0.0, 1e-300, 5e-324, -9223372036854775808]')
    write("json", "numbers", b"[0, -0, 1.5e+300, 1E-7, 18446744073709551615, 18446744073709551616, 123.456e2]")
    write("json", "nested", b'{"a": [{"b": [[[]]], "c": {}}], "": null, "t": true, "f": false}')

    edited = json.loads(json.dumps(SIDECAR))
    edited["attributes"]["scale"] = 0.25
    edited["attributes"]["new"] = [1, 2, "NaN"]
    del edited["attributes"]["units"]
    write("sidecar", "edit_attributes", pretty(SIDECAR) + b"\0" + pretty(edited))
    only = {"attributes": {"long_name": "renamed", "h5mount.mode": 420}}
    write("sidecar", "reserved_name", pretty(SIDECAR) + b"\0" + pretty(only))
    readonly = json.loads(json.dumps(SIDECAR))
    readonly["shape"] = [9, 64, 64]
    write("sidecar", "readonly_key", pretty(SIDECAR) + b"\0" + pretty(readonly))
    write("sidecar", "group_xattr", pretty(GROUP) + b"\0" + b"[1, 2.5, \"Infinity\"]")
    write("sidecar", "compound_text", pretty(COMPOUND) + b"\0" + b"counts")


def main():
    shutil.rmtree(CORPUS, ignore_errors=True)
    with tempfile.TemporaryDirectory() as scratch:
        chunks = Chunks(os.path.join(scratch, "chunks.h5"))
        codec_seeds(chunks)
        chunks.file.close()
    json_seeds()
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(CORPUS) for f in files)
    print(f"fuzz/corpus: {sum(len(f) for _, _, f in os.walk(CORPUS))} seeds, {total} bytes")


if __name__ == "__main__":
    main()
