#!/usr/bin/env python3
"""Quantizes a GGUF file with llama.cpp itself (llama_model_quantize through
llama-cpp-python), for comparing lowbit-quantize's output byte for byte.

  llama_quantize.py IN OUT FTYPE [--output-tensor-type ID]
                    [--token-embedding-type ID] [--pure] [--leave-output-tensor]

FTYPE is the llama_ftype number (e.g. 15 for Q4_K_M), ID a ggml type id.
"""
import argparse
import ctypes
import sys

import llama_cpp


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("inp")
    parser.add_argument("out")
    parser.add_argument("ftype", type=int)
    parser.add_argument("--output-tensor-type", type=int)
    parser.add_argument("--token-embedding-type", type=int)
    parser.add_argument("--pure", action="store_true")
    parser.add_argument("--leave-output-tensor", action="store_true")
    args = parser.parse_args()
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = args.ftype
    params.nthread = 2
    params.allow_requantize = True
    params.pure = args.pure
    params.quantize_output_tensor = not args.leave_output_tensor
    if args.output_tensor_type is not None:
        params.output_tensor_type = args.output_tensor_type
    if args.token_embedding_type is not None:
        params.token_embedding_type = args.token_embedding_type
    sys.exit(1 if llama_cpp.llama_model_quantize(args.inp.encode(), args.out.encode(), ctypes.byref(params)) else 0)


if __name__ == "__main__":
    main()
