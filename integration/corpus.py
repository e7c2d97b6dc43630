#!/usr/bin/env python3
"""Writes h5mount's test corpus: small HDF5 files that exercise every datatype,
layout, filter and link kind h5mount has to show. Deterministic (seeded), so
tests may assert exact values. Usage: ``corpus.py OUTDIR``.

Files written into OUTDIR:

``types.h5``
    One dataset per datatype, under ``/numeric`` (int8..int64 and uint8..uint64
    little and big endian, float16/32/64 both orders), ``/compound`` (packed;
    nested with explicit offsets and padding, itemsize 64, an array member;
    with a vlen string member), ``/enum`` (int8 and big-endian uint32 bases,
    numpy bool), ``/array`` (top-level array types (3,)f4 and (2,3)i2),
    ``/bitfield`` (8- and 16-bit), ``/opaque`` (numpy V8 with an empty tag,
    and a tagged 4-byte opaque), ``/strings`` (fixed ascii/utf8 null-padded,
    space-padded, null-terminated, scalar and arrays; vlen ascii/utf8 scalar,
    1-D and 2-D, one element holding an invalid UTF-8 byte), ``/vlen``
    (sequences of int32 and float64), ``/refs`` (object and region
    references), ``/shapes`` (scalar, zero-size (0,) and (3,0), null
    dataspace), ``/layouts`` (compact, contiguous, external raw file,
    chunked gzip+shuffle+fletcher32 with partial edge chunks, lz4 and
    bitshuffle+lz4 via hdf5plugin, a fill value with unallocated chunks,
    an unlimited dimension, a virtual dataset over this same file),
    ``/attrs`` (a group and a dataset carrying attributes of many types),
    ``/names`` (odd names, one not valid UTF-8, a name longer than 255 bytes) and ``/shadow``
    (objects named ``x.attrs`` and ``.attrs`` next to ``x``).
``types_external.bin``
    Raw bytes of ``/layouts/external`` (HDF5 external storage, relative name).
``links.h5``
    Soft links (absolute, relative, dangling), hard links to a dataset and a
    group (and a cycle: ``/group/sub/loop`` is ``/group``), external links to
    ``ext_target.h5`` (a group, a dataset, and one to a missing file), and
    ``/vds``: a (4, 10) int32 virtual dataset, fill value -1, whose rows come
    from ``vds_src_0..3.h5`` by relative name; ``vds_src_3.h5`` is not written,
    so row 3 reads as the fill value.
``ext_target.h5``, ``vds_src_0.h5`` .. ``vds_src_2.h5``
    Targets of the external links and the VDS sources (``/data``: i*100 + arange(10)).
``tree.h5`` and ``tree_src/``
    A small directory tree packed like the seed's h5zip: every file a 1-D
    uint8 dataset compressed with gzip 9, every directory a group.
``bytes.h5``
    int8/uint8 1-D datasets, an opaque dataset, a uint8 dataset with attributes.
``swmr.h5``
    Written with libver="latest" in SWMR mode: ``/growing``, int32 arange(4), unlimited.
``expected/<file>/<dataset path>.expected.bin``
    What numpy wrote for every fixed-size dataset of types.h5 and bytes.h5:
    the raw array in C order, as stored.
``expected.json``
    ``plugin_path``: hdf5plugin's filter directory. ``files``: for every dataset
    (odd names excepted), keyed by file then path, what h5py says: contiguous
    ``offset``, ``storage_size``, ``chunks`` shape, ``stored`` (``get_chunk_info``
    of every stored chunk: origin, byte offset, size, filter mask) and
    ``expected_bin`` (whether an ``.expected.bin`` exists).
"""
import json
import os
import shutil
import sys

import h5py
import hdf5plugin
import numpy as np

SEED = 20240611
MANIFEST = {"plugin_path": hdf5plugin.PLUGIN_PATH, "files": {}}


def rng():
    return np.random.default_rng(SEED)


def record_expected(outdir, filename, ds):
    """Writes the raw bytes numpy wrote for a fixed-size dataset; False when it has no raw form."""
    if ds.shape is None or ds.dtype.hasobject or h5py.check_vlen_dtype(ds.dtype) is not None:
        return False
    path = os.path.join(outdir, "expected", filename, ds.name.lstrip("/") + ".expected.bin")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    # Read with the file type itself as memory type (h5py's own read would fail on a tagged
    # opaque): the bytes are exactly what is stored, which is what numpy wrote.
    data = np.empty(ds.shape, dtype=ds.dtype)
    if data.size:
        ds.id.read(h5py.h5s.ALL, h5py.h5s.ALL, data, mtype=ds.id.get_type())
    with open(path, "wb") as out:
        out.write(data.tobytes())
    return True


def record_facts(filename, ds, has_expected):
    """What h5py (HDF5 2.0) says about a dataset's storage: the oracle for h5mount's answers."""
    facts = {"offset": ds.id.get_offset(), "storage_size": ds.id.get_storage_size(),
             "chunks": list(ds.chunks) if ds.chunks else None, "stored": [],
             "expected_bin": has_expected}
    if ds.chunks is not None:
        for i in range(ds.id.get_num_chunks()):
            info = ds.id.get_chunk_info(i)
            facts["stored"].append({"origin": list(info.chunk_offset), "offset": info.byte_offset,
                                    "size": info.size, "filter_mask": info.filter_mask})
    MANIFEST["files"].setdefault(filename, {})[ds.name] = facts


def walk_datasets(f):
    """Every dataset once (visititems visits each object once), odd names under /names left out."""
    found = []

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset) and isinstance(name, str) and not name.startswith("names/"):
            found.append(obj)
    f.visititems(visit)
    return found


def lowlevel_dataset(group, name, tid, data, shape=None, layout=None):
    """Creates a dataset with an explicit file type (bitfield, tagged opaque, padded strings, compact)."""
    shape = data.shape if shape is None else shape
    space = h5py.h5s.create_simple(shape) if shape != () else h5py.h5s.create(h5py.h5s.SCALAR)
    dcpl = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
    if layout is not None:
        dcpl.set_layout(layout)
    dsid = h5py.h5d.create(group.id, name.encode(), tid, space, dcpl=dcpl)
    dsid.write(h5py.h5s.ALL, h5py.h5s.ALL, np.ascontiguousarray(data), mtype=tid)
    return group[name]


def fixed_string_type(size, pad, cset=h5py.h5t.CSET_ASCII):
    tid = h5py.h5t.C_S1.copy()
    tid.set_size(size)
    tid.set_strpad(pad)
    tid.set_cset(cset)
    return tid


def write_numeric(f):
    g = f.create_group("numeric")
    r = rng()
    for bits in (8, 16, 32, 64):
        for kind in ("i", "u"):
            orders = ("<",) if bits == 8 else ("<", ">")
            for order in orders:
                dt = np.dtype(f"{order}{kind}{bits // 8}")
                info = np.iinfo(dt)
                values = r.integers(info.min, info.max, size=10, dtype=dt.newbyteorder("="), endpoint=True)
                values[0], values[1] = info.min, info.max
                name = f"{'int' if kind == 'i' else 'uint'}{bits}" + ("" if bits == 8 else ("_le" if order == "<" else "_be"))
                g.create_dataset(name, data=values.astype(dt))
    for size in (2, 4, 8):
        for order in ("<", ">"):
            dt = np.dtype(f"{order}f{size}")
            values = np.array([0.0, -1.5, 3.25, np.inf, -np.inf, np.nan, 1e-3, 65504.0], dtype=dt)
            g.create_dataset(f"float{size * 8}_{'le' if order == '<' else 'be'}", data=values)


def write_compound(f):
    g = f.create_group("compound")
    packed = np.dtype([("x", "<f4"), ("y", "<i8")])
    data = np.zeros(3, dtype=packed)
    data["x"] = [1.5, -2.0, 3.0]
    data["y"] = [10, -20, 2**40]
    g.create_dataset("packed", data=data)

    inner = np.dtype({"names": ["x", "y"], "formats": ["u1", "<i4"], "offsets": [0, 4], "itemsize": 12})
    outer = np.dtype({"names": ["a", "b", "inner", "arr"],
                      "formats": ["<i2", ">f8", inner, ("<i4", (2, 3))],
                      "offsets": [0, 4, 16, 28], "itemsize": 64})
    data = np.zeros(4, dtype=outer)
    for i in range(4):
        data[i]["a"] = -i
        data[i]["b"] = i * 0.5
        data[i]["inner"]["x"] = 200 + i
        data[i]["inner"]["y"] = -1000 * i
        data[i]["arr"] = np.arange(6).reshape(2, 3) + 10 * i
    g.create_dataset("nested", data=data)

    with_vlen = np.dtype([("id", "<i4"), ("name", h5py.string_dtype("utf-8"))])
    data = np.array([(1, "one"), (2, "zwei"), (3, "três")], dtype=with_vlen)
    g.create_dataset("with_vlen_string", data=data)


def write_enum(f):
    g = f.create_group("enum")
    colors = h5py.enum_dtype({"RED": 0, "GREEN": 1, "BLUE": 42}, basetype="i1")
    g.create_dataset("int8", data=np.array([0, 1, 42, 1], dtype="i1"), dtype=colors)
    big = h5py.enum_dtype({"LOW": 1, "HIGH": 70000}, basetype=">u4")
    g.create_dataset("uint32_be", data=np.array([1, 70000, 70000], dtype=">u4"), dtype=big)
    g.create_dataset("bool", data=np.array([True, False, True]))


def write_array(f):
    g = f.create_group("array")
    ds = g.create_dataset("f4x3", (5,), dtype=np.dtype("(3,)<f4"))
    ds[...] = np.arange(15, dtype="<f4").reshape(5, 3) / 4
    ds = g.create_dataset("i2x2x3", (2,), dtype=np.dtype("(2,3)<i2"))
    ds[...] = -np.arange(12, dtype="<i2").reshape(2, 2, 3)


def write_bitfield_opaque(f):
    g = f.create_group("bitfield")
    lowlevel_dataset(g, "b8", h5py.h5t.STD_B8LE, np.array([1, 2, 4, 128], dtype="u1"))
    lowlevel_dataset(g, "b16", h5py.h5t.STD_B16LE, np.array([1, 256, 0xBEEF, 0xFFFF, 0, 7], dtype="<u2"))
    g = f.create_group("opaque")
    data = np.frombuffer(bytes(range(32)), dtype="V8")
    g.create_dataset("v8", data=data)
    tid = h5py.h5t.create(h5py.h5t.OPAQUE, 4)
    tid.set_tag(b"h5mount tag")
    lowlevel_dataset(g, "tagged", tid, np.frombuffer(b"ABCDEFGHIJKL", dtype="V4"))


def write_strings(f):
    g = f.create_group("strings")
    g.create_dataset("fixed_ascii", data=np.array([b"alpha", b"be", b"gamma-ray!"], dtype="S10"))
    g.create_dataset("fixed_ascii_scalar", data=np.bytes_(b"hello"))
    lowlevel_dataset(g, "fixed_utf8", fixed_string_type(12, h5py.h5t.STR_NULLPAD, h5py.h5t.CSET_UTF8),
                     np.array(["café".encode(), "naïve".encode(), b"x"], dtype="S12"))
    lowlevel_dataset(g, "fixed_spacepad", fixed_string_type(8, h5py.h5t.STR_SPACEPAD),
                     np.array([b"pad     ", b"two  x  ", b"        "], dtype="S8"))
    lowlevel_dataset(g, "fixed_nullterm", fixed_string_type(6, h5py.h5t.STR_NULLTERM),
                     np.array([b"abc\0zz", b"abcde\0", b"\0\0\0\0\0\0"], dtype="S6"))
    ascii_vlen = h5py.string_dtype("ascii")
    utf8_vlen = h5py.string_dtype("utf-8")
    g.create_dataset("vlen_ascii_scalar", data=b"just ascii", dtype=ascii_vlen)
    g.create_dataset("vlen_utf8_scalar", data="größe ✓", dtype=utf8_vlen)
    g.create_dataset("vlen_utf8", data=["one", "two", "", "drei ✓"], dtype=utf8_vlen)
    g.create_dataset("vlen_utf8_2d", data=np.array([["a", "b", "c"], ["d", "e", "f"]], dtype=object),
                     dtype=utf8_vlen)
    g.create_dataset("vlen_ascii_badbyte", data=np.array([b"plain", b"bad\xffbyte"], dtype=object),
                     dtype=ascii_vlen)


def write_vlen_refs(f):
    g = f.create_group("vlen")
    ints = h5py.vlen_dtype(np.dtype("<i4"))
    ds = g.create_dataset("int32", (3,), dtype=ints)
    ds[0] = np.array([1], dtype="<i4")
    ds[1] = np.array([2, 3], dtype="<i4")
    ds[2] = np.array([], dtype="<i4")
    floats = h5py.vlen_dtype(np.dtype("<f8"))
    ds = g.create_dataset("float64", (2,), dtype=floats)
    ds[0] = np.array([0.5, np.nan], dtype="<f8")
    ds[1] = np.array([-1.0], dtype="<f8")
    g = f.create_group("refs")
    target = f["numeric/int32_le"]
    refs = g.create_dataset("object", (3,), dtype=h5py.ref_dtype)
    refs[0] = target.ref
    refs[1] = f["compound"].ref
    # element 2 stays a null reference
    regions = g.create_dataset("region", (1,), dtype=h5py.regionref_dtype)
    regions[0] = target.regionref[2:5]


def write_shapes(f):
    g = f.create_group("shapes")
    g.create_dataset("scalar_f8", data=np.float64(2.5))
    g.create_dataset("scalar_i4", data=np.int32(-42))
    g.create_dataset("empty_1d", shape=(0,), dtype="<f4")
    g.create_dataset("empty_2d", shape=(3, 0), dtype="<i2")
    g.create_dataset("null", data=h5py.Empty("<f4"))


def write_layouts(f, outdir):
    g = f.create_group("layouts")
    lowlevel_dataset(g, "compact", h5py.h5t.STD_I32LE, np.arange(5, dtype="<i4") * 3, layout=h5py.h5d.COMPACT)
    g.create_dataset("contiguous", data=np.arange(20, dtype="<f8").reshape(4, 5) / 8)
    external = np.arange(12, dtype="<u2") * 11
    with open(os.path.join(outdir, "types_external.bin"), "wb") as raw:
        raw.write(external.tobytes())
    g.create_dataset("external", shape=(12,), dtype="<u2", external=[("types_external.bin", 0, external.nbytes)])
    r = rng()
    g.create_dataset("chunked_gzip", data=r.integers(-1000, 1000, size=(25, 30), dtype="<i4"),
                     chunks=(10, 8), compression="gzip", compression_opts=4, shuffle=True, fletcher32=True)
    g.create_dataset("chunked_lz4", data=(np.arange(1000, dtype="<u2") % 37),
                     chunks=(128,), **hdf5plugin.LZ4())
    g.create_dataset("chunked_bslz4", data=r.poisson(3.0, size=(3, 64, 50)).astype("<u2"),
                     chunks=(1, 32, 50), **hdf5plugin.Bitshuffle(cname="lz4"))
    sparse = g.create_dataset("chunked_fill", shape=(40,), dtype="<i2", chunks=(10,), fillvalue=-7)
    sparse[0:10] = np.arange(10, dtype="<i2")
    sparse[35:40] = 5
    grow = g.create_dataset("chunked_unlimited", shape=(3, 4), maxshape=(None, 4), dtype="<f4", chunks=(2, 4))
    grow[...] = np.arange(12, dtype="<f4").reshape(3, 4)
    layout = h5py.VirtualLayout(shape=(2, 5), dtype="<f8")
    layout[0] = h5py.VirtualSource(".", "/layouts/contiguous", shape=(4, 5))[1]
    layout[1] = h5py.VirtualSource(".", "/layouts/contiguous", shape=(4, 5))[3]
    g.create_virtual_dataset("virtual", layout, fillvalue=-2.0)


def write_attributes(f):
    g = f.create_group("attrs")
    for obj in (g, g.create_dataset("dataset", data=np.arange(3, dtype="<i4"))):
        a = obj.attrs
        a["int"] = np.int32(-5)
        a["uint64_max"] = np.uint64(2**64 - 1)
        a["int64_min"] = np.int64(-2**63)
        a["float"] = np.float64(0.25)
        a["nan"] = np.float32(np.nan)
        a["inf"] = np.float64(np.inf)
        a["neg_inf"] = np.float64(-np.inf)
        a["vlen_utf8"] = "héllo"
        a["fixed_ascii"] = np.bytes_(b"fixed")
        a["ints_1d"] = np.array([1, 2, 3], dtype=">i2")
        a["floats_2d"] = np.array([[1.0, 2.0], [3.0, 4.5]], dtype="<f4")
        a["strings"] = np.array(["a", "bc"], dtype=h5py.string_dtype("utf-8"))
        a["compound"] = np.array((7, 1.5), dtype=[("n", "<i4"), ("v", "<f8")])
        a.create("enum", data=np.int8(42),
                 dtype=h5py.enum_dtype({"RED": 0, "GREEN": 1, "BLUE": 42}, basetype="i1"))
        a["bool"] = np.bool_(True)
        a["opaque"] = np.void(b"\x01\x02\xfe")
        a["ref"] = f["numeric/int32_le"].ref
        a.create("vlen_seq", shape=(2,), dtype=h5py.vlen_dtype(np.dtype("<i4")),
                 data=np.array([np.array([1, 2], dtype="<i4"), np.array([3], dtype="<i4")], dtype=object))
        a["empty"] = h5py.Empty("<f4")
        a["zero_length"] = np.zeros((0,), dtype="<i4")
    f.attrs["root_attr"] = "on the root"


def write_names(f):
    g = f.create_group("names")
    for name in ("with space", "new\nline", "ünïcødé ✓", "percent%2Fslash", "tab\there"):
        g.create_dataset(name, data=np.arange(2, dtype="<i4"))
    g.create_dataset("L" * 300, data=np.arange(1, dtype="<i4"))
    g.create_dataset(b"bad\xffname", data=np.arange(3, dtype="<i4"))
    s = f.create_group("shadow")
    s.create_dataset("x", data=np.arange(4, dtype="<f4"))
    s.create_dataset("x.attrs", data=np.array([9], dtype="<i4"))
    s.create_group(".attrs")
    s["x"].attrs["unit"] = "m"


def write_types(outdir):
    with h5py.File(os.path.join(outdir, "types.h5"), "w") as f:
        write_numeric(f)
        write_compound(f)
        write_enum(f)
        write_array(f)
        write_bitfield_opaque(f)
        write_strings(f)
        write_vlen_refs(f)
        write_shapes(f)
        write_layouts(f, outdir)
        write_attributes(f)
        write_names(f)


def write_links(outdir):
    with h5py.File(os.path.join(outdir, "ext_target.h5"), "w") as f:
        f.create_group("target_group").create_dataset("hello", data=np.arange(3, dtype="<i8"))
        f.create_dataset("target_data", data=np.array([1.5, 2.5], dtype="<f8"))
    for i in range(3):  # vds_src_3.h5 is deliberately missing
        with h5py.File(os.path.join(outdir, f"vds_src_{i}.h5"), "w") as f:
            f.create_dataset("data", data=(i * 100 + np.arange(10)).astype("<i4"))
    with h5py.File(os.path.join(outdir, "links.h5"), "w") as f:
        f.create_dataset("data", data=np.arange(12, dtype="<i4"))
        group = f.create_group("group")
        group.create_dataset("inner", data=np.array([7, 8], dtype="<i2"))
        f["soft_abs"] = h5py.SoftLink("/group/inner")
        group["soft_rel"] = h5py.SoftLink("inner")
        f["dangling"] = h5py.SoftLink("/nope")
        f["hard_data"] = f["data"]
        sub = group.create_group("sub")
        sub["loop"] = group
        f["alias_group"] = group
        f["ext"] = h5py.ExternalLink("ext_target.h5", "/target_group")
        f["ext_ds"] = h5py.ExternalLink("ext_target.h5", "/target_data")
        f["ext_missing"] = h5py.ExternalLink("no_such.h5", "/x")
        layout = h5py.VirtualLayout(shape=(4, 10), dtype="<i4")
        for i in range(4):
            layout[i] = h5py.VirtualSource(f"vds_src_{i}.h5", "data", shape=(10,))
        f.create_virtual_dataset("vds", layout, fillvalue=-1)


TREE = {
    "README.txt": b"h5mount test tree\nsecond line\n",
    "empty.txt": b"",
    "src/main.c": b"int main(void) { return 0; }\n",
    "src/lib/util.py": b"def f():\n    return 42\n" * 20,
    "data/random.bin": None,  # seeded random bytes
    "data/zeros.bin": bytes(5000),
    "odd names/file with spaces.txt": "ünïcødé content ✓\n".encode(),
}


def write_tree(outdir):
    src = os.path.join(outdir, "tree_src")
    for rel, content in TREE.items():
        if content is None:
            content = rng().integers(0, 256, size=70000, dtype=np.uint8).tobytes()
        path = os.path.join(src, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as out:
            out.write(content)
    os.makedirs(os.path.join(src, "empty_dir"), exist_ok=True)
    with h5py.File(os.path.join(outdir, "tree.h5"), "w") as f:
        for root, dirs, files in os.walk(src):
            rel_root = os.path.relpath(root, src)
            group = f if rel_root == "." else f.require_group(rel_root)
            for d in sorted(dirs):
                group.require_group(d)
            for name in sorted(files):
                with open(os.path.join(root, name), "rb") as raw:
                    data = np.frombuffer(raw.read(), dtype=np.uint8)
                if data.size:
                    group.create_dataset(name, data=data, compression="gzip", compression_opts=9)
                else:
                    group.create_dataset(name, shape=(0,), dtype=np.uint8)


def write_bytes(outdir):
    with h5py.File(os.path.join(outdir, "bytes.h5"), "w") as f:
        f.create_dataset("int8", data=np.arange(-128, 128, dtype="i1"))
        f.create_dataset("uint8", data=np.frombuffer(b"plain bytes\n", dtype="u1"))
        f.create_dataset("opaque", data=np.frombuffer(b"\x00\x01\x02\x03\xff", dtype="V1"))
        ds = f.create_dataset("with_attrs", data=np.frombuffer(b"abc", dtype="u1"))
        ds.attrs["note"] = "bytes with attributes"
        ds.attrs["version"] = np.int64(3)


def write_swmr(outdir):
    with h5py.File(os.path.join(outdir, "swmr.h5"), "w", libver="latest") as f:
        ds = f.create_dataset("growing", shape=(4,), maxshape=(None,), chunks=(2,), dtype="<i4")
        f.swmr_mode = True
        ds[...] = np.arange(4, dtype="<i4")
        ds.flush()


def main(argv):
    if len(argv) != 2:
        sys.exit("usage: corpus.py OUTDIR")
    outdir = argv[1]
    os.makedirs(outdir, exist_ok=True)
    shutil.rmtree(os.path.join(outdir, "expected"), ignore_errors=True)
    shutil.rmtree(os.path.join(outdir, "tree_src"), ignore_errors=True)
    write_types(outdir)
    write_links(outdir)
    write_tree(outdir)
    write_bytes(outdir)
    write_swmr(outdir)
    for filename in ("types.h5", "bytes.h5", "tree.h5", "links.h5"):
        with h5py.File(os.path.join(outdir, filename), "r") as f:
            for ds in walk_datasets(f):
                has_expected = (filename in ("types.h5", "bytes.h5") and ds.name != "/layouts/external"
                                and record_expected(outdir, filename, ds))
                record_facts(filename, ds, bool(has_expected))
    with open(os.path.join(outdir, "expected.json"), "w") as out:
        json.dump(MANIFEST, out, indent=1, sort_keys=True)


if __name__ == "__main__":
    main(sys.argv)
