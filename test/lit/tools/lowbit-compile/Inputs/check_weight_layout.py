"""Checks that a weight of an artifact compiled with --weight-layout=interleaved
holds the same weight's bytes from a rows artifact in Interleaved4
(docs/FORMATS.md, "Row layouts"), computed here independently of lib/Quant.

Usage: check_weight_layout.py ROWS.lbm INTERLEAVED.lbm NAME:ROWS:ROW_BYTES:UNIT_BYTES...
Prints "NAME interleaved ok" per weight; every other weight must be equal."""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "..", "e2e", "Inputs"))
import lbm  # noqa: E402


def interleave4(rows, unit):
    """Tiles of 4 rows: their first units take turns, then their last units
    one after the other; rows after the last whole tile stay as they are."""
    n, row_bytes = rows.shape
    last = (row_bytes + unit - 1) // unit - 1
    out = []
    for t in range(0, n // 4 * 4, 4):
        tile = rows[t:t + 4]
        out.append(tile[:, :last * unit].reshape(4, last, unit).transpose(1, 0, 2).ravel())
        out.append(tile[:, last * unit:].ravel())
    out.append(rows[n // 4 * 4:].ravel())
    return np.concatenate(out)


_, rows_weights = lbm.read(sys.argv[1])
_, laid_weights = lbm.read(sys.argv[2])
assert rows_weights.keys() == laid_weights.keys(), (rows_weights.keys(), laid_weights.keys())
specs = {}
for spec in sys.argv[3:]:
    name, n, row_bytes, unit = spec.rsplit(":", 3)
    specs[name] = (int(n), int(row_bytes), int(unit))
for name, rows in rows_weights.items():
    laid = laid_weights[name]
    if name not in specs:
        assert np.array_equal(rows, laid), f"{name}: differs, but should keep its bytes"
        continue
    n, row_bytes, unit = specs[name]
    assert rows.size == n * row_bytes, f"{name}: {rows.size} bytes, not {n} x {row_bytes}"
    expected = interleave4(rows.view(np.uint8).reshape(n, row_bytes), unit)
    assert not np.array_equal(expected, rows.view(np.uint8)), f"{name}: interleaving would change nothing"
    assert np.array_equal(laid.view(np.uint8), expected), f"{name}: not laid out in Interleaved4"
    print(f"{name} interleaved ok")
