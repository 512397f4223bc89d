#!/usr/bin/env python2
"""Writes tiny CIFAR batches the way the CIFAR site's python version was written: a dict pickled
by Python 2's cPickle with protocol 2, the images a numpy uint8 array of shape (N, 3072) (each row
the red, green and blue 32x32 planes), the labels lists of ints, and the site's other keys.

tests/data/cifar_test.cpp checks that its own pickle writer produces these files byte for byte, so
that the many batches the tests write (every variant a reader must reject included) are in the
real format, and reads cifar-10-python.tar.gz, a tarball as Python 2's tarfile writes it (GNU
format, as the CIFAR site's), with one image per batch. Needs Python 2 with numpy
(pip install numpy==1.16.6).
Usage: python2 tests/data/cifar/make_fixtures.py
"""
import cPickle
import gzip
import io
import os
import tarfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def pixels(n, start=0):
    # cifar_pixels() in the test: byte i of the endless pattern is (7i + 13(i // 1024) + 3) % 256,
    # so that the three planes of an image, and successive images, differ.
    i = np.arange(start, start + n * 3072)
    return ((7 * i + 13 * (i // 1024) + 3) % 256).astype(np.uint8).reshape(n, 3072)


def write(name, batch):
    with open(os.path.join(HERE, name), "wb") as f:
        cPickle.dump(batch, f, 2)


write("cifar10_data_batch", {
    "batch_label": "training batch 1 of 5",
    "labels": [6, 9],
    "data": pixels(2),
    "filenames": ["leptodactylus_pentadactylus_s_000004.png", "camion_s_000148.png"],
})
write("cifar100_train", {
    "filenames": ["bos_taurus_s_000507.png", "stegosaurus_s_000125.png"],
    "batch_label": "training batch 1 of 1",
    "fine_labels": [19, 29],
    "coarse_labels": [11, 15],
    "data": pixels(2),
})


# Batch k holds image k - 1 of pixels(6) with label k; the test batch image 5 with label 0.
members = [("cifar-10-batches-py/readme.html", "<html></html>\n")]
for k in range(1, 6):
    batch = {"batch_label": "training batch %d of 5" % k, "labels": [k], "data": pixels(1, (k - 1) * 3072),
             "filenames": ["image_%d.png" % k]}
    members.append(("cifar-10-batches-py/data_batch_%d" % k, cPickle.dumps(batch, 2)))
members.insert(3, ("cifar-10-batches-py/test_batch", cPickle.dumps(
    {"batch_label": "testing batch 1 of 1", "labels": [0], "data": pixels(1, 5 * 3072), "filenames": ["t.png"]}, 2)))
members.append(("cifar-10-batches-py/batches.meta", cPickle.dumps({"label_names": ["airplane"] * 10}, 2)))
raw = io.BytesIO()
with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
    directory = tarfile.TarInfo("cifar-10-batches-py")
    directory.type, directory.mode, directory.mtime = tarfile.DIRTYPE, 0o755, 1243000000
    tar.addfile(directory)
    for name, data in members:
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.mtime = len(data), 0o644, 1243000000
        tar.addfile(info, io.BytesIO(data))
with open(os.path.join(HERE, "cifar-10-python.tar.gz"), "wb") as f:
    with gzip.GzipFile(fileobj=f, mode="wb", mtime=0) as gz:
        gz.write(raw.getvalue())
