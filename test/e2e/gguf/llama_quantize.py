#!/usr/bin/env python3
"""Quantizes a GGUF with llama.cpp's own quantizer (llama_model_quantize, through
llama-cpp-python's low-level binding): the reference that lowbit-quantize must match
byte for byte. The equivalent of `llama-quantize [--pure] IN OUT TYPE NTHREADS`.

    python llama_quantize.py IN.gguf OUT.gguf TYPE [--threads N] [--pure] [-v]

TYPE is a llama-quantize mix name: Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q2_K Q3_K_S Q3_K_M Q3_K_L
Q4_K_S Q4_K_M Q5_K_S Q5_K_M Q6_K IQ4_NL IQ4_XS TQ1_0 TQ2_0 (also F16, BF16, F32, Q2_K_S).
Prints the wall time of the quantization itself (library load excluded).
"""
from __future__ import annotations

import argparse
import ctypes
import logging
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import refcommon  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("input", type=Path)
    ap.add_argument("output", type=Path)
    ap.add_argument("type", choices=sorted(refcommon.FTYPES))
    ap.add_argument("--threads", type=int, default=2, help="quantization threads (default 2)")
    ap.add_argument("--pure", action="store_true", help="every tensor to the default type (no mix rules)")
    ap.add_argument("-v", "--verbose", action="store_true", help="show llama.cpp's log")
    args = ap.parse_args()

    import llama_cpp
    import llama_cpp._logger as llama_logger
    llama_logger.logger.setLevel(logging.DEBUG if args.verbose else logging.ERROR)

    ftype = refcommon.FTYPES[args.type]
    # Guard the table against the binding's own constants.
    const = "LLAMA_FTYPE_ALL_F32" if args.type == "F32" else f"LLAMA_FTYPE_MOSTLY_{args.type}"
    if getattr(llama_cpp, const, ftype) != ftype:
        print(f"llama_quantize: {const} is {getattr(llama_cpp, const)} in llama_cpp, table says {ftype}",
              file=sys.stderr)
        return 2

    llama_cpp.llama_backend_init()
    params = llama_cpp.llama_model_quantize_default_params()
    params.nthread = args.threads
    params.ftype = ftype
    params.allow_requantize = True
    params.pure = args.pure
    t0 = time.perf_counter()
    rc = llama_cpp.llama_model_quantize(str(args.input).encode(), str(args.output).encode(),
                                        ctypes.byref(params))
    dt = time.perf_counter() - t0
    if rc != 0:
        print(f"llama_quantize: llama_model_quantize failed ({rc}) for {args.type}", file=sys.stderr)
        return 1
    print(f"llama_quantize: {args.type} (ftype {ftype}) {args.input.name} -> {args.output.name} "
          f"in {dt:.2f} s with {args.threads} threads")
    return 0


if __name__ == "__main__":
    sys.exit(main())
