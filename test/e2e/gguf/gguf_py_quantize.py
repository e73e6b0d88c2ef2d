#!/usr/bin/env python3
"""Quantizes an F32 GGUF with gguf-py's own numpy quantizers (gguf.quants.quantize), a
second reference, independent of llama.cpp's C code, for the types gguf-py can
quantize: Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 TQ1_0 TQ2_0 (and F16, BF16). gguf-py has no
quantizer for the K-quants or IQ types, only dequantizers.

    python gguf_py_quantize.py IN.gguf OUT.gguf --type TYPE [--types-from REF.gguf | --pure]

--types-from REF.gguf (what the driver uses): every tensor gets the type, and the
  tensor order, it has in REF (e.g. llama.cpp's output for the same mix, so that the
  mix rules are llama.cpp's). Tensors of a type gguf-py cannot quantize (a Q6_K or
  Q8_0 output tensor, say) are copied from REF unchanged and listed as copied.
--pure (the default): every 2-D tensor whose name ends in "weight" and is not a
  norm goes to TYPE, with llama.cpp's shape fallback when ne0 is not a multiple of
  the block size; everything else keeps its type.
Metadata comes from IN, with general.file_type set to TYPE's llama_ftype and
general.quantization_version to 2, as llama.cpp writes them.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import gguf

sys.path.insert(0, str(Path(__file__).resolve().parent))
import refcommon  # noqa: E402

T = gguf.GGMLQuantizationType
# llama.cpp's fallback when a row is not a multiple of the type's block size (GGUF_SPEC.md 4.1).
FALLBACK = {T.Q2_K: T.Q4_0, T.Q3_K: T.Q4_0, T.TQ1_0: T.Q4_0, T.TQ2_0: T.Q4_0,
            T.Q4_K: T.Q5_0, T.Q5_K: T.Q5_1, T.Q6_K: T.Q8_0, T.IQ4_XS: T.IQ4_NL}


def pure_type(t: gguf.ReaderTensor, target: gguf.GGMLQuantizationType) -> gguf.GGMLQuantizationType:
    if not t.name.endswith("weight") or len(t.shape) < 2 or "_norm.weight" in t.name:
        return t.tensor_type
    ne0 = int(t.shape[0])
    q = target
    if ne0 % gguf.GGML_QUANT_SIZES[q][0] != 0:
        q = FALLBACK.get(q, T.F16)
        if ne0 % gguf.GGML_QUANT_SIZES[q][0] != 0:
            q = T.F16
    return q


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("input", type=Path)
    ap.add_argument("output", type=Path)
    ap.add_argument("--type", required=True, choices=sorted(refcommon.FTYPES))
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--types-from", type=Path, metavar="REF.gguf")
    g.add_argument("--pure", action="store_true")
    args = ap.parse_args()

    reader = refcommon.open_reader(args.input)
    src = {t.name: t for t in reader.tensors}
    for t in reader.tensors:
        if t.tensor_type != T.F32:
            print(f"gguf_py_quantize: {t.name} is {t.tensor_type.name}; the input must be all F32",
                  file=sys.stderr)
            return 2

    plan: list[tuple[str, gguf.GGMLQuantizationType, gguf.ReaderTensor | None]] = []
    if args.types_from:
        ref = refcommon.open_reader(args.types_from)
        names = {t.name for t in ref.tensors}
        if names != set(src):
            print(f"gguf_py_quantize: {args.types_from} has other tensors than {args.input}", file=sys.stderr)
            return 2
        plan = [(t.name, t.tensor_type, t) for t in ref.tensors]
    else:
        if args.type not in refcommon.FTYPE_DEFAULT_TYPE:
            print(f"gguf_py_quantize: --pure needs a single-type mix, not {args.type}", file=sys.stderr)
            return 2
        target = T[refcommon.FTYPE_DEFAULT_TYPE[args.type]]
        plan = [(t.name, pure_type(t, target), None) for t in reader.tensors]

    writer = refcommon.new_writer(reader, args.output.with_name(args.output.name + ".tmp"))
    refcommon.copy_metadata(reader, writer, {
        gguf.Keys.General.FILE_TYPE: (refcommon.FTYPES[args.type], gguf.GGUFValueType.UINT32),
        gguf.Keys.General.QUANTIZATION_VERSION: (gguf.GGML_QUANT_VERSION, gguf.GGUFValueType.UINT32),
    })
    t0 = time.perf_counter()
    copied: dict[str, int] = {}
    quantized: dict[str, int] = {}
    for name, qt, ref_t in plan:
        values = np.asarray(src[name].data, dtype=np.float32)
        if refcommon.gguf_py_can_quantize(qt):
            data = gguf.quants.quantize(values, qt)
            quantized[qt.name] = quantized.get(qt.name, 0) + 1
        elif ref_t is not None:
            data = np.asarray(ref_t.data)
            copied[qt.name] = copied.get(qt.name, 0) + 1
        else:
            print(f"gguf_py_quantize: gguf-py cannot quantize {name} to {qt.name}", file=sys.stderr)
            return 2
        if qt in (T.F32, T.F16):
            writer.add_tensor(name, data)
        else:
            writer.add_tensor(name, data, raw_dtype=qt)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    args.output.with_name(args.output.name + ".tmp").replace(args.output)

    q = ", ".join(f"{n}x{k}" for k, n in sorted(quantized.items()))
    print(f"gguf_py_quantize: {args.type}: {q} in {time.perf_counter() - t0:.1f} s")
    if copied:
        c = ", ".join(f"{n}x{k}" for k, n in sorted(copied.items()))
        print(f"gguf_py_quantize: copied from {args.types_from.name} (gguf-py has no quantizer): {c}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
