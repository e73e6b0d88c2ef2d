#!/usr/bin/env python3
"""Compares two GGUF files tensor by tensor and key by key.

    python compare_gguf.py A.gguf B.gguf [--ignore-key KEY]... [--strict-order] [-v]

A tensor passes when both files hold it with the same shape, the same ggml type and
byte-identical data. For one that differs it prints how many blocks differ (block
size and bytes from gguf-py's GGML_QUANT_SIZES) and the largest absolute difference
of the dequantized values. Metadata: every key of either file must be in both with
the same type and value, except the keys listed in refcommon.DEFAULT_IGNORED_KEYS
(general.quantized_by, quantize.imatrix.*) and those given with --ignore-key
(a trailing '*' matches a prefix). The metadata counts as one more case.
A different tensor order is reported but only fails with --strict-order.

The last line is `N passed, N failed`; the exit code is 1 on any mismatch.
"""
from __future__ import annotations

import argparse
import fnmatch
import hashlib
import sys
from pathlib import Path

import numpy as np
import gguf

sys.path.insert(0, str(Path(__file__).resolve().parent))
import refcommon  # noqa: E402


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def ignored(key: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(key, p) for p in patterns)


def short(v: object) -> str:
    s = repr(v)
    return s if len(s) <= 80 else s[:77] + "..."


def values_equal(a: object, b: object) -> bool:
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(values_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float):
        return np.float64(a).tobytes() == np.float64(b).tobytes() or (a != a and b != b)
    return a == b


def compare_metadata(ra: gguf.GGUFReader, rb: gguf.GGUFReader, patterns: list[str]) -> list[str]:
    problems = []
    fa = {k: f for k, f in ra.fields.items() if not k.startswith("GGUF.")}
    fb = {k: f for k, f in rb.fields.items() if not k.startswith("GGUF.")}
    for key in list(fa) + [k for k in fb if k not in fa]:
        if ignored(key, patterns):
            continue
        if key not in fb:
            problems.append(f"key {key} only in A ({short(fa[key].contents())})")
        elif key not in fa:
            problems.append(f"key {key} only in B ({short(fb[key].contents())})")
        else:
            ta = [t.name for t in fa[key].types]
            tb = [t.name for t in fb[key].types]
            if ta != tb:
                problems.append(f"key {key}: type {ta} vs {tb}")
            elif not values_equal(fa[key].contents(), fb[key].contents()):
                problems.append(f"key {key}: {short(fa[key].contents())} vs {short(fb[key].contents())}")
    return problems


def compare_tensor(ta: gguf.ReaderTensor, tb: gguf.ReaderTensor) -> str | None:
    """None when identical, else a one-line description of the difference."""
    shape_a, shape_b = ta.shape.tolist(), tb.shape.tolist()
    if shape_a != shape_b:
        return f"shape {shape_a} vs {shape_b}"
    da = np.asarray(ta.data).view(np.uint8).reshape(-1)
    db = np.asarray(tb.data).view(np.uint8).reshape(-1)
    type_a, type_b = ta.tensor_type, tb.tensor_type
    what = []
    if type_a != type_b:
        what.append(f"type {type_a.name} vs {type_b.name}")
    elif da.size != db.size:
        what.append(f"size {da.size} vs {db.size} bytes")
    elif np.array_equal(da, db):
        return None
    else:
        block, nbytes = gguf.GGML_QUANT_SIZES[type_a]
        ba, bb = da.reshape(-1, nbytes), db.reshape(-1, nbytes)
        diff_blocks = int(np.count_nonzero(np.any(ba != bb, axis=1)))
        first = int(np.argmax(np.any(ba != bb, axis=1)))
        what.append(f"{type_a.name}: {diff_blocks}/{ba.shape[0]} blocks of {block} differ (first: block {first})")
    try:
        va, vb = refcommon.tensor_f32(ta), refcommon.tensor_f32(tb)
        with np.errstate(invalid="ignore"):
            mad = float(np.max(np.abs(va.reshape(-1) - vb.reshape(-1))))
        scale = float(np.max(np.abs(va)))
        what.append(f"max |dequantized difference| {mad:.4g} (max |A| {scale:.4g})")
    except (NotImplementedError, ValueError) as e:
        what.append(f"(not dequantized: {e})")
    return "; ".join(what)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("a", type=Path)
    ap.add_argument("b", type=Path)
    ap.add_argument("--ignore-key", action="append", default=[], metavar="KEY",
                    help="metadata key to skip (a trailing '*' matches a prefix); repeatable")
    ap.add_argument("--strict-order", action="store_true", help="fail when the tensor order differs")
    ap.add_argument("--max-report", type=int, default=20, help="print at most this many differing tensors")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every tensor")
    args = ap.parse_args()

    for p in (args.a, args.b):
        if not p.is_file():
            print(f"compare_gguf: {p} not found", file=sys.stderr)
            return 2
    if args.a.stat().st_size == args.b.stat().st_size and sha256(args.a) == sha256(args.b):
        print(f"compare_gguf: {args.a.name} and {args.b.name} are byte-identical files")

    ra, rb = refcommon.open_reader(args.a), refcommon.open_reader(args.b)
    patterns = list(refcommon.DEFAULT_IGNORED_KEYS) + args.ignore_key
    passed = failed = 0
    reported = 0

    def report(line: str) -> None:
        nonlocal reported
        if reported < args.max_report or args.verbose:
            print(line)
        elif reported == args.max_report:
            print("  ... (more differences not shown; use -v)")
        reported += 1

    meta = compare_metadata(ra, rb, patterns)
    if meta:
        failed += 1
        print(f"FAIL metadata: {len(meta)} difference(s) (ignoring {', '.join(patterns)})")
        for m in meta:
            print(f"  {m}")
    else:
        passed += 1
        if args.verbose:
            print(f"ok   metadata (ignoring {', '.join(patterns)})")

    ta = {t.name: t for t in ra.tensors}
    tb = {t.name: t for t in rb.tensors}
    types_a: dict[str, int] = {}
    for name in list(ta) + [n for n in tb if n not in ta]:
        if name not in tb:
            failed += 1
            report(f"FAIL {name}: only in A")
            continue
        if name not in ta:
            failed += 1
            report(f"FAIL {name}: only in B")
            continue
        types_a[ta[name].tensor_type.name] = types_a.get(ta[name].tensor_type.name, 0) + 1
        d = compare_tensor(ta[name], tb[name])
        if d is None:
            passed += 1
            if args.verbose:
                print(f"ok   {name} {ta[name].tensor_type.name} {ta[name].shape.tolist()}")
        else:
            failed += 1
            report(f"FAIL {name} {ta[name].shape.tolist()}: {d}")

    order_a = [t.name for t in ra.tensors if t.name in tb]
    order_b = [t.name for t in rb.tensors if t.name in ta]
    if order_a != order_b:
        if args.strict_order:
            failed += 1
            print("FAIL tensor order differs")
        else:
            print("note: tensor order differs (not a failure without --strict-order)")

    mix = ", ".join(f"{n}x{k}" for k, n in sorted(types_a.items()))
    print(f"compare_gguf: {args.a.name} vs {args.b.name}: {len(ta)} vs {len(tb)} tensors ({mix})")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
