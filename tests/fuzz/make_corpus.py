#!/usr/bin/env python3
"""Writes the fuzzers' seed corpora into tests/fuzz/corpus/<corpus>/ (deterministic; no NumPy).

Small valid files of every kind the readers accept, and edge cases they must reject. Files named
ok_* must be accepted by their reader (tests/fuzz/corpus_test.cpp checks it); any other file may
be accepted or rejected with a kerosene::Error. No seed may ask for a large allocation: these
run in the ordinary test suite too. Usage: python3 tests/fuzz/make_corpus.py
"""
import gzip as gz
import io
import os
import shutil
import struct
import tarfile
import zipfile
import zlib

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def write(corpus, name, data):
    os.makedirs(os.path.join(ROOT, corpus), exist_ok=True)
    with open(os.path.join(ROOT, corpus, name), "wb") as f:
        f.write(data)


def gzipped(data):
    return gz.compress(data, mtime=0)


def idx(type_code, shape, payload):
    return bytes([0, 0, type_code, len(shape)]) + b"".join(struct.pack(">I", d) for d in shape) + payload


def npy(descr, shape, payload, version=1, fortran=False, shape_text=None):
    if shape_text is None:
        shape_text = "(" + "".join(f"{d}, " for d in shape)[:-2] + ("," if len(shape) == 1 else "") + ")"
        if not shape:
            shape_text = "()"
    header = f"{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {shape_text}, }}"
    length_size = 2 if version == 1 else 4
    pad = -(10 + length_size - 2 + len(header) + 1) % 64
    header = (header + " " * pad + "\n").encode("latin1")
    length = struct.pack("<H" if version == 1 else "<I", len(header))
    return b"\x93NUMPY" + bytes([version, 0]) + length + header + payload


def npz(members, method=zipfile.ZIP_STORED):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = method
            z.writestr(info, data)
    return out.getvalue()


def make_idx():
    w = lambda name, data: write("idx", name, data)
    w("ok_ubyte_2x3", idx(0x08, [2, 3], bytes(range(6))))
    w("ok_ubyte_labels", idx(0x08, [5], bytes([0, 1, 2, 9, 7])))
    w("ok_sbyte", idx(0x09, [4], bytes([0, 0x7F, 0x80, 0xFF])))
    w("ok_short", idx(0x0B, [2, 2], struct.pack(">4h", 1, -1, 32767, -32768)))
    w("ok_int", idx(0x0C, [3], struct.pack(">3i", 0, -7, 2**31 - 1)))
    w("ok_float", idx(0x0D, [2, 2], struct.pack(">4f", 0.5, -1.0, 3.25, 1e30)))
    w("ok_double", idx(0x0E, [3], struct.pack(">3d", 0.1, -2.5, 1e300)))
    w("ok_rank0", idx(0x08, [], b"\x2a"))
    w("ok_zero_images", idx(0x08, [0, 28, 28], b""))
    w("ok_images_2x4x4", idx(0x08, [2, 4, 4], bytes(range(32))))
    w("ok_ubyte_2x3.gz", gzipped(idx(0x08, [2, 3], bytes(range(6)))))
    w("ok_two_gzip_members.gz", gzipped(idx(0x08, [4], b"ab")) + gzipped(b"cd"))
    w("bad_magic", b"\x01\x00\x08\x01" + struct.pack(">I", 1) + b"x")
    w("bad_type", idx(0x0A, [1], b"x"))
    w("bad_header_cut", idx(0x08, [2, 3], b"")[:9])
    w("bad_truncated_data", idx(0x08, [2, 3], bytes(5)))
    w("bad_trailing_data", idx(0x08, [2], bytes(3)))
    w("bad_huge_shape", idx(0x0E, [0xFFFFFFFF] * 4, b""))
    w("bad_max_rank_cut", bytes([0, 0, 8, 255]) + bytes(16))
    w("bad_short", b"\x00\x00")
    w("bad_gzip_cut.gz", gzipped(idx(0x08, [2, 3], bytes(range(6))))[:20])


def make_idx_gz():
    # Raw IDX: the idx_gz target gzips each input before reading it.
    w = lambda name, data: write("idx_gz", name, data)
    w("ok_ubyte_2x3", idx(0x08, [2, 3], bytes(range(6))))
    w("ok_short", idx(0x0B, [2, 2], struct.pack(">4h", 1, -1, 32767, -32768)))
    w("ok_double", idx(0x0E, [3], struct.pack(">3d", 0.1, -2.5, 1e300)))
    w("ok_rank0", idx(0x08, [], b"\x2a"))
    w("ok_images_2x4x4", idx(0x08, [2, 4, 4], bytes(range(32))))
    w("bad_type", idx(0x0A, [1], b"x"))
    w("bad_truncated_data", idx(0x08, [2, 3], bytes(5)))
    w("bad_huge_shape", idx(0x0E, [0xFFFFFFFF] * 4, b""))


def make_npy():
    w = lambda name, data: write("npy", name, data)
    w("ok_u1_2x3", npy("|u1", [2, 3], bytes(range(6))))
    w("ok_i1", npy("|i1", [3], bytes([0, 0x80, 0x7F])))
    w("ok_i1_unordered", npy("i1", [1], b"\xff"))
    w("ok_i4", npy("<i4", [2], struct.pack("<2i", -1, 5)))
    w("ok_i8", npy("<i8", [2], struct.pack("<2q", -1, 2**40)))
    w("ok_f4_2x2", npy("<f4", [2, 2], struct.pack("<4f", 1, 2, 3, 4)))
    w("ok_f8", npy("<f8", [2], struct.pack("<2d", 0.1, 1e300)))
    w("ok_scalar", npy("<f4", [], struct.pack("<f", 7)))
    w("ok_empty", npy("|u1", [0, 5], b""))
    w("ok_version2", npy("<i4", [1], struct.pack("<i", 3), version=2))
    w("ok_version3", npy("|u1", [2], b"ab", version=3))
    w("ok_python2_longs", npy("|u1", [2, 1], b"ab", shape_text="(2L, 1L)"))
    w("bad_fortran", npy("<f4", [1], bytes(4), fortran=True))
    w("bad_big_endian", npy(">f4", [1], bytes(4)))
    w("bad_dtype", npy("<c8", [1], bytes(8)))
    w("bad_structured", npy("<f4", [1], bytes(4)).replace(b"'<f4'", b"[('a', '<f4')]"))
    w("bad_truncated", npy("<f4", [3], bytes(8)))
    w("bad_trailing", npy("|u1", [1], b"ab"))
    w("bad_version", b"\x93NUMPY\x04\x00" + npy("|u1", [1], b"a")[8:])
    w("bad_header_length", npy("|u1", [1], b"a")[:8] + b"\xff\xff")
    w("bad_magic", b"\x93NUMPZ" + npy("|u1", [1], b"a")[6:])
    w("bad_overflowing_shape", npy("<f8", [2**31] * 4, b""))
    w("bad_unterminated", b"\x93NUMPY\x01\x00\x10\x00{'descr': '<f4   ")
    w("bad_short", b"\x93NUM")


def make_npz():
    w = lambda name, data: write("npz", name, data)
    a = npy("|u1", [2, 3], bytes(range(6)))
    b = npy("<f4", [2], struct.pack("<2f", 0.5, -0.5))
    w("ok_stored", npz([("x.npy", a), ("y.npy", b)]))
    w("ok_deflated", npz([("x_train.npy", a), ("y_train.npy", b)], zipfile.ZIP_DEFLATED))
    w("ok_empty_archive", npz([]))
    w("ok_other_members", npz([("README", b"not an array"), ("dir/", b""), ("x.npy", a)]))
    stored = npz([("x.npy", a)])
    crc = stored.find(struct.pack("<I", zlib.crc32(a)))
    w("bad_crc", stored[:crc] + b"\0\0\0\0" + stored[crc + 4:])
    w("bad_truncated", stored[: len(stored) // 2])
    w("bad_no_end_record", stored[:-22])
    w("bad_not_zip", b"not a zip archive at all, just some text")
    method = stored.find(b"PK\x01\x02") + 10  # the central directory entry's method field
    w("bad_method", stored[:method] + b"\x0c\x00" + stored[method + 2:])  # bzip2
    w("bad_member_npy", npz([("x.npy", a[:20])]))
    w("bad_deflate_stream", npz([("x.npy", a)], zipfile.ZIP_DEFLATED).replace(zlib.compress(a)[2:8], b"\xff" * 6))


def make_gzip():
    w = lambda name, data: write("gzip", name, data)
    text = b"kerosene reads gzip transparently\n" * 4
    w("ok_plain", b"not gzip, returned as stored")
    w("ok_one_byte", b"\x1f")
    w("ok_empty_file", b"")
    w("ok_small.gz", gzipped(text))
    w("ok_empty.gz", gzipped(b""))
    w("ok_two_members.gz", gzipped(b"first\n") + gzipped(b"second\n"))
    w("ok_trailing_garbage.gz", gzipped(text) + b"garbage")
    w("ok_zlib_stream", zlib.compress(text))  # not gzip: returned as stored
    w("bad_truncated.gz", gzipped(text)[:-10])
    w("bad_corrupt.gz", gzipped(text)[:12] + b"\xff" * 8 + gzipped(text)[20:])
    w("bad_header_only.gz", b"\x1f\x8b\x08\x00")


def cpickle_batch(data, shape, labels, global_name=b"numpy.core.multiarray\n_reconstruct\n"):
    """A dict {'data': uint8 array, 'labels': [...]} as Python 2's cPickle.dump(d, f, 2) writes it."""
    ints = lambda values: b"".join(b"K" + bytes([v]) for v in values)
    dims = ints(shape) if len(shape) != 2 else ints(shape[:1]) + b"M" + struct.pack("<H", shape[1])
    array = (b"c" + global_name + b"q\x03cnumpy\nndarray\nq\x04K\x00\x85U\x01b\x87Rq\x05(K\x01" + dims +
             bytes([0x84 + len(shape)]) + b"cnumpy\ndtype\nq\x06U\x02u1K\x00K\x01\x87Rq\x07(K\x03U\x01|NNN"
             b"J\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb\x89T" + struct.pack("<i", len(data)) + data + b"tb")
    return (b"\x80\x02}q\x01(U\x04dataq\x02" + array + b"U\x06labelsq\x08]q\x09(" + ints(labels) + b"eU\x0bbatch_label"
            b"q\x0aU\x05batchq\x0bu.")


def make_pickle():
    w = lambda name, data: write("pickle", name, data)
    batch = cpickle_batch(bytes(range(24)), [2, 12], [3, 7])
    w("ok_batch", batch)
    w("ok_rank3", cpickle_batch(bytes(8), [2, 2, 2], [1, 2]))
    w("ok_empty_dict", b"\x80\x02}.")
    w("ok_unicode_key", b"\x80\x02}X\x06\x00\x00\x00labels]K\x01as.")
    w("ok_long_memo", b"\x80\x02}q\x01U\x01ar\x00\x01\x00\x00]K\x05asj\x00\x01\x00\x00]s.")
    w("bad_truncated", batch[:100])
    w("bad_global", cpickle_batch(bytes(4), [1, 4], [0], b"os\nsystem\n"))
    w("bad_protocol_4", b"\x80\x04" + batch[2:])
    w("bad_trailing", batch + b".")
    w("bad_deep_tuples", b"\x80\x02" + b"(" * 8 + b"t" * 8 + b".")
    w("bad_huge_string", b"\x80\x02}U\x01aT\xff\xff\xff\x7fxyz")
    w("bad_shape", cpickle_batch(bytes(5), [2, 3], [0, 1]))
    w("bad_memo_get", b"\x80\x02}h\x09.")
    w("bad_self_reference", b"\x80\x02}q\x01U\x01ah\x01s.")


def ustar(members):
    """A tar archive as Python's tarfile writes one (ustar), members given as (name, bytes)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), 0
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def make_tar():
    w = lambda name, data: write("tar", name, data)
    archive = ustar([("cifar-10-batches-py/data_batch_1", cpickle_batch(bytes(12), [1, 12], [4])),
                     ("cifar-10-batches-py/readme.html", b"<html/>")])
    w("ok_two_members", archive)
    w("ok_two_members.tar.gz", gzipped(archive))
    w("ok_end_blocks_only", bytes(1024))
    w("ok_no_end_blocks", archive[:2048])
    w("bad_checksum", archive[:148] + b"7777777\x00" + archive[156:])
    w("bad_truncated_member", archive[:600])
    w("bad_truncated_header", archive[:300])
    w("bad_size_field", archive[:124] + b"9" * 12 + archive[136:])


if __name__ == "__main__":
    shutil.rmtree(ROOT, ignore_errors=True)
    make_idx()
    make_idx_gz()
    make_npy()
    make_npz()
    make_gzip()
    make_pickle()
    make_tar()
