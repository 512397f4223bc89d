"""Read the four gzip-compressed MNIST IDX files from a directory (numpy only)."""
from __future__ import annotations

import gzip
import os
import struct

import numpy as np

FILES = {
    "x_train": "train-images-idx3-ubyte.gz",
    "y_train": "train-labels-idx1-ubyte.gz",
    "x_test": "t10k-images-idx3-ubyte.gz",
    "y_test": "t10k-labels-idx1-ubyte.gz",
}


def read_idx(path: str) -> np.ndarray:
    with gzip.open(path, "rb") as fh:
        data = fh.read()
    zero, dtype_code, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype_code != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if arr.size != int(np.prod(dims)):
        raise ValueError(f"{path}: truncated")
    return arr.reshape(dims)


def load(data_dir: str, limit: int = 0):
    """Returns (x_train, y_train), (x_test, y_test): uint8 images (N,28,28), int64 labels."""
    d = {k: read_idx(os.path.join(data_dir, f)) for k, f in FILES.items()}
    xtr, ytr = d["x_train"], d["y_train"].astype(np.int64)
    if limit and limit < len(xtr):
        xtr, ytr = xtr[:limit], ytr[:limit]
    return (xtr, ytr), (d["x_test"], d["y_test"].astype(np.int64))
