"""corrupt.py LOWBIT_RUN MODEL.lbm X.npy WORKDIR: flips one bit in each byte
of the artifact's header, section table and manifest (the parts the loader
checks; docs/ARTIFACT.md), and a sample of the weights and host code, then
runs lowbit-run on each copy. Every run must end with exit status 0 or 1, never
a signal, and a failure must say why on one "lowbit-run: error:" line.

Flips in the weights change numbers, not structure (format version 1 has no
checksum), so those runs succeed; flips in the host code are loaded by dlopen
and trusted as any shared library is (ARTIFACT.md), so the sample there only
covers the ELF header, which dlopen checks. Prints the counts."""
import os
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))

run, model, x, work = sys.argv[1:5]
data = bytearray(open(model, "rb").read())
count, table = struct.unpack_from("<8xIIQQ", data, 0)[1], struct.unpack_from("<8xIIQQ", data, 0)[3]
sections = {}
for i in range(count):
    kind, _, offset, size, _ = struct.unpack_from("<IIQQQ", data, table + 32 * i)
    sections[kind] = (offset, size)
positions = list(range(0, table + 32 * count))  # header and table
moff, msize = sections[1]
positions += range(moff, moff + msize)  # manifest
hoff, _ = sections[2]
positions += range(hoff, hoff + 64)  # the host code's ELF header
woff, wsize = sections[3]
positions += range(woff, woff + wsize, max(1, wsize // 16))  # weights, a sample

path = os.path.join(work, "flipped.lbm")
outcomes = {"ok": 0, "error": 0}
bad = []
for i, at in enumerate(positions):
    flipped = bytearray(data)
    flipped[at] ^= 1 << (i % 8)
    open(path, "wb").write(flipped)
    p = subprocess.run([run, path, "--input", "x=" + x, "--output-dir", os.path.join(work, "flipped-out")],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace")
    if p.returncode == 0:
        outcomes["ok"] += 1
    elif p.returncode == 1 and p.stderr.startswith("lowbit-run: error: ") and p.stderr.count("\n") == 1:
        outcomes["error"] += 1
    else:
        bad.append("byte %d bit %d: exit %d, %r" % (at, i % 8, p.returncode, p.stderr[:300]))
for line in bad:
    print("BAD", line)
print("%d flips: %d refused with an error, %d ran, %d crashed or unclear" % (
    len(positions), outcomes["error"], outcomes["ok"], len(bad)))
sys.exit(1 if bad else 0)
