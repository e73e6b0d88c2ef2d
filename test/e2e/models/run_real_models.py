#!/usr/bin/env python3
"""End to end on the real models (docs/REAL-MODELS.md): the ONNX files that torch.onnx.export
made (scripts/export-models.py) go through lowbit-compile (float and quantized) and
lowbit-run, and the outputs are compared with the torch and ONNX Runtime references saved
beside them.

    run_real_models.py --lowbit-compile PATH --lowbit-run PATH [--work DIR]
                       [--cases smollm2/float,smollm2/q8_0,minilm/float,...] [--threads N]

Cases (MODEL/QUANT): MODEL is smollm2 (SmolLM2-135M-Instruct, logits of 16 tokens), minilm
(all-MiniLM-L6-v2, last_hidden_state and the mean-pooled sentence embedding of 4 sentences of
up to 16 tokens) or minilm_pooled (the same with pooling and normalization in the graph,
skipped while lowbit-compile lacks Clip or ReduceL2); QUANT is float or a --quant format.
Both graphs keep their dynamic [batch, seq]. Checks per case:
  smollm2: top-1 agreement with torch over the 16 positions, and max |logit difference|
           (also printed: the same against ORT and llama.cpp, and the mean KL divergence)
  minilm: cosine of each sentence embedding with torch's, and max |hidden-state difference|
against the bounds in BOUNDS; a quantized case is compared with torch running the same
format's weights (gguf-py's quantizers) where the export saved that reference (q8_0, q4_0).
lowbit-run runs the portable matmul kernel (LOWBIT_MATMUL_KERNELS=portable), the exact product
of the stored weights; --kernels=tuned (the runtime's default, int8 activations) holds the
quantized cases to the loose "quant" bounds instead. Prints one line per case with the numbers, a JSON summary
(--json), and last `N passed, N failed, N skipped`. Exit status 1 on a failure, 77 (CTest:
skipped) when the exports are missing (run scripts/setup.sh, or scripts/export-models.sh).
Needs only numpy (the main venv's python).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

SKIP = 77
# Only numpy is needed; without it (or without the exports) the test is skipped.
try:
    import numpy as np
except ImportError:  # pragma: no cover
    print("SKIP real models: numpy not available (use the venv of scripts/setup.sh)")
    print("0 passed, 0 failed, 1 skipped")
    sys.exit(SKIP)

# The default set: both models in float and in q8_0 (the CI set).
DEFAULT_CASES = ["minilm/float", "minilm/q8_0", "minilm/q4_0", "minilm_pooled/float", "smollm2/float",
                 "smollm2/q8_0"]

# Acceptance bounds. "float": against torch in float, or for a quantized case against torch
# with the same format applied to its weights by gguf-py (the export saves those for Q8_0 and
# Q4_0): only float32 rounding of a different summation order may differ. "quant": a format
# without such a reference is checked against float torch with a loose floor that catches a
# broken kernel or layout, not a quality target (docs/REAL-MODELS.md has measured numbers).
BOUNDS = {
    ("smollm2", "float"): {"top1": 1.0, "max_abs": 0.05},
    ("smollm2", "quant"): {"top1": 0.75, "max_abs": 10.0},
    ("minilm", "float"): {"min_cos": 0.99999, "max_abs": 1e-3},
    ("minilm", "quant"): {"min_cos": 0.9, "max_abs": 2.0},
}

# Both exports have dynamic [batch, seq] and are compiled so (no --input-shape).


def cache_dir() -> Path:
    return Path(os.environ.get("LOWBIT_CACHE", str(Path.home() / ".cache" / "lowbit")))


def run(cmd: list[str], log: Path, env: dict | None = None) -> tuple[int, float, str]:
    t0 = time.perf_counter()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    dt = time.perf_counter() - t0
    log.write_text("$ " + " ".join(cmd) + "\n" + p.stdout)
    return p.returncode, dt, p.stdout


def mean_pool_normalize(h: np.ndarray, mask: np.ndarray) -> np.ndarray:
    m = mask[..., None].astype(np.float64)
    pooled = (h.astype(np.float64) * m).sum(1) / np.maximum(m.sum(1), 1e-9)
    return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)


def log_softmax(x: np.ndarray) -> np.ndarray:
    x = x - x.max(-1, keepdims=True)
    return x - np.log(np.exp(x).sum(-1, keepdims=True))


def compare_smollm2(out: dict, ref, names) -> dict:
    got = out["logits"].astype(np.float64)
    r = {}
    for name in names:
        want = ref[f"logits_{name}"].astype(np.float64)
        lp, lq = log_softmax(want), log_softmax(got)
        r[name] = {"max_abs": float(np.max(np.abs(got - want))),
                   "top1": float(np.mean(np.argmax(got, -1) == np.argmax(want, -1))),
                   # mean over positions of KL(reference || lowbit), in nats
                   "kl": float(np.mean(np.sum(np.exp(lp) * (lp - lq), -1)))}
    return r


def compare_minilm(out: dict, ref, names) -> dict:
    got = out["last_hidden_state"].astype(np.float64)
    mask = ref["attention_mask"]
    emb = mean_pool_normalize(got, mask)
    r = {}
    for name in names:
        want_h = ref[f"last_hidden_state_{name}"].astype(np.float64)
        want_e = ref[f"sentence_embedding_{name}"].astype(np.float64)
        cos = np.sum(emb * want_e, 1) / (np.linalg.norm(emb, axis=1) *
                                         np.linalg.norm(want_e, axis=1))
        valid = mask.astype(bool)
        r[name] = {"max_abs": float(np.max(np.abs(got - want_h)[valid])),
                   "min_cos": float(np.min(cos))}
    return r


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lowbit-compile", required=True)
    ap.add_argument("--lowbit-run", required=True)
    ap.add_argument("--work", default="real-models-work")
    ap.add_argument("--cases", default=",".join(DEFAULT_CASES))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--kernels", default="portable",
                    help="LOWBIT_MATMUL_KERNELS for lowbit-run (default portable: the quantized "
                         "references hold to float rounding only for the exact kernel; tuned, "
                         "avx512, avxvnni or avx2 round activations to int8 and are held to the "
                         "loose quant bounds instead)")
    ap.add_argument("--json", help="write the numbers here")
    args = ap.parse_args()

    exports = cache_dir() / "exports"
    files = {"smollm2": ("smollm2-135m.onnx", "smollm2-135m.ref.npz"),
             "minilm": ("minilm-l6-v2.onnx", "minilm-l6-v2.ref.npz"),
             "minilm_pooled": ("minilm-l6-v2-pooled.onnx", "minilm-l6-v2.ref.npz")}
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    passed = failed = skipped = 0
    summary = {}
    for case in [c for c in args.cases.split(",") if c]:
        model, quant = case.split("/")
        onnx_path, ref_path = (exports / f for f in files[model])
        if not onnx_path.exists() or not ref_path.exists():
            print(f"SKIP {case}: {onnx_path.name} or {ref_path.name} missing in {exports} "
                  f"(scripts/setup.sh makes them; or scripts/export-models.sh)")
            skipped += 1
            continue
        ref = np.load(ref_path)
        cdir = work / case.replace("/", "-")
        cdir.mkdir(parents=True, exist_ok=True)
        lbm = cdir / "model.lbm"
        cmd = [args.lowbit_compile, str(onnx_path), "-o", str(lbm)]
        if quant != "float":
            cmd += ["--quant", quant]
        if model == "minilm_pooled":
            have = subprocess.run([args.lowbit_compile, "--list-ops"], stdout=subprocess.PIPE,
                                  text=True).stdout.split()
            missing = [op for op in ("Clip", "ReduceL2") if f":{op}" not in have]
            if missing:
                print(f"SKIP {case}: lowbit-compile --list-ops lacks {', '.join(missing)}")
                skipped += 1
                continue
        rc, t_compile, log = run(cmd, cdir / "compile.log")
        if rc != 0:
            print(f"FAIL {case}: lowbit-compile exited {rc} ({cdir / 'compile.log'}):")
            print("  " + "\n  ".join(log.strip().splitlines()[-5:]))
            failed += 1
            continue
        inputs = ["input_ids"] if model == "smollm2" else [
            "input_ids", "attention_mask", "token_type_ids"]
        cmd = [args.lowbit_run, str(lbm), "--threads", str(args.threads),
               "--output-dir", str(cdir / "out")]
        for name in inputs:
            np.save(cdir / f"{name}.npy", ref[name])
            cmd += ["--input", f"{name}={cdir / f'{name}.npy'}"]
        # The runtime's default matmul kernels round activations to int8 per 32-block (like
        # llama.cpp), which moves logits by more than the float-rounding bound of the
        # gguf-py references; the portable kernel computes the stored weights' product.
        env = dict(os.environ, LOWBIT_MATMUL_KERNELS=args.kernels)
        rc, t_run, log = run(cmd, cdir / "run.log", env)
        if rc != 0:
            print(f"FAIL {case}: lowbit-run exited {rc} ({cdir / 'run.log'}):")
            print("  " + "\n  ".join(log.strip().splitlines()[-5:]))
            failed += 1
            continue
        outs = {p.stem: np.load(p) for p in (cdir / "out").glob("*.npy")}
        # The reference a case must match: torch in float, or torch with the same weight
        # format applied by gguf-py (scripts/export-models.py) where the export made one.
        family = "smollm2" if model == "smollm2" else "minilm"
        key = "logits_torch" if family == "smollm2" else "last_hidden_state_torch"
        exact = "torch" if quant == "float" else f"torch_{quant}"
        if f"{key}_{quant}" not in ref.files and quant != "float":
            exact = None
        if quant != "float" and args.kernels != "portable":
            exact = None  # int8 activations: not the exact product of the stored weights
        bound = BOUNDS[(family, "float" if exact else "quant")]
        ref_name = exact or "torch"
        names = ["torch", "ort"] + (["llama_cpp"] if family == "smollm2" else [])
        names += [exact] if exact and exact != "torch" else []
        if family == "smollm2":
            r = compare_smollm2(outs, ref, names)
            c = r[ref_name]
            ok = c["top1"] >= bound["top1"] and c["max_abs"] <= bound["max_abs"]
            nums = (f"vs {ref_name}: top-1 {c['top1']:.3f}, max |dlogit| {c['max_abs']:.3g}, "
                    f"KL {c['kl']:.2e}; vs float torch: top-1 {r['torch']['top1']:.3f}, max "
                    f"{r['torch']['max_abs']:.3g}, KL {r['torch']['kl']:.2e}; vs ORT max "
                    f"{r['ort']['max_abs']:.3g}; vs llama.cpp Q4_1: top-1 "
                    f"{r['llama_cpp']['top1']:.3f}, max {r['llama_cpp']['max_abs']:.3g}")
        else:
            r = compare_minilm(outs, ref, names)
            if "sentence_embedding" in outs:  # the pooled graph: its own embedding output
                e = outs["sentence_embedding"].astype(np.float64)
                w = ref[f"sentence_embedding_{ref_name}"]
                r["graph_embedding_min_cos"] = float(np.min(
                    np.sum(e * w, 1) / (np.linalg.norm(e, axis=1) * np.linalg.norm(w, axis=1))))
                r[ref_name]["min_cos"] = min(r[ref_name]["min_cos"], r["graph_embedding_min_cos"])
            c = r[ref_name]
            ok = c["min_cos"] >= bound["min_cos"] and c["max_abs"] <= bound["max_abs"]
            nums = (f"vs {ref_name}: min embedding cosine {c['min_cos']:.7f}, max |dhidden| "
                    f"{c['max_abs']:.3g}; vs float torch: cosine {r['torch']['min_cos']:.7f}, "
                    f"max {r['torch']['max_abs']:.3g}; vs ORT max {r['ort']['max_abs']:.3g}")
        r["reference"] = ref_name
        r.update({"compile_s": round(t_compile, 1), "run_s": round(t_run, 2),
                  "lbm_bytes": lbm.stat().st_size, "bounds": bound})
        summary[case] = r
        print(f"{'PASS' if ok else 'FAIL'} {case}: {nums} (compile {t_compile:.0f} s, "
              f"run {t_run:.2f} s, {lbm.stat().st_size / 1e6:.1f} MB; bounds {bound})")
        if ok:
            passed += 1
        else:
            failed += 1
        sys.stdout.flush()
    if args.json:
        Path(args.json).write_text(json.dumps(summary, indent=2) + "\n")
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    if failed:
        return 1
    return SKIP if skipped and not passed else 0


if __name__ == "__main__":
    sys.exit(main())
