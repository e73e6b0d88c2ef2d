#!/usr/bin/env python3
"""Writes a lowbit calibration statistics file for the lit tests.

An independent writer of the format lib/Transforms/CalibrationData.cpp reads
(docs/CALIBRATION.md, "The statistics file"), so the tests check the reader
against the documentation, not against its own writer.

    calib_stats.py OUT [--no-gram] [--truncate N] [--version V] NAME:W1,W2:K:KIND ...

KIND is the activations' second moment X^T X / rows:
  identity    I (GPTQ then gives round-to-nearest's codes)
  correlated  rho^|i-j| with rho = 0.9 (neighbouring channels move together)
  salient     I, but channel 0 is 30 times larger (AWQ's salient channel)
The per-channel statistics follow from it: mean x^2 = the diagonal.
"""
import argparse
import struct
import sys

import numpy as np

ROWS = 4096


def moment(kind: str, k: int) -> np.ndarray:
    if kind == "identity":
        return np.eye(k)
    if kind == "correlated":
        i = np.arange(k)
        return 0.9 ** np.abs(i[:, None] - i[None, :])
    if kind == "salient":
        m = np.eye(k)
        m[0, 0] = 900.0
        return m
    raise SystemExit(f"calib_stats.py: unknown kind '{kind}'")


def text(s: str) -> bytes:
    b = s.encode()
    return struct.pack("<I", len(b)) + b


def observer(spec: str, gram: bool) -> bytes:
    name, weights, k, kind = spec.split(":")
    k = int(k)
    m = moment(kind, k)
    diag = np.diag(m).astype(np.float32)
    out = text(name) + struct.pack("<I", len(weights.split(",")))
    out += b"".join(text(w) for w in weights.split(","))
    out += struct.pack("<qq", k, ROWS)
    out += (3 * np.sqrt(diag)).astype("<f4").tobytes()    # max |x|
    out += (0.8 * np.sqrt(diag)).astype("<f4").tobytes()  # mean |x|
    out += diag.astype("<f4").tobytes()                   # mean x^2
    if gram:
        out += np.concatenate([m[i, i:] for i in range(k)]).astype("<f4").tobytes()
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("observers", nargs="+")
    ap.add_argument("--no-gram", action="store_true")
    ap.add_argument("--truncate", type=int, help="drop this many bytes off the end")
    ap.add_argument("--version", type=int, default=1)
    args = ap.parse_args()
    data = b"LBCALIB1" + struct.pack("<IIII", args.version, len(args.observers), 0 if args.no_gram else 1, 0)
    data += b"".join(observer(o, not args.no_gram) for o in args.observers)
    if args.truncate:
        data = data[:-args.truncate]
    with open(args.out, "wb") as f:
        f.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
