#!/usr/bin/env python3
"""End-to-end reference checks for lowbit-quantize on a real model (SmolLM2-135M-Instruct).

For each mix TYPE, starting from the F32 reference (the SmolLM2 Q4_1 GGUF dequantized by
make_f32_reference.py):
  1. llama.cpp quantizes it (llama_quantize.py: llama_model_quantize, llama.cpp's own code);
  2. lowbit-quantize quantizes it; case "lowbit=llama.cpp TYPE": compare_gguf.py must find
     every tensor byte-identical, with the same types (so the same mix rules) and metadata;
  3. for the types gguf-py can quantize (Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 TQ1_0 TQ2_0), gguf-py's
     numpy quantizers produce a third file with llama.cpp's per-tensor types; cases
     "gguf-py=llama.cpp TYPE" (the two references agree) and "lowbit=gguf-py TYPE".
A case NAME/pure passes --pure to both quantizers. While lowbit-quantize does not exist
the lowbit cases are skipped, not failed.

    python run_reference_checks.py [--lowbit PATH] [--types T,T,...|--all] [--threads N]

Run it with the venv python that scripts/setup.sh creates
(${LOWBIT_CACHE:-~/.cache/lowbit}/venv/bin/python). Prints PASS/FAIL/SKIP per case, a
timing table (llama.cpp vs lowbit-quantize, same file, same thread count), and last
`N passed, N failed, N skipped`. Exit status: 1 on any failure, 77 when the model or the
Python packages are missing (CTest reports that as skipped), else 0.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import re
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

# A case is a llama-quantize mix name, or NAME/pure for `--pure` (every quantizable tensor
# to the mix's default type, no mix rules). SmolLM2's rows are 576 wide (not a multiple
# of 256), so in the mixes only ffn_down (1536 wide) gets K/IQ4_XS/TQ blocks; the rest
# falls back to Q4_0/Q5_0/Q5_1/Q8_0/IQ4_NL, as in llama.cpp. No mix yields a Q2_K block on
# this model (Q2_K's ffn_down gets Q3_K), hence Q2_K/pure.
ALL_TYPES = ["Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q3_K_S", "Q3_K_M", "Q3_K_L",
             "Q4_K_S", "Q4_K_M", "Q5_K_S", "Q5_K_M", "Q6_K", "IQ4_NL", "IQ4_XS", "TQ1_0", "TQ2_0",
             "Q2_K/pure"]
# The default (CI) subset: every block format at least once (Q5_0 and Q6_K come with
# Q4_K_M, Q5_1 and Q5_K with Q3_K_M and Q5_K_S, IQ4_NL with IQ4_XS), the rule-heavy mixes
# Q3_K_M and Q4_K_M, and the gguf-py types Q4_0, Q4_1, Q8_0, TQ1_0, TQ2_0.
CI_TYPES = ["Q4_0", "Q4_1", "Q8_0", "Q2_K/pure", "Q3_K_S", "Q3_K_M", "Q4_K_M", "Q5_K_S",
            "IQ4_XS", "TQ1_0", "TQ2_0"]
GGUF_PY_TYPES = {"Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "TQ1_0", "TQ2_0"}
SKIP = 77


def run(cmd: list[str], log: Path) -> tuple[int, float, str]:
    t0 = time.perf_counter()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    dt = time.perf_counter() - t0
    log.write_text("$ " + " ".join(cmd) + "\n" + p.stdout)
    return p.returncode, dt, p.stdout


def tail(text: str, n: int = 25) -> str:
    lines = text.rstrip().splitlines()
    return "\n".join("    " + line for line in lines[-n:])


def file_sha(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest()


def f32_reference(model: Path, work: Path) -> Path:
    """Makes (or reuses) the F32 reference; remade when the input or the script changes."""
    import gguf
    out = work / (model.name.split(".")[0] + ".F32.gguf")
    stamp = out.with_suffix(".stamp")
    want = "\n".join([file_sha(model), file_sha(HERE / "make_f32_reference.py"),
                      file_sha(HERE / "refcommon.py"), getattr(gguf, "__version__", "?")])
    if out.is_file() and stamp.is_file() and stamp.read_text() == want:
        return out
    # --check: llama.cpp loads it and predicts the same next token as from the input.
    rc, dt, text = run([sys.executable, str(HERE / "make_f32_reference.py"), str(model), str(out), "--check"],
                       work / "make_f32_reference.log")
    if rc != 0:
        raise SystemExit(f"run_reference_checks: making the F32 reference failed:\n{tail(text)}")
    stamp.write_text(want)
    print(f"made the F32 reference {out} in {dt:.1f} s; " + text.strip().splitlines()[-1])
    return out


def tensor_mix(path: Path) -> str:
    import refcommon
    counts: dict[str, int] = {}
    for t in refcommon.open_reader(path).tensors:
        counts[t.tensor_type.name] = counts.get(t.tensor_type.name, 0) + 1
    return ", ".join(f"{n}x{k}" for k, n in sorted(counts.items()))


def lowbit_help(lowbit: Path) -> str:
    try:
        return subprocess.run([str(lowbit), "--help"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ""


def main() -> int:
    default_lowbit = HERE.parents[2] / "build" / "bin" / "lowbit-quantize"
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lowbit", type=Path, default=default_lowbit, help=f"lowbit-quantize (default {default_lowbit})")
    ap.add_argument("--types", default=",".join(CI_TYPES), help=f"comma-separated mixes (default {','.join(CI_TYPES)})")
    ap.add_argument("--all", action="store_true", help="every mix: " + " ".join(ALL_TYPES))
    ap.add_argument("--threads", type=int, default=2, help="threads for both quantizers (default 2)")
    ap.add_argument("--model", type=Path, default=None, help="the quantized GGUF the F32 reference is made from "
                    "(default: SmolLM2-135M-Instruct.Q4_1.gguf in the cache)")
    ap.add_argument("--work", type=Path, default=None, help="scratch folder (default: $LOWBIT_CACHE/e2e)")
    ap.add_argument("--keep", action="store_true", help="keep the quantized files")
    args = ap.parse_args()

    try:
        import numpy  # noqa: F401
        import gguf  # noqa: F401
        import llama_cpp  # noqa: F401
        import refcommon
    except ImportError as e:
        print(f"SKIP: {e}; run scripts/setup.sh and use {Path('$LOWBIT_CACHE/venv/bin/python')}")
        return SKIP
    model = args.model or refcommon.default_model()
    if not model.is_file():
        print(f"SKIP: {model} not found; scripts/setup.sh fetches it (scripts/fetch-models.sh)")
        return SKIP
    types = ALL_TYPES if args.all else [t for t in args.types.split(",") if t]
    unknown = [t for t in types if t.removesuffix("/pure") not in refcommon.FTYPES]
    if unknown:
        ap.error(f"unknown type(s) {unknown}")
    work = args.work or refcommon.cache_dir() / "e2e"
    work.mkdir(parents=True, exist_ok=True)

    lowbit: Path | None = args.lowbit
    if not (lowbit.is_file() and os.access(lowbit, os.X_OK)):
        print(f"SKIP: lowbit-quantize not found at {lowbit}: the lowbit cases are skipped; "
              "the reference pipeline (llama.cpp, gguf-py, compare) still runs")
        lowbit = None
    help_text = lowbit_help(lowbit) if lowbit else ""
    # lowbit-quantize gets --threads and --pure only if its --help lists them.
    lowbit_extra = ["--threads", str(args.threads)] if "--threads" in help_text else []
    lowbit_pure = "--pure" in help_text

    f32 = f32_reference(model, work)
    py = sys.executable
    passed = failed = skipped = 0
    timings: list[tuple[str, float | None, float | None]] = []

    def case(ok: bool | None, name: str, detail: str = "", output: str = "") -> None:
        nonlocal passed, failed, skipped
        if ok is None:
            skipped += 1
            print(f"SKIP {name}{': ' + detail if detail else ''}", flush=True)
        elif ok:
            passed += 1
            print(f"PASS {name}{' (' + detail + ')' if detail else ''}", flush=True)
        else:
            failed += 1
            print(f"FAIL {name}{': ' + detail if detail else ''}", flush=True)
            if output:
                print(tail(output), flush=True)

    def compare(name: str, a: Path, b: Path) -> None:
        rc, dt, text = run([py, str(HERE / "compare_gguf.py"), str(a), str(b)], work / ("compare." + re.sub(r"[^A-Za-z0-9._=-]+", "_", name) + ".log"))
        last = text.rstrip().splitlines()[-1] if text.strip() else ""
        case(rc == 0, name, last, text)

    for t in types:
        mix = t.removesuffix("/pure")
        pure = ["--pure"] if t.endswith("/pure") else []
        tag = t.replace("/", "-")
        ref = work / f"llama.{tag}.gguf"
        rc, t_llama, text = run([py, str(HERE / "llama_quantize.py"), str(f32), str(ref), mix,
                                 "--threads", str(args.threads)] + pure, work / f"llama_quantize.{tag}.log")
        if rc != 0:
            case(False, f"llama.cpp {t}", "llama_model_quantize failed", text)
            timings.append((t, None, None))
            continue
        t_llama_q = t_llama
        for line in text.splitlines():  # the time of the quantization itself
            if line.startswith("llama_quantize:") and " in " in line:
                t_llama_q = float(line.split(" in ")[-1].split()[0])
        case(True, f"llama.cpp {t}", f"{t_llama_q:.2f} s; {tensor_mix(ref)}")

        t_lowbit = None
        out = work / f"lowbit.{tag}.gguf"
        if lowbit is None:
            case(None, f"lowbit=llama.cpp {t}", "no lowbit-quantize")
        elif pure and not lowbit_pure:
            case(None, f"lowbit=llama.cpp {t}", "lowbit-quantize --help lists no --pure")
        else:
            rc, t_lowbit, text = run([str(lowbit), str(f32), str(out), "--type", mix] + lowbit_extra + pure,
                                     work / f"lowbit_quantize.{tag}.log")
            if rc != 0:
                case(False, f"lowbit=llama.cpp {t}", f"lowbit-quantize exited with {rc}", text)
                t_lowbit = None
            else:
                compare(f"lowbit=llama.cpp {t}", ref, out)
        timings.append((t, t_llama_q, t_lowbit))

        if mix in GGUF_PY_TYPES:
            gp = work / f"ggufpy.{tag}.gguf"
            rc, _, text = run([py, str(HERE / "gguf_py_quantize.py"), str(f32), str(gp), "--type", mix,
                               "--types-from", str(ref)], work / f"gguf_py_quantize.{tag}.log")
            if rc != 0:
                case(False, f"gguf-py {t}", "gguf_py_quantize failed", text)
            else:
                compare(f"gguf-py=llama.cpp {t}", ref, gp)
                if lowbit is None:
                    case(None, f"lowbit=gguf-py {t}", "no lowbit-quantize")
                elif out.is_file():
                    compare(f"lowbit=gguf-py {t}", gp, out)
            if not args.keep:
                gp.unlink(missing_ok=True)
        if not args.keep:
            ref.unlink(missing_ok=True)
            out.unlink(missing_ok=True)

    print(f"\ntimes on {f32.name}, {args.threads} threads (seconds; llama.cpp: llama_model_quantize "
          "alone; lowbit: the whole process):")
    print(f"  {'type':10} {'llama.cpp':>10} {'lowbit':>10} {'ratio':>7}")
    for t, a, b in timings:
        fa = f"{a:10.2f}" if a is not None else f"{'-':>10}"
        fb = f"{b:10.2f}" if b is not None else f"{'-':>10}"
        r = f"{b / a:7.2f}" if a and b else f"{'-':>7}"
        print(f"  {t:10} {fa} {fb} {r}")
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
