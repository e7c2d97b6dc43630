"""What the mount must show for a container, computed with h5py (the oracle).

`walk(path)` visits the container like the filesystem does: breadth first from the
root, names in byte order, each group expanded once, at its canonical path (fewest
components, then byte order); every later path to the same group is a symbolic link.
It yields a `Model`: every name the mount must list, with its kind, and the sidecars.
`expected_content(ds)` is a dataset's file content for the byte, text and raw renderings.
"""

from __future__ import annotations

import json
import math
import posixpath
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import hdf5plugin  # noqa: F401  (so h5py reads LZ4 / bitshuffle data)
import numpy as np
import pytest

NAME_MAX = 255
RESERVED_PREFIX = "h5mount."
SIDECAR_SUFFIX = ".attrs"
SKIP = object()  # an attribute value whose JSON form the contract leaves open


def posix_name_ok(name: str) -> bool:
    raw = name.encode("utf-8", "surrogateescape")
    return raw not in (b"", b".", b"..") and len(raw) <= NAME_MAX and b"/" not in raw


def name_key(name) -> bytes:
    """A link name's bytes (h5py gives names that are not UTF-8 as bytes)."""
    return name if isinstance(name, bytes) else name.encode("utf-8", "surrogateescape")


def display_name(name) -> str:
    """The name the mount lists: bytes that are not UTF-8 become U+FFFD (docs/mapping.md)."""
    return name.decode("utf-8", "replace") if isinstance(name, bytes) else name


def h5_join(directory, name):
    """An HDF5 path h5py opens; bytes as soon as one component is not UTF-8."""
    if isinstance(directory, bytes) or isinstance(name, bytes):
        return posixpath.join(name_key(directory), name_key(name))
    return posixpath.join(directory, name)


def object_address(obj) -> int:
    return h5py.h5o.get_info(obj.id).addr


def reference_count(obj) -> int:
    return h5py.h5o.get_info(obj.id).rc


# ---------------------------------------------------------------- renderings

def flattened_type(tid):
    """(element type id, extra dims) of a top-level array type (dims appended to the shape)."""
    dims: list[int] = []
    while tid.get_class() == h5py.h5t.ARRAY:
        dims += list(tid.get_array_dims())
        tid = tid.get_super()
    return tid, dims


def has_fixed_raw_form(tid, inside: bool = False) -> bool:
    """Whether a type has a numpy spelling of fixed size (else it is rendered as JSON lines).

    Mirrors docs/mapping.md: numbers, bitfields, opaque, enums, fixed strings, compounds
    of those, arrays of non-compound types. Variable-length data, references, times: no.
    """
    cls = tid.get_class()
    if cls in (h5py.h5t.INTEGER, h5py.h5t.FLOAT, h5py.h5t.BITFIELD, h5py.h5t.OPAQUE, h5py.h5t.ENUM):
        return True
    if cls == h5py.h5t.STRING:
        return not tid.is_variable_str()
    if cls == h5py.h5t.COMPOUND:
        return all(has_fixed_raw_form(tid.get_member_type(i), True) for i in range(tid.get_nmembers()))
    if cls == h5py.h5t.ARRAY:
        base = tid.get_super()
        if base.get_class() == h5py.h5t.COMPOUND:
            return False
        return has_fixed_raw_form(base, True)
    return False


def rendering(ds) -> str:
    """"bytes", "text", "raw", "json" or "null" (null dataspace: content not checked)."""
    if ds.shape is None:
        return "null"
    tid = ds.id.get_type()
    cls = tid.get_class()
    rank = len(ds.shape)
    if rank <= 1 and ((cls == h5py.h5t.INTEGER and tid.get_size() == 1) or cls == h5py.h5t.OPAQUE):
        return "bytes"
    if cls == h5py.h5t.STRING:
        return "text"
    return "raw" if has_fixed_raw_form(tid) else "json"


def raw_shape(ds) -> list[int]:
    """The sidecar's shape: the dataset's, with a top-level array type's dims appended."""
    _, dims = flattened_type(ds.id.get_type())
    return list(ds.shape) + dims


def user_attribute_names(obj) -> list[str]:
    return sorted((n for n in obj.attrs.keys() if not display_name(n).startswith(RESERVED_PREFIX)),
                  key=name_key)


class OracleError(Exception):
    """h5py itself cannot read the data (a corrupt chunk, a missing filter...)."""


def oracle_read(read):
    """Runs an h5py read; its failure is the oracle's, not the mount's."""
    try:
        return read()
    except Exception as error:
        raise OracleError(f"h5py cannot read it either: {error}") from error


def _strip_string(value: bytes, strpad: int) -> bytes:
    if strpad == h5py.h5t.STR_SPACEPAD:
        return value.rstrip(b" ")
    return value.rstrip(b"\0")


def text_elements(ds) -> list[bytes]:
    """A string dataset's elements as bytes, in C order, padding removed."""
    tid = ds.id.get_type()
    strpad = None if tid.is_variable_str() else tid.get_strpad()
    flat = np.asarray(oracle_read(lambda: ds[()]), dtype=object).reshape(-1)
    out = []
    for item in flat:
        if isinstance(item, str):
            item = item.encode("utf-8", "surrogateescape")
        item = bytes(item)
        item = item if strpad is None else _strip_string(item, strpad)
        # Text is UTF-8: bytes that are not become U+FFFD.
        out.append(item.decode("utf-8", "replace").encode("utf-8"))
    return out


def expected_text(ds) -> bytes:
    return b"".join(e + b"\n" for e in text_elements(ds))


def expected_bytes(ds) -> bytes:
    return np.ascontiguousarray(np.asarray(oracle_read(lambda: ds[()]))).tobytes()


def read_rows(ds, start: int, stop: int):
    """Rows start..<stop of a dataset as numpy (scalars: the one value, as an array)."""
    if ds.shape == ():
        return np.asarray(oracle_read(lambda: ds[()]))
    return np.asarray(oracle_read(lambda: ds[start:stop]))


# ---------------------------------------------------------------- JSON of attributes

def _jsonable(value, float_tol: float):
    """(expected JSON value, relative float tolerance), or SKIP."""
    if isinstance(value, h5py.Empty):
        return SKIP
    if isinstance(value, (bytes, np.bytes_)):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return SKIP
    if isinstance(value, str):
        return value
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "SUO":
            items = [_jsonable(v, float_tol) for v in value.reshape(-1)]
            if any(i is SKIP for i in items):
                return SKIP
            return np.array(items, dtype=object).reshape(value.shape).tolist()
        if value.dtype.kind in "iuf":
            return value.tolist()
        return SKIP
    if isinstance(value, np.generic):
        if value.dtype.kind in "iuf":
            return value.item()
        return SKIP
    if isinstance(value, (int, float)):
        return value
    return SKIP


def attribute_json(obj, name: str):
    """(expected JSON of an attribute, float tolerance) — SKIP where the contract is open
    (enums/booleans, compounds, references, empty attributes)."""
    aid = obj.attrs.get_id(name)
    tid = aid.get_type()
    cls = tid.get_class()
    if cls in (h5py.h5t.ENUM, h5py.h5t.COMPOUND, h5py.h5t.REFERENCE, h5py.h5t.VLEN,
               h5py.h5t.OPAQUE, h5py.h5t.BITFIELD, h5py.h5t.ARRAY):
        return SKIP, 0.0
    tol = 0.0
    if cls == h5py.h5t.FLOAT:
        tol = {2: 1e-3, 4: 1e-6}.get(tid.get_size(), 0.0)
    try:
        value = obj.attrs[name]
    except Exception:
        return SKIP, 0.0
    return _jsonable(value, tol), tol


def attribute_is_scalar_string(obj, name: str) -> bool:
    aid = obj.attrs.get_id(name)
    return aid.get_type().get_class() == h5py.h5t.STRING and aid.shape == ()


def json_equal(actual, expected, tol: float = 0.0) -> bool:
    """JSON equality where non-finite floats are the strings "NaN", "Infinity", "-Infinity"."""
    if isinstance(expected, float):
        if math.isnan(expected):
            return actual == "NaN"
        if math.isinf(expected):
            return actual == ("Infinity" if expected > 0 else "-Infinity")
        if isinstance(actual, bool) or not isinstance(actual, (int, float)):
            return False
        return actual == expected if tol == 0 else math.isclose(actual, expected, rel_tol=tol)
    if isinstance(expected, bool):
        return actual is expected
    if isinstance(expected, int):
        return not isinstance(actual, bool) and isinstance(actual, (int, float)) and actual == expected
    if isinstance(expected, list):
        return (isinstance(actual, list) and len(actual) == len(expected)
                and all(json_equal(a, e, tol) for a, e in zip(actual, expected)))
    return actual == expected


# ---------------------------------------------------------------- the walk

@dataclass
class Entry:
    rel: str                      # path inside the mount ("" = the root)
    h5path: str
    kind: str                     # dir | dataset | softlink | extlink | grouplink | other
    address: int | None = None
    refcount: int | None = None
    link_value: str | None = None          # soft link value
    external: tuple[str, str] | None = None  # (file, object) of an external link
    canonical: str | None = None           # grouplink: the directory's rel path
    render: str | None = None              # datasets: bytes | text | raw | json | null
    has_user_attrs: bool = False


@dataclass
class Model:
    path: Path
    entries: dict[str, Entry] = field(default_factory=dict)
    # rel path of a sidecar -> rel path of its owner ("" = root group)
    sidecars: dict[str, str] = field(default_factory=dict)
    # paths whose presence the contract leaves open (e.g. a sidecar name longer than NAME_MAX)
    optional: set[str] = field(default_factory=set)
    # HDF5 paths left out (names that cannot be file names)
    omitted: list[str] = field(default_factory=list)
    group_dirs: dict[int, str] = field(default_factory=dict)     # address -> rel
    dataset_paths: dict[int, list[str]] = field(default_factory=dict)

    def listing(self) -> dict[str, str]:
        """rel path -> find's type letter (d, f, l) of everything `find` must print."""
        out = {}
        for rel, e in self.entries.items():
            if rel == "" or rel in self.optional:
                continue
            out[rel] = {"dir": "d", "dataset": "f", "other": "?"}.get(e.kind, "l")
        for rel in self.sidecars:
            if rel not in self.optional:
                out[rel] = "f"
        return {k: v for k, v in out.items() if v != "?"}

    def datasets(self) -> list[Entry]:
        """One entry per dataset object (its first path)."""
        return [self.entries[paths[0]] for paths in self.dataset_paths.values()]

    def sidecar_of(self, rel: str) -> str | None:
        for side, owner in self.sidecars.items():
            if owner == rel:
                return side
        return None


def _join(parent: str, name: str) -> str:
    return name if parent == "" else parent + "/" + name


def walk(path) -> Model:
    model = Model(path=Path(path))
    with h5py.File(path, "r") as f:
        root_addr = object_address(f)
        model.group_dirs[root_addr] = ""
        model.entries[""] = Entry(rel="", h5path="/", kind="dir", address=root_addr,
                                  refcount=reference_count(f),
                                  has_user_attrs=bool(user_attribute_names(f)))
        queue = deque([("", "/")])
        while queue:
            rel_dir, h5_dir = queue.popleft()
            group = f[h5_dir]
            names = sorted(group.keys(), key=name_key)
            name_set = {display_name(n) for n in names}
            if model.entries[rel_dir].has_user_attrs and ".attrs" not in name_set:
                model.sidecars[_join(rel_dir, ".attrs")] = rel_dir
            for key in names:
                h5_path = h5_join(h5_dir, key)
                name = display_name(key)
                if not posix_name_ok(name):
                    model.omitted.append(h5_path)
                    continue
                rel = _join(rel_dir, name)
                # The low-level calls take names that are not UTF-8 (Group.get does not).
                link_type = group.id.links.get_info(name_key(key)).type
                if link_type == h5py.h5l.TYPE_SOFT:
                    value = group.id.links.get_val(name_key(key))
                    model.entries[rel] = Entry(rel, h5_path, "softlink",
                                               link_value=value.decode("utf-8", "surrogateescape"))
                    continue
                if link_type == h5py.h5l.TYPE_EXTERNAL:
                    file_name, obj_path = group.id.links.get_val(name_key(key))
                    model.entries[rel] = Entry(rel, h5_path, "extlink", external=(
                        file_name.decode("utf-8", "surrogateescape"),
                        obj_path.decode("utf-8", "surrogateescape")))
                    continue
                if link_type != h5py.h5l.TYPE_HARD:  # user-defined link classes
                    model.entries[rel] = Entry(rel, h5_path, "other")
                    model.optional.add(rel)
                    continue
                obj = group[key]
                addr = object_address(obj)
                attrs = bool(user_attribute_names(obj))
                if isinstance(obj, h5py.Group):
                    if addr in model.group_dirs:
                        model.entries[rel] = Entry(rel, h5_path, "grouplink", address=addr,
                                                   canonical=model.group_dirs[addr])
                        continue
                    model.group_dirs[addr] = rel
                    model.entries[rel] = Entry(rel, h5_path, "dir", address=addr,
                                               refcount=reference_count(obj), has_user_attrs=attrs)
                    queue.append((rel, h5_path))
                elif isinstance(obj, h5py.Dataset):
                    render = rendering(obj)
                    model.entries[rel] = Entry(rel, h5_path, "dataset", address=addr,
                                               refcount=reference_count(obj), render=render,
                                               has_user_attrs=attrs)
                    model.dataset_paths.setdefault(addr, []).append(rel)
                    # A null dataspace (no elements): what it shows is left open.
                    wants_sidecar = render in ("raw", "json", "null") or attrs
                    if render == "null":
                        model.optional.add(rel)
                    if wants_sidecar and name + SIDECAR_SUFFIX not in name_set:
                        side = rel + SIDECAR_SUFFIX
                        model.sidecars[side] = rel
                        if not posix_name_ok(name + SIDECAR_SUFFIX) or render == "null":
                            model.optional.add(side)
                else:  # named datatypes: the contract does not say
                    model.entries[rel] = Entry(rel, h5_path, "other", address=addr)
                    model.optional.add(rel)
    return model


def load_sidecar(path) -> tuple[list[str], dict]:
    """(top-level keys in file order, parsed object) of a sidecar file."""
    text = Path(path).read_bytes().decode("utf-8")
    pairs = json.loads(text, object_pairs_hook=lambda kv: kv)
    return [k for k, _ in pairs], json.loads(text)


def expected_sidecar_keys(ds, render: str) -> list[str]:
    keys = ["kind", "dtype"]
    if ds.id.get_type().get_class() == h5py.h5t.ENUM:
        keys.append("enum")
    if render == "json":
        keys.append("encoding")
    keys += ["shape", "maxshape", "chunks", "filters", "fillvalue", "layout", "storage"]
    if ds.is_virtual:
        keys.append("virtual_sources")
    keys.append("attributes")
    return keys


def filters_of(ds) -> list[tuple[int, list[int]]]:
    dcpl = ds.id.get_create_plist()
    out = []
    for i in range(dcpl.get_nfilters()):
        code, _flags, values, _name = dcpl.get_filter(i)
        out.append((int(code), [int(v) for v in values]))
    return out


LAYOUT_NAMES = {h5py.h5d.COMPACT: "compact", h5py.h5d.CONTIGUOUS: "contiguous",
                h5py.h5d.CHUNKED: "chunked", h5py.h5d.VIRTUAL: "virtual"}


def layout_name(ds) -> str:
    return LAYOUT_NAMES.get(ds.id.get_create_plist().get_layout(), "unknown")


def is_compact_json(text: bytes) -> bool:
    """No whitespace outside JSON strings (json.dumps(..., separators=(",", ":")) style)."""
    in_string = escaped = False
    for ch in text.decode("utf-8", "replace"):
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in " \t\r\n":
            return False
    return True


class Problems(list):
    """Collects every mismatch of a walk, so one run shows them all."""

    def check(self) -> None:
        if self:
            shown = "\n".join(self[:60])
            more = f"\n... and {len(self) - 60} more" if len(self) > 60 else ""
            pytest.fail(f"{len(self)} problem(s):\n{shown}{more}", pytrace=False)
