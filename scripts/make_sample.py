#!/usr/bin/env python3
"""Writes a small NeXus-like sample container for `make demo`.

    make_sample.py OUT.h5

/entry/title (string), a uint16 detector stack (gzip, one chunk per frame) with
attributes, a hard link to it from /entry/data (NXdata), a soft link
/entry/detector -> /entry/instrument/detector, and attributes on groups.
"""

import sys

import h5py
import numpy as np

FRAMES, HEIGHT, WIDTH = 8, 64, 64


def main(out: str) -> None:
    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH]
    with h5py.File(out, "w") as f:
        f.attrs["NX_class"] = "NXroot"
        f.attrs["creator"] = "h5mount scripts/make_sample.py"
        entry = f.create_group("entry")
        entry.attrs["NX_class"] = "NXentry"
        entry["title"] = "h5mount demo: a ring on a noisy detector"
        entry["start_time"] = "2026-01-01T12:00:00Z"

        detector = entry.create_group("instrument/detector")
        detector.attrs["NX_class"] = "NXdetector"
        stack = np.empty((FRAMES, HEIGHT, WIDTH), dtype=np.uint16)
        for i in range(FRAMES):
            ring = np.exp(-((np.hypot(yy - 32, xx - 32) - 10 - 2 * i) ** 2) / 4.0)
            stack[i] = rng.poisson(2 + 200 * ring)
        data = detector.create_dataset("data", data=stack, chunks=(1, HEIGHT, WIDTH),
                                       compression="gzip", compression_opts=4)
        data.attrs["units"] = "counts"
        data.attrs["long_name"] = "detector counts"
        detector["x_pixel_size"] = np.float64(75e-6)
        detector["x_pixel_size"].attrs["units"] = "m"
        detector["count_time"] = np.linspace(0.1, 0.8, FRAMES)

        sample = entry.create_group("sample")
        sample.attrs["NX_class"] = "NXsample"
        sample["name"] = "lysozyme crystal"
        sample["temperature"] = np.float32(100.0)
        sample["temperature"].attrs["units"] = "K"

        nxdata = entry.create_group("data")
        nxdata.attrs["NX_class"] = "NXdata"
        nxdata.attrs["signal"] = "data"
        nxdata["data"] = data                                            # hard link
        entry["detector"] = h5py.SoftLink("/entry/instrument/detector")  # soft link


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: make_sample.py OUT.h5")
    main(sys.argv[1])
