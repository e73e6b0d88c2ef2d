#!/usr/bin/env python3
"""Writes a small lowbit artifact (.lbm) by hand, from docs/ARTIFACT.md alone.

An implementation of the format independent of the C++ writer: the "add"
model of test/unit/runtime/TestHostCode.c (y = x + w, total = sum(y)), with
the runtime tests' host code library as its HostCode section.

  make_artifact.py PATH/TO/lowbit-run OUT.lbm [--entry SYM] [--triple T]

The host code library is found beside the tool: BUILD/unittests/.
"""
import argparse
import os
import platform
import struct

SECTION_ALIGN = 4096


def align(n, a):
    return (n + a - 1) // a * a


def string(s):
    b = s.encode()
    return struct.pack("<I", len(b)) + b


def tensor(name, dtype, dims):
    return string(name) + struct.pack("<II", dtype, len(dims)) + b"".join(struct.pack("<q", d) for d in dims)


F32 = 1


def abi_version():
    """LOWBIT_ABI_VERSION from runtime/include/lowbit/abi.h."""
    root = os.path.join(os.path.dirname(os.path.realpath(__file__)), *[".."] * 5)
    with open(os.path.join(root, "runtime", "include", "lowbit", "abi.h")) as f:
        for line in f:
            if line.startswith("#define LOWBIT_ABI_VERSION "):
                return int(line.split()[2])
    raise SystemExit("no LOWBIT_ABI_VERSION in abi.h")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("tool")
    p.add_argument("out")
    p.add_argument("--entry", default="lowbit_test_add")
    p.add_argument("--triple", default=platform.machine() + "-unknown-linux-gnu")
    p.add_argument("--abi", type=int, default=abi_version())
    a = p.parse_args()

    build = os.path.dirname(os.path.dirname(os.path.realpath(a.tool)))
    with open(os.path.join(build, "unittests", "libLowbitTestHostCode.so"), "rb") as f:
        host = f.read()
    weight = struct.pack("<4f", 0.5, -1.0, 2.0, 100.0)

    manifest = struct.pack("<I", a.abi) + string(a.triple) + string("generic") + string(a.entry)
    manifest += struct.pack("<I", 1) + tensor("x", F32, [-1, 4])
    manifest += struct.pack("<I", 2) + tensor("y", F32, [-1, 4]) + tensor("total", F32, [])
    manifest += struct.pack("<I", 1) + tensor("w", F32, [4]) + struct.pack("<QQ", 0, len(weight))

    manifest_at = SECTION_ALIGN
    host_at = align(manifest_at + len(manifest), SECTION_ALIGN)
    weights_at = align(host_at + len(host), SECTION_ALIGN)
    size = weights_at + len(weight)

    out = bytearray(size)
    out[0:64] = b"LOWBITM\0" + struct.pack("<IIQQ", 1, 3, size, 64) + bytes(32)
    for i, (kind, at, n) in enumerate([(1, manifest_at, len(manifest)), (2, host_at, len(host)),
                                       (3, weights_at, len(weight))]):
        out[64 + 32 * i:96 + 32 * i] = struct.pack("<IIQQQ", kind, 0, at, n, 0)
    out[manifest_at:manifest_at + len(manifest)] = manifest
    out[host_at:host_at + len(host)] = host
    out[weights_at:] = weight
    with open(a.out, "wb") as f:
        f.write(out)


if __name__ == "__main__":
    main()
