#!/usr/bin/env python3
"""Tokenizes the evaluation text for lowbit-eval (docs/RESULTS.md, "Protocol").

Run with the export venv (tokenizers); SmolLM2's tokens come from llama.cpp's
own tokenizer (llama-cpp-python in the main venv, vocab only), so lowbit and
llama.cpp score the very same tokens:

    ${LOWBIT_CACHE}/export-venv/bin/python scripts/make-eval-data.py [--force]

Inputs ($LOWBIT_CACHE/models): text/janeausten-evaluation.txt,
SmolLM2-135M-Instruct.Q4_1.gguf, all-MiniLM-L6-v2/tokenizer.json.
Outputs ($LOWBIT_CACHE/eval):
  smollm2-eval.tokens.npy    int32 [T]: the whole evaluation text, as one sequence
                             (no BOS: the GGUF says add_bos_token = false)
  smollm2-calib.tokens.npy   int32 [T]: text/janeausten-calibration.txt, the same way
                             (lowbit-compile --calibrate; disjoint from the evaluation text)
  minilm-eval.sentences.npz  input_ids, attention_mask, token_type_ids int64 [1000, L]
                             (L = the longest sentence, at most 128 tokens)
  minilm-eval.sentences.txt  the 1,000 sentences, one a line
  eval-data.json             counts, the rules and sha256 of each file

Sentences: the evaluation text's paragraphs (skipping '# novel' and CHAPTER
lines), cut after '.', '!' or '?' (and a closing quote) where the next word
starts with a capital or a quote (not after Mr., Mrs., Dr., St.); sentences of 6 to 60 words are kept, in text
order, and the first 1,000 taken.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np

SENTENCES, MIN_WORDS, MAX_WORDS, MAX_TOKENS = 1000, 6, 60, 128
# After '.', '!' or '?' (and a closing quote), before a capital or a quote,
# but not after the abbreviations the novels use before names.
SENTENCE_END = r"(?<!\bMr\.)(?<!\bMrs\.)(?<!\bDr\.)(?<!\bSt\.)(?<=[.!?])[\"']?\s+(?=[\"']?[A-Z])"
SCRIPT_HASH = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]

LLAMA_TOKENIZE = r"""
import sys, numpy as np, llama_cpp
llm = llama_cpp.Llama(model_path=sys.argv[1], vocab_only=True, verbose=False)
text = open(sys.argv[2], encoding="utf-8").read()
np.save(sys.argv[3], np.array(llm.tokenize(text.encode(), add_bos=False, special=False), np.int32))
"""


def cache_dir() -> Path:
    return Path(os.environ.get("LOWBIT_CACHE", str(Path.home() / ".cache" / "lowbit")))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def sentences_of(text: str) -> list[str]:
    out = []
    for paragraph in text.split("\n\n"):
        paragraph = paragraph.strip()
        if not paragraph or paragraph.startswith("#") or re.fullmatch(r"(CHAPTER|VOLUME) [IVXLC0-9]+\.?", paragraph):
            continue
        for sentence in re.split(SENTENCE_END, paragraph):
            if MIN_WORDS <= len(sentence.split()) <= MAX_WORDS:
                out.append(sentence.strip())
                if len(out) == SENTENCES:
                    return out
    raise SystemExit(f"make-eval-data: only {len(out)} sentences of {MIN_WORDS}-{MAX_WORDS} words")


def minilm_sentences(models: Path, text: str, out: Path) -> dict:
    from tokenizers import Tokenizer
    tok = Tokenizer.from_file(str(models / "all-MiniLM-L6-v2" / "tokenizer.json"))
    tok.enable_truncation(MAX_TOKENS)
    tok.no_padding()
    sentences = sentences_of(text)
    encoded = [tok.encode(s) for s in sentences]
    width = max(len(e.ids) for e in encoded)
    ids = np.zeros((len(encoded), width), np.int64)
    mask = np.zeros_like(ids)
    for row, e in enumerate(encoded):
        ids[row, :len(e.ids)] = e.ids
        mask[row, :len(e.ids)] = 1
    np.savez(out / "minilm-eval.sentences.npz", input_ids=ids, attention_mask=mask,
             token_type_ids=np.zeros_like(ids))
    (out / "minilm-eval.sentences.txt").write_text("\n".join(sentences) + "\n", encoding="utf-8")
    lengths = mask.sum(axis=1)
    return {"sentences": len(sentences), "max_tokens": int(width), "mean_tokens": round(float(lengths.mean()), 1)}


def smollm2_tokens(models: Path, text_path: Path, out: Path, name: str = "smollm2-eval.tokens.npy") -> dict:
    main_py = cache_dir() / "venv" / "bin" / "python"
    target = out / name
    subprocess.run([str(main_py), "-c", LLAMA_TOKENIZE, str(models / "SmolLM2-135M-Instruct.Q4_1.gguf"),
                    str(text_path), str(target)], check=True)
    return {"tokens": int(np.load(target).size)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--force", action="store_true")
    args = ap.parse_args()
    models, out = cache_dir() / "models", cache_dir() / "eval"
    out.mkdir(parents=True, exist_ok=True)
    text_path = models / "text" / "janeausten-evaluation.txt"
    calib_path = models / "text" / "janeausten-calibration.txt"
    info_path = out / "eval-data.json"
    stamp = hashlib.sha256(json.dumps([SCRIPT_HASH, sha256(text_path), sha256(calib_path)]).encode()).hexdigest()[:16]
    files = ["smollm2-eval.tokens.npy", "smollm2-calib.tokens.npy", "minilm-eval.sentences.npz",
             "minilm-eval.sentences.txt"]
    if not args.force and info_path.exists() and json.loads(info_path.read_text()).get("stamp") == stamp \
            and all((out / f).exists() for f in files):
        print(f"make-eval-data: up to date ({out})")
        return 0
    text = text_path.read_text(encoding="utf-8")
    info = {"stamp": stamp, "text": str(text_path), "text_sha256": sha256(text_path),
            "smollm2": smollm2_tokens(models, text_path, out),
            "smollm2_calibration": smollm2_tokens(models, calib_path, out, "smollm2-calib.tokens.npy"),
            "minilm": minilm_sentences(models, text, out)}
    info["sha256"] = {f: sha256(out / f) for f in files}
    info_path.write_text(json.dumps(info, indent=2) + "\n")
    print(f"make-eval-data: {info['smollm2']['tokens']} SmolLM2 tokens, "
          f"{info['minilm']['sentences']} sentences for MiniLM ({out})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
