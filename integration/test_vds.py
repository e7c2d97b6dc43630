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
