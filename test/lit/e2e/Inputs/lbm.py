"""Reads a lowbit artifact (.lbm) as docs/ARTIFACT.md describes it, without
the runtime: the manifest's tensors and each weight's bytes."""
import struct

import numpy as np

MAGIC = b"LOWBITM\0"
DTYPES = {1: np.float32, 2: np.uint8, 3: np.int8, 5: np.int16, 6: np.int32, 7: np.int64, 9: np.bool_,
          10: np.float16, 11: np.float64}


class Reader:
    def __init__(self, data, pos, end):
        self.data, self.pos, self.end = data, pos, end

    def take(self, fmt):
        size = struct.calcsize(fmt)
        assert self.pos + size <= self.end, "manifest field past its end"
        value = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += size
        return value[0] if len(value) == 1 else value

    def string(self):
        n = self.take("<I")
        assert self.pos + n <= self.end
        s = self.data[self.pos:self.pos + n].decode()
        self.pos += n
        return s

    def tensor(self):
        name, dtype, rank = self.string(), self.take("<I"), self.take("<I")
        dims = [self.take("<q") for _ in range(rank)]
        return name, dtype, dims


def read(path):
    """Returns (manifest dict, {weight name: numpy array})."""
    data = open(path, "rb").read()
    magic, version, count, size, table = struct.unpack_from("<8sIIQQ", data, 0)
    assert magic == MAGIC and version == 1 and size == len(data), (magic, version, size, len(data))
    sections = {}
    for i in range(count):
        kind, _, offset, length, _ = struct.unpack_from("<IIQQQ", data, table + 32 * i)
        sections[kind] = (offset, length)
    moff, mlen = sections[1]
    r = Reader(data, moff, moff + mlen)
    manifest = {"abi": r.take("<I"), "triple": r.string(), "cpu": r.string(), "entry": r.string()}
    manifest["inputs"] = [r.tensor() for _ in range(r.take("<I"))]
    manifest["outputs"] = [r.tensor() for _ in range(r.take("<I"))]
    woff, wlen = sections[3]
    weights = {}
    for _ in range(r.take("<I")):
        name, dtype, dims = r.tensor()
        offset, length = r.take("<Q"), r.take("<Q")
        assert offset + length <= wlen
        raw = data[woff + offset:woff + offset + length]
        weights[name] = np.frombuffer(raw, DTYPES[dtype]).reshape(dims)
    assert r.pos == r.end, "bytes after the manifest's last field"
    return manifest, weights


if __name__ == "__main__":
    import sys
    m, w = read(sys.argv[1])
    print({k: v for k, v in m.items()})
    for name, a in w.items():
        print(name, a.dtype, a.shape)
