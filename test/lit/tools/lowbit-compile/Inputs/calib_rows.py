#!/usr/bin/env python3
"""Prints each observer of a statistics file (docs/CALIBRATION.md's
format) as "NAME: K k rows r".

    calib_rows.py FILE.calib
"""
import struct
import sys

data = open(sys.argv[1], "rb").read()
observers = struct.unpack_from("<I", data, 12)[0]
gram = struct.unpack_from("<I", data, 16)[0] & 1
at = 24


def text(at):
    n = struct.unpack_from("<I", data, at)[0]
    return data[at + 4:at + 4 + n].decode(), at + 4 + n


for _ in range(observers):
    name, at = text(at)
    weights = struct.unpack_from("<I", data, at)[0]
    at += 4
    for _ in range(weights):
        _, at = text(at)
    k, rows = struct.unpack_from("<qq", data, at)
    at += 16 + 12 * k + (4 * k * (k + 1) // 2 if gram else 0)
    print(f"{name}: K {k} rows {rows}")
