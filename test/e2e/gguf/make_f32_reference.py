#!/usr/bin/env python3
"""Turns a quantized GGUF (SmolLM2-135M-Instruct Q4_1 by default) into an all-F32 GGUF:
"the float model" that every quantization comparison starts from.

Every tensor is dequantized with gguf-py's own dequantizer; all metadata (tokenizer
included) is copied unchanged except general.file_type, which becomes 0 (ALL_F32).
Tensor order and alignment are kept.

    python make_f32_reference.py [IN.gguf] OUT.gguf [--check]

--check loads the result in llama-cpp-python, evaluates a short prompt with both
files and prints the largest logit difference (the input's matmuls quantize
activations to Q8, so it is small but not zero).
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


def make_f32(src: Path, dst: Path) -> None:
    reader = gguf.GGUFReader(str(src))
    tmp = dst.with_name(dst.name + ".tmp")
    writer = refcommon.new_writer(reader, tmp)
    refcommon.copy_metadata(reader, writer, {
        gguf.Keys.General.FILE_TYPE: (refcommon.FTYPES["F32"], gguf.GGUFValueType.UINT32),
    })
    for t in reader.tensors:
        values = refcommon.tensor_f32(t)
        expected = tuple(int(n) for n in reversed(t.shape.tolist()))
        values = values.reshape(expected)
        if not np.all(np.isfinite(values)):
            raise SystemExit(f"{t.name}: non-finite values after dequantization")
        writer.add_tensor(t.name, np.ascontiguousarray(values))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    tmp.replace(dst)


def check_loads(src: Path, f32: Path) -> None:
    import llama_cpp
    from llama_cpp import Llama

    llama_cpp.llama_backend_init()
    prompt = b"The capital of France is"
    logits = []
    for path in (src, f32):
        llm = Llama(model_path=str(path), n_ctx=64, n_threads=2, n_batch=64, logits_all=True,
                    verbose=False)
        toks = llm.tokenize(prompt)
        llm.eval(toks)
        logits.append(np.array(llm.scores[llm.n_tokens - 1], dtype=np.float32))
        top = int(np.argmax(logits[-1]))
        print(f"check: {path.name}: {len(toks)} tokens, next token {top} "
              f"{llm.detokenize([top])!r}")
        del llm
    diff = float(np.max(np.abs(logits[0] - logits[1])))
    print(f"check: max |logit difference| between the two files: {diff:.4g}")
    if int(np.argmax(logits[0])) != int(np.argmax(logits[1])):
        raise SystemExit("check: the two files predict different next tokens")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("paths", nargs="+", metavar="[IN] OUT")
    ap.add_argument("--check", action="store_true", help="load and evaluate the result in llama-cpp-python")
    args = ap.parse_args()
    if len(args.paths) == 1:
        src, dst = refcommon.default_model(), Path(args.paths[0])
    elif len(args.paths) == 2:
        src, dst = Path(args.paths[0]), Path(args.paths[1])
    else:
        ap.error("expected [IN.gguf] OUT.gguf")
    if not src.is_file():
        print(f"make_f32_reference: {src} not found (run scripts/setup.sh)", file=sys.stderr)
        return 1
    t0 = time.perf_counter()
    make_f32(src, dst)
    print(f"make_f32_reference: {src.name} -> {dst} in {time.perf_counter() - t0:.1f} s")
    if args.check:
        check_loads(src, dst)
    return 0


if __name__ == "__main__":
    sys.exit(main())
