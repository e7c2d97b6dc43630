"""Jenkins lookup3 (hashlittle), the checksum of HDF5's version-2 metadata (object headers,
B-tree v2 nodes, heaps; H5checksum.c), for tests that patch a file and must keep it valid."""


from __future__ import annotations


def _rot(x: int, k: int) -> int:
    return ((x << k) | (x >> (32 - k))) & 0xffffffff


def hashlittle(data: bytes, initval: int = 0) -> int:
    """Bob Jenkins' lookup3 hashlittle, as HDF5's H5_checksum_lookup3."""
    length = len(data)
    a = b = c = (0xdeadbeef + length + initval) & 0xffffffff
    i = 0
    M = 0xffffffff
    while length > 12:
        a = (a + int.from_bytes(data[i:i+4], "little")) & M
        b = (b + int.from_bytes(data[i+4:i+8], "little")) & M
        c = (c + int.from_bytes(data[i+8:i+12], "little")) & M
        a = (a - c) & M; a ^= _rot(c, 4);  c = (c + b) & M
        b = (b - a) & M; b ^= _rot(a, 6);  a = (a + c) & M
        c = (c - b) & M; c ^= _rot(b, 8);  b = (b + a) & M
        a = (a - c) & M; a ^= _rot(c, 16); c = (c + b) & M
        b = (b - a) & M; b ^= _rot(a, 19); a = (a + c) & M
        c = (c - b) & M; c ^= _rot(b, 4);  b = (b + a) & M
        i += 12; length -= 12
    if length == 0:
        return c
    tail = data[i:] + bytes(12 - length)
    a = (a + int.from_bytes(tail[0:4], "little")) & M
    b = (b + int.from_bytes(tail[4:8], "little")) & M
    c = (c + int.from_bytes(tail[8:12], "little")) & M
    c ^= b; c = (c - _rot(b, 14)) & M
    a ^= c; a = (a - _rot(c, 11)) & M
    b ^= a; b = (b - _rot(a, 25)) & M
    c ^= b; c = (c - _rot(b, 16)) & M
    a ^= c; a = (a - _rot(c, 4)) & M
    b ^= a; b = (b - _rot(a, 14)) & M
    c ^= b; c = (c - _rot(b, 24)) & M
    return c


def object_header_checksum_span(raw: bytes, start: int) -> int:
    """End of the first chunk of the version-2 object header at `start` ("OHDR"): the
    checksum of raw[start:end] is stored at raw[end:end + 4]."""
    assert raw[start:start + 4] == b"OHDR", "not a version-2 object header"
    flags, at = raw[start + 5], start + 6
    if flags & 0x20:
        at += 16                                   # access, modification, change, birth times
    if flags & 0x10:
        at += 4                                    # attribute phase change values
    width = 1 << (flags & 3)
    size = int.from_bytes(raw[at:at + width], "little")
    return at + width + size
