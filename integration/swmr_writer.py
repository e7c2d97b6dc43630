"""A SWMR writer for the integration tests (run as a script, in its own process).

Creates PATH with /frames, uint16 (0, H, W), unlimited first dimension, chunked, switches
to SWMR mode, prints "ready", then appends FRAMES frames, one every PERIOD seconds: frame
i is filled with i, and each is flushed (resize, write, flush: what a detector writer does).
Prints "frame i" after each and "done" after the last, then keeps the file open until its
stdin closes, so a test can look at a file still being written.

The file uses the 1.10 format (libver=("v110", "v110")): h5py's bundled libhdf5 may be
newer than the mount's (1.10), and libver="latest" there writes object header messages
1.10 cannot decode ("bad version number for layout message"). SWMR needs at least v110.
"""

import argparse
import sys
import time

import h5py
import numpy as np


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("path")
    parser.add_argument("--frames", type=int, default=20)
    parser.add_argument("--period", type=float, default=0.1)
    parser.add_argument("--height", type=int, default=64)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--chunk-frames", type=int, default=4)
    parser.add_argument("--compression", default="gzip")
    args = parser.parse_args()
    h, w = args.height, args.width
    with h5py.File(args.path, "w", libver=("v110", "v110")) as f:
        ds = f.create_dataset("frames", shape=(0, h, w), maxshape=(None, h, w), dtype="<u2",
                              chunks=(args.chunk_frames, h, w),
                              compression=None if args.compression == "none" else args.compression)
        f.swmr_mode = True
        print("ready", flush=True)
        for i in range(args.frames):
            ds.resize((i + 1, h, w))
            ds[i] = np.full((h, w), i, dtype="<u2")
            ds.flush()
            print(f"frame {i}", flush=True)
            time.sleep(args.period)
        print("done", flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main()
