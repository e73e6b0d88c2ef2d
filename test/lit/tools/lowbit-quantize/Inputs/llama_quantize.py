#!/usr/bin/env python3
"""Quantizes a GGUF file with llama.cpp itself (llama_model_quantize through
llama-cpp-python), for comparing lowbit-quantize's output byte for byte.

  llama_quantize.py IN OUT FTYPE   (FTYPE: the llama_ftype number, e.g. 15)
"""
import ctypes
import sys

import llama_cpp


def main():
    inp, out, ftype = sys.argv[1], sys.argv[2], int(sys.argv[3])
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = ftype
    params.nthread = 2
    params.allow_requantize = True
    sys.exit(1 if llama_cpp.llama_model_quantize(inp.encode(), out.encode(), ctypes.byref(params)) else 0)


if __name__ == "__main__":
    main()
