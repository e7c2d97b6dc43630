"""What a dataset's file holds, and what its sidecar says, checked against h5py for
every dataset of every good container (the harness's own and the corpus).

The raw-array promise (docs/mapping.md): for a typed dataset with sidecar s,
numpy.fromfile(file, dtype=numpy.dtype(s["dtype"])).reshape(s["shape"]) is h5py's
ds[()], byte for byte.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os

import h5py
import numpy as np

import oracle
from oracle import Problems

BLOCK_BYTES = 32 << 20  # compare big datasets in slabs of about this size


def read_whole(path: str, problems: Problems, label: str) -> bytes | None:
    """The file's bytes; also checks that st_size tells the truth (the kernel trusts it)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
        size = os.stat(path).st_size
    except OSError as error:
        problems.append(f"{label}: {error}")
        return None
    if size != len(data):
        problems.append(f"{label}: st_size {size} but {len(data)} bytes read")
    return data


def compare_raw(path: str, ds, descriptor, shape: list[int], label: str, problems: Problems) -> None:
    """numpy.fromfile(path, dtype).reshape(shape) against ds[()], slab by slab."""
    dtype = np.dtype(descriptor)
    total = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    size = os.stat(path).st_size
    if size != total:
        problems.append(f"{label}: st_size {size}, expected {total} ({shape} x {dtype.itemsize})")
        return
    if ds.shape == () or not shape:
        try:
            arr = np.fromfile(path, dtype=dtype).reshape(shape)
        except (OSError, ValueError) as error:
            oracle.read_rows(ds, 0, 1)  # raises OracleError when h5py fails too
            problems.append(f"{label}: {error}")
            return
        _compare_block(arr, oracle.read_rows(ds, 0, 1), dtype, label, problems)
        return
    if shape[0] == 0:
        return
    row_items = int(np.prod(shape[1:], dtype=np.int64))
    row_bytes = max(1, row_items * dtype.itemsize)
    step = max(1, BLOCK_BYTES // row_bytes)
    for start in range(0, shape[0], step):
        stop = min(shape[0], start + step)
        try:
            arr = np.fromfile(path, dtype=dtype, count=(stop - start) * row_items,
                              offset=start * row_bytes).reshape([stop - start] + shape[1:])
        except (OSError, ValueError) as error:
            oracle.read_rows(ds, start, stop)  # raises OracleError when h5py fails too
            problems.append(f"{label}[{start}:{stop}]: {error}")
            return
        if not _compare_block(arr, oracle.read_rows(ds, start, stop), dtype,
                              f"{label}[{start}:{stop}]", problems):
            return


def _compare_block(arr, expected, dtype, label, problems) -> bool:
    expected = np.ascontiguousarray(expected)
    if arr.tobytes() == expected.tobytes():
        return True
    if dtype.names and expected.dtype.names:
        # Padding bytes may legitimately differ: compare member by member.
        if all(arr[n].tobytes() == np.ascontiguousarray(expected[n]).tobytes() for n in dtype.names):
            return True
    flat_a, flat_e = arr.reshape(-1), expected.reshape(-1)
    first = next((i for i in range(min(len(flat_a), len(flat_e)))
                  if flat_a[i].tobytes() != flat_e[i].tobytes()), None)
    problems.append(f"{label}: bytes differ from h5py (first differing element {first}: "
                    f"mount {flat_a[first] if first is not None else '?'!r}, "
                    f"h5py {flat_e[first] if first is not None else '?'!r})")
    return False


def expected_element_dtype(ds):
    """(numpy dtype h5py gives one element of the flattened type, type id)."""
    tid, _ = oracle.flattened_type(ds.id.get_type())
    if tid.get_class() == h5py.h5t.ENUM:
        return tid.get_super().dtype, tid
    return tid.dtype, tid


def check_dtype(side: dict, ds, label: str, problems: Problems) -> None:
    try:
        got = np.dtype(side["dtype"])
    except (TypeError, ValueError) as error:
        problems.append(f"{label}: numpy.dtype({side['dtype']!r}) fails: {error}")
        return
    want, tid = expected_element_dtype(ds)
    if tid.get_class() == h5py.h5t.COMPOUND:
        names = [tid.get_member_name(i).decode("utf-8", "surrogateescape")
                 for i in range(tid.get_nmembers())]
        offsets = [tid.get_member_offset(i) for i in range(tid.get_nmembers())]
        if (list(got.names or ()) != names or got.itemsize != tid.get_size()
                or [got.fields[n][1] for n in got.names or ()] != offsets):
            problems.append(f"{label}: compound dtype {side['dtype']!r} is not the stored layout "
                            f"(names {names}, offsets {offsets}, size {tid.get_size()})")
        return
    if got != want or got.itemsize != tid.get_size():
        problems.append(f"{label}: dtype {side['dtype']!r}, expected {want.str}")


def check_attributes(obj, attrs, label: str, problems: Problems) -> None:
    if not isinstance(attrs, dict):
        problems.append(f"{label}: attributes is not an object: {attrs!r}")
        return
    names = oracle.user_attribute_names(obj)
    if sorted(attrs, key=oracle.name_key) != names:
        problems.append(f"{label}: attribute names {sorted(attrs)} != h5py's {names}")
    for name in names:
        if name not in attrs:
            continue
        want, tol = oracle.attribute_json(obj, name)
        if want is not oracle.SKIP and not oracle.json_equal(attrs[name], want, tol):
            problems.append(f"{label}: attribute {name} = {attrs[name]!r}, h5py says {want!r}")


def check_typed_sidecar(keys, side, ds, entry, label, problems) -> None:
    want_keys = oracle.expected_sidecar_keys(ds, entry.render)
    if keys != want_keys:
        problems.append(f"{label}: keys {keys}, expected {want_keys}")
    if side.get("kind") != "dataset":
        problems.append(f"{label}: kind {side.get('kind')!r}, expected 'dataset'")
    shape = oracle.raw_shape(ds) if entry.render == "raw" else list(ds.shape)
    if side.get("shape") != shape:
        problems.append(f"{label}: shape {side.get('shape')}, h5py {shape}")
    maxshape = list(ds.maxshape) if ds.maxshape is not None else None
    _, dims = oracle.flattened_type(ds.id.get_type())
    if side.get("maxshape") not in (maxshape, (maxshape or []) + dims):
        problems.append(f"{label}: maxshape {side.get('maxshape')}, h5py {maxshape}")
    chunks = list(ds.chunks) if ds.chunks else None
    if side.get("chunks") not in (chunks, (chunks + dims) if chunks else None):
        problems.append(f"{label}: chunks {side.get('chunks')}, h5py {chunks}")
    filters = side.get("filters")
    want_filters = oracle.filters_of(ds)
    if not isinstance(filters, list) or [f.get("id") for f in filters] != [f[0] for f in want_filters]:
        problems.append(f"{label}: filters {filters!r}, h5py ids {[f[0] for f in want_filters]}")
    else:
        for got, (fid, values) in zip(filters, want_filters):
            if not isinstance(got.get("name"), str):
                problems.append(f"{label}: filter {fid} has no name")
            if isinstance(got.get("options"), list) and got["options"] != values:
                problems.append(f"{label}: filter {fid} options {got['options']}, h5py {values}")
    dcpl = ds.id.get_create_plist()
    if (dcpl.fill_value_defined() == h5py.h5d.FILL_VALUE_USER_DEFINED
            and ds.dtype.kind in "iuf" and ds.dtype.subdtype is None):
        want = np.asarray(ds.fillvalue).item()
        if not oracle.json_equal(side.get("fillvalue"), want):
            problems.append(f"{label}: fillvalue {side.get('fillvalue')!r}, h5py {want!r}")
    layout = side.get("layout")
    if isinstance(layout, str) and layout != oracle.layout_name(ds):
        problems.append(f"{label}: layout {layout!r}, h5py {oracle.layout_name(ds)!r}")
    if not isinstance(side.get("storage"), dict):
        problems.append(f"{label}: storage is not an object: {side.get('storage')!r}")
    if ds.is_virtual:
        sources = side.get("virtual_sources")
        mappings = ds.virtual_sources()
        if not isinstance(sources, list) or len(sources) != len(mappings):
            problems.append(f"{label}: virtual_sources {sources!r}, h5py has {len(mappings)}")
        else:
            for got, vmap in zip(sources, mappings):
                text = json.dumps(got)
                if vmap.file_name not in text or vmap.dset_name.strip("/") not in text:
                    problems.append(f"{label}: virtual source {got!r} does not name "
                                    f"{vmap.file_name}:{vmap.dset_name}")
    if ds.id.get_type().get_class() == h5py.h5t.ENUM:
        tid = ds.id.get_type()
        want = {tid.get_member_name(i).decode(): int(tid.get_member_value(i))
                for i in range(tid.get_nmembers())}
        if side.get("enum") != want:
            problems.append(f"{label}: enum {side.get('enum')!r}, h5py {want!r}")
    check_attributes(ds, side.get("attributes"), label, problems)


def check_json_lines(content: bytes, side: dict, ds, label: str, problems: Problems) -> None:
    if side.get("dtype") != "O" or side.get("encoding") != "json":
        problems.append(f"{label}: JSON-lines sidecar has dtype {side.get('dtype')!r}, "
                        f"encoding {side.get('encoding')!r}")
    count = int(np.prod(ds.shape, dtype=np.int64)) if ds.shape else 1
    if count and not content.endswith(b"\n"):
        problems.append(f"{label}: JSON lines do not end with a newline")
    lines = content.split(b"\n")[:-1] if content else []
    if len(lines) != count:
        problems.append(f"{label}: {len(lines)} JSON lines, {count} elements")
        return
    values = []
    for i, line in enumerate(lines):
        try:
            values.append(json.loads(line))
        except ValueError:
            problems.append(f"{label}: line {i} is not JSON: {line[:80]!r}")
            return
    tid = ds.id.get_type()
    if tid.get_class() == h5py.h5t.VLEN and tid.get_super().get_class() in (h5py.h5t.INTEGER, h5py.h5t.FLOAT):
        elements = np.asarray(oracle.oracle_read(lambda: ds[()]), dtype=object).reshape(-1)
        for i, (got, element) in enumerate(zip(values, elements)):
            if not oracle.json_equal(got, np.asarray(element).tolist()):
                problems.append(f"{label}: element {i} is {got!r}, h5py {element!r}")


def check_dataset(mnt: str, model, entry, ds, label: str, problems: Problems) -> int:
    """Checks one dataset's file and sidecar; 1 if it was checked, 0 if skipped."""
    path = os.path.join(mnt, entry.rel)
    counted = 0
    side_rel = model.sidecar_of(entry.rel)
    side_path = os.path.join(mnt, side_rel) if side_rel else None
    sidecar_exists = os.path.lexists(path + oracle.SIDECAR_SUFFIX)
    real_shadow = (entry.rel + oracle.SIDECAR_SUFFIX) in model.entries
    if side_rel is None and sidecar_exists and not real_shadow:
        problems.append(f"{label}: has a sidecar it should not ({entry.render}, no attributes)")
    if side_rel is not None and not os.path.isfile(side_path):
        if side_rel not in model.optional:
            problems.append(f"{label}: sidecar {side_rel} missing")
        return 0
    side = keys = None
    if side_rel is not None:
        raw = read_whole(side_path, problems, label + " (sidecar)")
        if raw is None:
            return 0
        try:
            keys, side = oracle.load_sidecar(side_path)
        except ValueError as error:
            problems.append(f"{label}: sidecar is not JSON: {error}")
            return 0
    counted = 1
    if side is None and entry.render in ("raw", "json"):
        # A real object NAME.attrs shadows the sidecar: the raw file is still there.
        content = read_whole(path, problems, label)
        if entry.render == "raw" and content is not None and content != oracle.expected_bytes(ds):
            problems.append(f"{label}: raw content (sidecar shadowed) differs from h5py")
        return counted
    if entry.render == "raw":
        check_typed_sidecar(keys, side, ds, entry, label + " (sidecar)", problems)
        if "encoding" in side:
            problems.append(f"{label}: fixed-size type rendered with encoding {side['encoding']!r}")
            return counted
        check_dtype(side, ds, label, problems)
        try:
            compare_raw(path, ds, side["dtype"], side.get("shape") or [], label, problems)
        except (TypeError, ValueError) as error:  # a dtype or shape numpy refuses
            problems.append(f"{label}: {error}")
    elif entry.render == "json":
        check_typed_sidecar(keys, side, ds, entry, label + " (sidecar)", problems)
        content = read_whole(path, problems, label)
        if content is not None:
            check_json_lines(content, side, ds, label, problems)
    elif entry.render in ("bytes", "text"):
        want = oracle.expected_bytes(ds) if entry.render == "bytes" else oracle.expected_text(ds)
        content = read_whole(path, problems, label)
        if content is not None and content != want:
            problems.append(f"{label}: {entry.render} content {content[:60]!r}... "
                            f"!= h5py's {want[:60]!r}... ({len(content)} vs {len(want)} bytes)")
        if side is not None:
            if side.get("kind") != "dataset":
                problems.append(f"{label}: sidecar kind {side.get('kind')!r}")
            check_attributes(ds, side.get("attributes"), label + " (sidecar)", problems)
    return counted


def check_container(mnt: str, container, problems: Problems) -> int:
    """Checks every dataset's file and sidecar; returns how many datasets were checked."""
    model = oracle.walk(container)
    checked = 0
    # h5py resolves relative external raw files from the working directory: read beside
    # the container, as its author did.
    with contextlib.chdir(os.path.dirname(os.path.abspath(container))), h5py.File(container, "r") as f:
        for entry in model.datasets():
            if entry.rel in model.optional:
                continue
            label = f"{os.path.basename(container)}:{entry.h5path}"
            try:
                checked += check_dataset(mnt, model, entry, f[entry.h5path], label, problems)
            except oracle.OracleError:
                # Unreadable for h5py too (a corrupt chunk, a missing raw file...): nothing to
                # compare with; if the mount fails as well, it must say EIO.
                try:
                    with open(os.path.join(mnt, entry.rel), "rb") as data:
                        data.read()
                except OSError as error:
                    if error.errno != errno.EIO:
                        problems.append(f"{label}: unreadable object answered {error!r}, expected EIO")
        # Group sidecars.
        for side_rel, owner in model.sidecars.items():
            entry = model.entries.get(owner)
            if entry is None or entry.kind != "dir" or side_rel in model.optional:
                continue
            label = f"{os.path.basename(container)}:{entry.h5path} (.attrs)"
            side_path = os.path.join(mnt, side_rel)
            if read_whole(side_path, problems, label) is None:
                continue
            try:
                _, side = oracle.load_sidecar(side_path)
            except ValueError as error:
                problems.append(f"{label}: not JSON: {error}")
                continue
            if "kind" in side and side["kind"] != "group":
                problems.append(f"{label}: kind {side['kind']!r}, expected 'group'")
            check_attributes(f[entry.h5path], side.get("attributes"), label, problems)
    return checked


def test_every_dataset_matches_h5py(mounter, containers):
    """Raw arrays, byte and text datasets, JSON lines and sidecars of every dataset."""
    problems = Problems()
    checked = 0
    for container in containers:
        with mounter.mounted(container) as mnt:
            checked += check_container(mnt.path, container, problems)
    problems.check()
    assert checked > 0, "no dataset was checked"


def test_raw_array_promise_by_numpy_fromfile(mounter, features):
    """The promise as a user writes it, on a compound, a big-endian and an array-typed dataset."""
    with mounter.mounted(features.types) as mnt, h5py.File(features.types) as f:
        for name in ("compound/padded", "ints/i64_be", "arrays/mat23", "layouts/gzip_shuffle_fletcher",
                     "layouts/lz4", "layouts/bslz4", "layouts/sparse", "ints/enum_u16"):
            with open(mnt / (name + ".attrs")) as s:
                side = json.load(s)
            arr = np.fromfile(mnt / name, dtype=np.dtype(side["dtype"])).reshape(side["shape"])
            want = np.asarray(f[name][()])
            assert arr.tobytes() == np.ascontiguousarray(want).tobytes(), name


def test_specific_renderings(mounter, features):
    """Exact file contents the mapping promises for a few hand-made datasets."""
    with mounter.mounted(features.types) as mnt:
        def content(name):
            with open(mnt / name, "rb") as f:
                return f.read()

        assert content("ints/u8_bytes") == b"raw bytes\x00\xff\n"
        assert content("ints/i8_scalar") == b"\xfb"
        assert content("opaque/v4_1d") == bytes(range(12))
        assert content("opaque/v16_scalar") == bytes(range(16))
        assert content("strings/fixed") == b"alpha\nbe\n\ngamma123\n"
        assert content("strings/vlen") == "alpha\nbéta\n\nγάμμα δ\n".encode()
        assert content("strings/scalar_vlen") == b"hello world\n"
        assert content("strings/scalar_fixed") == b"fixed text\n"
        assert content("strings/space_padded") == b"ab\ncdef\n"
        assert content("strings/vlen_2d") == b"a\nb\nc\nd\n"
        assert [json.loads(line) for line in content("json/vlen_i4").splitlines()] == [[1, 2, 3], [], [-7]]
        for name in ("ints/u8_bytes", "strings/vlen", "opaque/v4_1d"):
            assert not os.path.lexists(mnt / (name + ".attrs")), f"{name} has a sidecar"
        assert os.path.isfile(mnt / "strings/with_attrs.attrs")
        keys, side = oracle.load_sidecar(mnt / "ints/enum_u16.attrs")
        assert keys[:3] == ["kind", "dtype", "enum"]
        assert side["dtype"] == "<u2" and side["enum"] == {"OFF": 0, "ON": 1, "FAULT": 2}
        keys, side = oracle.load_sidecar(mnt / "json/vlen_i4.attrs")
        assert keys[:3] == ["kind", "dtype", "encoding"] and side["dtype"] == "O"
        with open(mnt / "arrays/vec3.attrs") as s:
            side = json.load(s)
        assert side["dtype"] == "<f4" and side["shape"] == [4, 3]
        with open(mnt / "ints/bitfield16.attrs") as s:
            assert json.load(s)["dtype"] == "<u2"
        with open(mnt / "opaque/v4_2d.attrs") as s:
            assert json.load(s)["dtype"] == "|V4"
        with open(mnt / "floats/f32.attrs") as s:
            attrs = json.load(s)["attributes"]
        assert "h5mount.mode" not in attrs
        assert attrs["units"] == "counts" and attrs["big"] == 2**64 - 1 and attrs["nan"] == "NaN"
        assert attrs["shape_hint"] == [3, 4]
