"""lowbit-eval: what quantization does to a real model (docs/RESULTS.md).

    lowbit-eval MODEL.onnx --data DATA --formats q8_0,q4_k_m [--windows N] [--report DIR]

Compiles the model once per format with lowbit-compile (float always, as the
reference), runs every artifact through lowbit's runtime on the same inputs
and prints, per format, the quality against the float model:

decoder (DATA: a 1-D .npy of token ids): perplexity by llama.cpp's protocol:
  windows of --ctx tokens laid end to end from the start of the text; in
  each, the first half is context only and the logits at positions
  ctx/2 .. ctx-2 are scored against the next token (ctx/2 - 1 per window);
  PPL = exp(mean NLL), its standard error from the NLLs' standard error of
  the mean; KL(float || format) of the next-token distributions at the same
  positions, and top-1 agreement with float.
encoder (DATA: an .npz with input_ids, attention_mask, token_type_ids):
  sentence embeddings (mean over the mask, L2-normalized), cosine against
  float: mean and minimum.

--ort also runs the ONNX file in ONNX Runtime (the float reference lowbit must
match), --ort-int4 ONNX Runtime's own 4-bit MatMulNBits quantization of it; --gguf
F32.gguf runs llama.cpp (llama-cpp-python) on the same windows with the same
GGUF quant type made by lowbit-quantize. --report DIR writes report.md,
results.json and the plots.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lowbit.runtime import LowbitError, Model

# Names the report uses for formats whose #lowbit.format spelling has spaces.
ALIASES = {
    "int8": "int8",                       # symmetric, one scale per output channel
    "int8-a8": "int8, a8",                # W8A8: int8 per channel, per-token int8 activations
    # Upper case names a llama.cpp type as llama-quantize --type does (a mix: weights whose
    # rows do not fit the type fall back as llama.cpp does); lower case, one format.
    "int4-g128": "int4, group = 128",     # symmetric, one scale per 128 weights
    "int4-g64": "int4, group = 64",
    "int4-g32": "int4, group = 32",
}
# lowbit format -> llama.cpp's type name for llama-quantize (--gguf).
GGUF_TYPES = {"float": "F32", "q8_0": "Q8_0", "q6_k": "Q6_K", "q5_k_m": "Q5_K_M", "q5_k_s": "Q5_K_S",
              "q4_k_m": "Q4_K_M", "q4_k_s": "Q4_K_S", "q4_0": "Q4_0", "q4_1": "Q4_1", "q5_0": "Q5_0",
              "q5_1": "Q5_1", "q3_k_m": "Q3_K_M", "q3_k_s": "Q3_K_S", "q3_k_l": "Q3_K_L", "q2_k": "Q2_K",
              "iq4_nl": "IQ4_NL", "iq4_xs": "IQ4_XS", "tq1_0": "TQ1_0", "tq2_0": "TQ2_0"}


def log(message: str) -> None:
    print(f"lowbit-eval: {message}", file=sys.stderr, flush=True)


class EvalError(Exception):
    """A problem with the user's input or a tool it ran, named plainly."""


# --------------------------------------------------------------------------
# Compiling
# --------------------------------------------------------------------------

@dataclass
class Variant:
    """One column of the comparison: a format compiled by lowbit, or a peer."""
    label: str
    quant: str = ""           # lowbit-compile --quant ("" = float)
    artifact: Path | None = None
    weights: dict = field(default_factory=dict)   # lowbit-compile --weight-stats
    size_bytes: int = 0
    run: object = None        # callable(inputs) -> first output
    seconds: list = field(default_factory=list)
    tokens: int = 0
    peer: str = ""            # "" for lowbit; "onnxruntime", "llama.cpp"

    linear_elements_total: int = 0  # every MatMul/Gemm weight of the model, quantized or not
    fixed_bits: float | None = None  # as recorded in a results file (--table)

    @property
    def bits_per_weight(self) -> float:
        """Over all linear weights: those the format left in float count 32 bits each."""
        if self.fixed_bits is not None:
            return self.fixed_bits
        w = self.weights
        quantized = w.get("linear_elements", 0) if w else 0
        total = max(self.linear_elements_total, quantized)
        if not total:
            return 32.0
        stored = 8.0 * (w.get("linear_packed_bytes", 0) + w.get("linear_side_bytes", 0)) if w else 0.0
        return (stored + 32.0 * (total - quantized)) / total


def linear_weights(model: str) -> tuple[int, int]:
    """How many constant weights MatMul and Gemm nodes multiply by (what lowbit-compile
    --quant may quantize), and their elements, read from the ONNX file."""
    import onnx
    graph = onnx.load(model, load_external_data=False).graph
    sizes = {t.name: int(np.prod(t.dims)) for t in graph.initializer}
    count = total = 0
    for node in graph.node:
        if node.op_type in ("MatMul", "Gemm") and len(node.input) > 1 and node.input[1] in sizes:
            count += 1
            total += sizes[node.input[1]]
    return count, total


def safe_name(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", label)


def compile_variant(args, label: str, work: Path) -> Variant:
    # "q4_0+gptq": the format before '+', the compile flags from --compile-args.
    base = label.split("+")[0]
    quant = "" if base == "float" else ALIASES.get(base, base)
    extra = shlex.split(args.compile_args.get(label, ""))
    artifact = work / f"{safe_name(label)}.lbm"
    stats = work / f"{safe_name(label)}.weights.json"
    flags = work / f"{safe_name(label)}.args"
    compiler = Path(args.bin) / "lowbit-compile"
    # The model's path is part of the record: a work directory shared by two
    # models must not hand one model's artifact of a label to the other.
    record = f"{os.path.abspath(args.model)}\n{' '.join(extra)}"
    fresh = (artifact.exists() and stats.exists()
             and artifact.stat().st_mtime > max(Path(args.model).stat().st_mtime, compiler.stat().st_mtime)
             and (flags.read_text() if flags.exists() else "") == record)
    if fresh and not args.recompile:
        log(f"{label}: reusing {artifact}")
    else:
        command = [str(compiler), args.model, "-o", str(artifact), "--weight-stats", str(stats)]
        if quant:
            command += ["--quant", quant]
        command += extra
        flags.write_text(record)
        log(f"{label}: compiling ({' '.join(command[1:])})")
        start = time.time()
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise EvalError(f"lowbit-compile failed for '{label}':\n{done.stderr.strip()}")
        summary = [line for line in done.stderr.splitlines() if "summary:" in line]
        log(f"{label}: compiled in {time.time() - start:.1f} s; {summary[-1].split('summary: ')[-1] if summary else ''}")
    variant = Variant(label=label, quant=quant, artifact=artifact,
                      weights=json.loads(stats.read_text()), size_bytes=artifact.stat().st_size)
    return variant


def open_lowbit(variant: Variant, threads: int) -> Model:
    model = Model(variant.artifact)
    session = model.session(threads)
    variant.run = lambda inputs: session.run(inputs)[0]
    return model


# --------------------------------------------------------------------------
# Peers: ONNX Runtime and llama.cpp
# --------------------------------------------------------------------------

def ort_session(path: str, threads: int):
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    return lambda inputs: session.run(None, {k: inputs[k] for k in names})[0]


def ort_matmulnbits(model: str, work: Path, block: int) -> Path:
    """ONNX Runtime's own 4-bit weight quantizer (MatMulNBits, symmetric, block `block`)."""
    out = work / f"ort-int4-b{block}.onnx"
    if out.exists() and out.stat().st_mtime > Path(model).stat().st_mtime:
        return out
    import onnx
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer
    log(f"onnxruntime: quantizing to MatMulNBits int4 block {block}")
    quantizer = MatMulNBitsQuantizer(onnx.load(model), block_size=block, is_symmetric=True)
    quantizer.process()
    tmp = out.with_suffix(".tmp")
    quantizer.model.save_model_to_file(str(tmp), use_external_data_format=False)
    tmp.rename(out)
    return out


def gguf_variant(args, label: str, work: Path) -> Variant | None:
    """llama.cpp on the GGUF that llama-quantize's rules make for `label` (lowbit-quantize
    writes the same bytes as llama-quantize: docs/GGUF.md)."""
    gtype = GGUF_TYPES.get(label.lower())
    if gtype is None:
        return None
    path = Path(args.gguf) if gtype == "F32" else work / f"llama-{safe_name(label)}.gguf"
    if gtype != "F32" and not (path.exists() and path.stat().st_mtime > Path(args.gguf).stat().st_mtime):
        done = subprocess.run([str(Path(args.bin) / "lowbit-quantize"), args.gguf, str(path), "--type", gtype,
                               "--threads", str(args.threads)], capture_output=True, text=True)
        if done.returncode != 0:
            raise EvalError(f"lowbit-quantize --type {gtype} failed:\n{done.stderr.strip()}")
    import llama_cpp
    llm = llama_cpp.Llama(model_path=str(path), n_ctx=args.ctx, n_batch=args.ctx, n_ubatch=args.ctx,
                          n_threads=args.threads, n_threads_batch=args.threads, logits_all=True, verbose=False)

    def run(inputs):
        tokens = inputs["input_ids"][0].tolist()
        llm.reset()
        llm.eval(tokens)
        return np.array(llm.scores[:len(tokens)], dtype=np.float32)[None]

    return Variant(label=f"llama.cpp {gtype}", run=run, size_bytes=path.stat().st_size, peer="llama.cpp",
                   weights={"gguf_type": gtype})


# --------------------------------------------------------------------------
# Decoder: perplexity, KL divergence, top-1
# --------------------------------------------------------------------------

def log_softmax(logits: np.ndarray) -> np.ndarray:
    x = logits.astype(np.float64)
    x -= x.max(axis=-1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))


@dataclass
class DecoderStats:
    nll: list = field(default_factory=list)
    kld: list = field(default_factory=list)
    top1: list = field(default_factory=list)

    def summary(self) -> dict:
        nll = np.concatenate(self.nll)
        mean, sem = nll.mean(), nll.std(ddof=1) / math.sqrt(nll.size)
        out = {"positions": int(nll.size), "ppl": float(math.exp(mean)), "ppl_se": float(math.exp(mean) * sem),
               "nll": float(mean)}
        if self.kld:
            kld = np.concatenate(self.kld)
            out.update(kld=float(kld.mean()), kld_se=float(kld.std(ddof=1) / math.sqrt(kld.size)),
                       top1=float(np.concatenate(self.top1).mean()))
        return out


def evaluate_decoder(args, variants: list[Variant], tokens: np.ndarray) -> dict:
    ctx, first = args.ctx, args.ctx // 2
    available = tokens.size // ctx
    windows = min(args.windows, available) if args.windows > 0 else available
    if windows < 1:
        raise EvalError(f"--data has {tokens.size} tokens: fewer than one window of --ctx {ctx}")
    log(f"perplexity: {windows} windows of {ctx} tokens (of {available} in the text), "
        f"{ctx - 1 - first} scored per window")
    stats = {v.label: DecoderStats() for v in variants}
    base = variants[0]
    for w in range(windows):
        window = tokens[w * ctx:(w + 1) * ctx].astype(np.int64)[None]
        target = window[0, first + 1:]
        reference = None
        for v in variants:
            start = time.perf_counter()
            logits = v.run({"input_ids": window})
            v.seconds.append(time.perf_counter() - start)
            v.tokens += ctx
            if logits.shape[-2:] != (ctx, logits.shape[-1]):
                raise EvalError(f"{v.label}: logits of shape {logits.shape}, expected [1, {ctx}, vocab]")
            lp = log_softmax(logits[0, first:ctx - 1])
            s = stats[v.label]
            s.nll.append(-lp[np.arange(target.size), target])
            if v is base:
                reference, p, top = lp, np.exp(lp), lp.argmax(-1)
                continue
            s.kld.append((p * (reference - lp)).sum(axis=-1))
            s.top1.append((lp.argmax(-1) == top).astype(np.float64))
        line = ", ".join(f"{v.label} {math.exp(np.concatenate(stats[v.label].nll).mean()):.3f}" for v in variants)
        log(f"window {w + 1}/{windows}: ppl {line}")
    results = {}
    for v in variants:
        r = stats[v.label].summary()
        r["tokens_per_second"] = v.tokens / sum(v.seconds)
        results[v.label] = r
    return {"windows": windows, "ctx": ctx, "scored_per_window": ctx - 1 - first, "results": results}


# --------------------------------------------------------------------------
# Encoder: sentence-embedding cosine
# --------------------------------------------------------------------------

def sentence_embeddings(v: Variant, data, rows: slice) -> np.ndarray:
    mask = data["attention_mask"][rows]
    width = int(mask.sum(axis=1).max())
    inputs = {k: np.ascontiguousarray(data[k][rows, :width]) for k in ("input_ids", "attention_mask", "token_type_ids")}
    start = time.perf_counter()
    hidden = v.run(inputs)
    v.seconds.append(time.perf_counter() - start)
    v.tokens += int(mask.sum())
    m = inputs["attention_mask"][..., None].astype(np.float64)
    pooled = (hidden * m).sum(axis=1) / np.maximum(m.sum(axis=1), 1e-9)
    return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)


def evaluate_encoder(args, variants: list[Variant], data) -> dict:
    count = min(args.sentences, data["input_ids"].shape[0])
    log(f"embeddings: {count} sentences in batches of {args.batch}")
    embeddings = {v.label: [] for v in variants}
    for start in range(0, count, args.batch):
        rows = slice(start, min(start + args.batch, count))
        for v in variants:
            embeddings[v.label].append(sentence_embeddings(v, data, rows))
        if (start // args.batch) % 8 == 0 or rows.stop == count:
            log(f"sentences {rows.stop}/{count}")
    base = np.concatenate(embeddings[variants[0].label])
    results = {}
    for v in variants:
        e = np.concatenate(embeddings[v.label])
        cos = (e * base).sum(axis=1)
        results[v.label] = {"sentences": count, "cosine_mean": float(cos.mean()), "cosine_min": float(cos.min()),
                            "tokens_per_second": v.tokens / sum(v.seconds)}
    return {"sentences": count, "results": results}


# --------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------

def composition(v: Variant) -> str:
    """The formats the linear weights got, most used first ("q4_k 120, q5_0 60")."""
    if v.peer:
        return v.weights.get("gguf_type", "")
    records = v.weights.get("weights", [])
    counts: dict[str, int] = {}
    for w in records:
        counts[w["format"]] = counts.get(w["format"], 0) + 1
    total = v.weights.get("linear_weight_count")
    parts = [f"{f} {n}" for f, n in sorted(counts.items(), key=lambda kv: -kv[1])]
    if total and total > len(records):
        parts.append(f"f32 {total - len(records)}")
    return ", ".join(parts) or "f32"


def table(kind: str, evaluation: dict, variants: list[Variant]) -> str:
    base = evaluation["results"][variants[0].label]
    if kind == "decoder":
        head = ("| format | linear weights | bits/weight | size (MB) | PPL | ΔPPL | KLD | top-1 | tokens/s |\n"
                "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    else:
        head = ("| format | linear weights | bits/weight | size (MB) | cosine mean | cosine min | tokens/s |\n"
                "| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    rows = [head]
    for v in variants:
        r = evaluation["results"][v.label]
        bits = f"{v.bits_per_weight:.3f}" if not v.peer else v.weights.get("bits", "")
        size = f"{v.size_bytes / 1e6:.1f}" if v.size_bytes else ""
        first = f"| {v.label} | {composition(v)} | {bits} | {size} "
        if kind == "decoder":
            kld = f"{r['kld']:.5f} ± {r['kld_se']:.5f}" if "kld" in r else ""
            top1 = f"{100 * r['top1']:.2f}%" if "top1" in r else ""
            delta = f"{r['ppl'] - base['ppl']:+.4f}" if v is not variants[0] else ""
            rows.append(first + f"| {r['ppl']:.4f} ± {r['ppl_se']:.4f} | {delta} | {kld} "
                        f"| {top1} | {r['tokens_per_second']:.1f} |")
        else:
            rows.append(first + f"| {r['cosine_mean']:.7f} | {r['cosine_min']:.7f} "
                        f"| {r['tokens_per_second']:.1f} |")
    return "\n".join(rows)


def variants_from_results(evaluation: dict) -> list[Variant]:
    """The variants of a results file, enough to render its table and plots again."""
    out = []
    for label, v in evaluation["variants"].items():
        weights = {"weights": v.get("weights", []), "linear_weight_count": v.get("linear_weight_count")}
        if v.get("peer"):
            weights.update(v.get("peer_info", {}))
        out.append(Variant(label=label, quant=v.get("quant", ""), peer=v.get("peer", ""), weights=weights,
                           size_bytes=v.get("size_bytes", 0), fixed_bits=v.get("bits_per_weight")))
    return out


def write_plots(report: Path, kind: str, evaluation: dict, variants: list[Variant]) -> list[str]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    made = []
    lowbit = [v for v in variants if not v.peer]
    quantized = [v for v in lowbit if v.weights.get("weights")]
    # Quality against bits per weight: the size/quality frontier.
    fig, ax = plt.subplots(figsize=(7, 4.5))
    metric = "ppl" if kind == "decoder" else "cosine_mean"
    xs = [v.bits_per_weight for v in quantized]
    ys = [evaluation["results"][v.label][metric] for v in quantized]
    ax.plot(xs, ys, "o")
    for v, x, y in zip(quantized, xs, ys):
        ax.annotate(v.label, (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8)
    ax.axhline(evaluation["results"][variants[0].label][metric], color="gray", ls="--", lw=1,
               label="float (32 bits/weight)")
    ax.set_xlabel("bits per weight (all linear weights, scales included)")
    ax.set_ylabel("perplexity" if kind == "decoder" else "mean cosine to float")
    if kind == "decoder":
        ax.set_yscale("log")
    ax.set_title(f"{Path(evaluation['model']).stem}: {'perplexity' if kind == 'decoder' else 'embedding cosine'}"
                 " against size")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(report / "quality_vs_bits.png", dpi=110)
    plt.close(fig)
    made.append("quality_vs_bits.png")
    # Per-layer relative weight error, in graph order.
    fig, ax = plt.subplots(figsize=(9, 4.5))
    for v in quantized:
        errors = [w["relative_error"] for w in v.weights["weights"]]
        ax.plot(range(len(errors)), errors, ".-", lw=0.6, ms=2.5, label=v.label)
    ax.set_yscale("log")
    ax.set_xlabel("linear weight, in graph order (7 per decoder layer: q k v o gate up down)"
                  if kind == "decoder" else "linear weight, in graph order (6 per encoder layer)")
    ax.set_ylabel("relative RMS error ||W - Q(W)|| / ||W||")
    ax.set_title("per-layer weight error")
    ax.legend(fontsize=7, ncol=2)
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    fig.savefig(report / "layer_error.png", dpi=110)
    plt.close(fig)
    made.append("layer_error.png")
    return made


def write_report(args, report: Path, kind: str, evaluation: dict, variants: list[Variant], text: str) -> None:
    report.mkdir(parents=True, exist_ok=True)
    plots = write_plots(report, kind, evaluation, variants)
    command = "lowbit-eval " + " ".join(a if re.fullmatch(r"[\w./=,:-]+", a) else repr(a) for a in sys.argv[1:])
    md = [f"# lowbit-eval: {Path(args.model).name}", "", f"Command: `{command}`", "", text, "",
          *[f"![{p}]({p})" for p in plots], ""]
    (report / "report.md").write_text("\n".join(md), encoding="utf-8")
    (report / "results.json").write_text(json.dumps(evaluation, indent=2) + "\n")
    log(f"report: {report / 'report.md'}")


def describe(kind: str, evaluation: dict, args) -> str:
    if kind == "decoder":
        return (f"Perplexity of {evaluation['windows']} windows of {evaluation['ctx']} tokens "
                f"({evaluation['scored_per_window']} scored each, "
                f"{evaluation['windows'] * evaluation['scored_per_window']} in all); KLD = mean "
                f"KL(float || format) in nats and top-1 = agreement of the argmax with lowbit's float model at "
                f"the scored positions; tokens/s of the whole {evaluation['ctx']}-token forward pass, "
                f"{args.threads} threads.")
    return (f"Cosine similarity of {evaluation['sentences']} sentence embeddings (mean-pooled, normalized) "
            f"against lowbit's float model; tokens/s of the forward passes (batches of {args.batch}), "
            f"{args.threads} threads.")


def parse_args(argv):
    here = Path(__file__).resolve()
    default_bin = os.environ.get("LOWBIT_BIN") or str(here.parents[2] / "build" / "bin")
    ap = argparse.ArgumentParser(prog="lowbit-eval", description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    ap.add_argument("model", nargs="?", help="the float ONNX model")
    ap.add_argument("--data", help="token ids (.npy, decoder) or sentences (.npz, encoder)")
    ap.add_argument("--from-results", metavar="JSON", help="run nothing: print the table of an earlier --json "
                    "file again (and write --report from it)")
    ap.add_argument("--formats", default="q8_0", help="comma-separated lowbit formats or mixes "
                    f"(aliases: {', '.join(ALIASES)}); float is always evaluated as the reference")
    ap.add_argument("--windows", type=int, default=16, help="decoder: windows to score (0: all the text has)")
    ap.add_argument("--ctx", type=int, default=512, help="decoder: window length in tokens")
    ap.add_argument("--sentences", type=int, default=1000, help="encoder: sentences to embed")
    ap.add_argument("--batch", type=int, default=32, help="encoder: sentences per forward pass")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--work", default="lowbit-eval-work", help="folder for the compiled artifacts (reused)")
    ap.add_argument("--recompile", action="store_true", help="compile even where an artifact is up to date")
    ap.add_argument("--report", help="write report.md, results.json and PNG plots into this folder")
    ap.add_argument("--json", help="write the results as JSON to this file")
    ap.add_argument("--ort", action="store_true", help="also run the float ONNX file in ONNX Runtime")
    ap.add_argument("--ort-int4", action="store_true", help="also run ONNX Runtime's own MatMulNBits int4 "
                    "quantizations of the model (symmetric, block 32 and 128; implies --ort)")
    ap.add_argument("--gguf", help="decoder: the model as an F32 GGUF; also run llama.cpp on each format "
                    "that has a GGUF type")
    ap.add_argument("--bin", default=default_bin, help="folder with lowbit-compile and lowbit-quantize")
    ap.add_argument("--compile-args", action="append", default=[], metavar="LABEL=ARGS",
                    help="extra lowbit-compile flags for the format labelled LABEL in --formats; a label "
                         "may add '+NAME' to a format to compare variants of it, e.g. --formats q4_0,q4_0+gptq "
                         "--compile-args 'q4_0+gptq=--method gptq --calib-stats s.calib'")
    args = ap.parse_args(argv)
    if not args.from_results and (not args.model or not args.data):
        ap.error("give MODEL.onnx and --data (or --from-results)")
    compile_args = {}
    for spec in args.compile_args:
        label, sep, flags = spec.partition("=")
        if not sep or not label:
            ap.error(f"--compile-args expects LABEL=ARGS, got '{spec}'")
        compile_args[label] = flags
    args.compile_args = compile_args
    if args.ctx < 4 or args.ctx % 2:
        ap.error("--ctx must be an even number of at least 4")
    return args


def load_data(path: str):
    p = Path(path)
    if not p.exists():
        raise EvalError(f"--data: no such file: {path}")
    try:
        if p.suffix == ".npz":
            data = dict(np.load(p))
            missing = {"input_ids", "attention_mask", "token_type_ids"} - set(data)
            if missing:
                raise EvalError(f"--data {path}: missing arrays {', '.join(sorted(missing))}")
            return "encoder", data
        tokens = np.load(p)
    except ValueError as e:
        raise EvalError(f"--data {path}: not a numpy file ({e})") from None
    if tokens.ndim != 1 or tokens.dtype.kind not in "iu":
        raise EvalError(f"--data {path}: expected a 1-D array of token ids, got {tokens.dtype} {tokens.shape}")
    return "decoder", tokens


def rerender(args) -> int:
    """--from-results: the table (and report) of a finished evaluation."""
    try:
        evaluation = json.loads(Path(args.from_results).read_text())
        kind, variants = evaluation["kind"], variants_from_results(evaluation)
    except (OSError, ValueError, KeyError) as e:
        raise EvalError(f"--from-results {args.from_results}: not a lowbit-eval results file ({e})") from None
    args.model, args.threads, args.batch = evaluation["model"], evaluation["threads"], evaluation.get("batch", 32)
    text = describe(kind, evaluation, args) + "\n\n" + table(kind, evaluation, variants)
    print(text)
    if args.report:
        write_report(args, Path(args.report), kind, evaluation, variants, text)
    return 0


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        if args.from_results:
            return rerender(args)
        if not Path(args.model).exists():
            raise EvalError(f"no such model: {args.model}")
        kind, data = load_data(args.data)
        work = Path(args.work)
        work.mkdir(parents=True, exist_ok=True)
        labels = ["float"] + [f.strip() for f in args.formats.split(",") if f.strip() and f.strip() != "float"]
        variants = [compile_variant(args, label, work) for label in labels]
        count, total = linear_weights(args.model)
        for v in variants:
            v.linear_elements_total = total
            v.weights["linear_weight_count"] = count
        models = [open_lowbit(v, args.threads) for v in variants]
        names = {i.name for i in models[0].inputs}
        expected = {"input_ids"} if kind == "decoder" else {"input_ids", "attention_mask", "token_type_ids"}
        if names != expected:
            raise EvalError(f"{args.model} takes inputs {sorted(names)}; --data gives {kind} inputs {sorted(expected)}")
        if args.ort or args.ort_int4:
            variants.append(Variant(label="onnxruntime float", run=ort_session(args.model, args.threads),
                                    size_bytes=Path(args.model).stat().st_size, peer="onnxruntime",
                                    weights={"bits": "32"}))
        if args.ort_int4:
            for block in (32, 128):
                path = ort_matmulnbits(args.model, work, block)
                variants.append(Variant(label=f"onnxruntime int4 b{block}", run=ort_session(str(path), args.threads),
                                        size_bytes=path.stat().st_size, peer="onnxruntime",
                                        weights={"bits": f"{4 + 16 / block:.3f}"}))
        if args.gguf:
            if kind != "decoder":
                raise EvalError("--gguf is for decoders")
            variants += [g for g in (gguf_variant(args, label, work) for label in labels) if g]
        evaluation = (evaluate_decoder(args, variants, data) if kind == "decoder"
                      else evaluate_encoder(args, variants, data))
        evaluation.update(model=args.model, kind=kind, threads=args.threads, batch=args.batch,
                          variants={v.label: {"quant": v.quant, "peer": v.peer, "bits_per_weight":
                                              v.bits_per_weight if not v.peer else None,
                                              "size_bytes": v.size_bytes,
                                              "linear_weight_count": v.weights.get("linear_weight_count"),
                                              "peer_info": {k: x for k, x in v.weights.items()
                                                            if v.peer and k in ("bits", "gguf_type")},
                                              "weights": v.weights.get("weights", [])} for v in variants})
        text = describe(kind, evaluation, args) + "\n\n" + table(kind, evaluation, variants)
        print(text)
        if args.json:
            Path(args.json).write_text(json.dumps(evaluation, indent=2) + "\n")
        if args.report:
            write_report(args, Path(args.report), kind, evaluation, variants, text)
        return 0
    except (EvalError, LowbitError) as e:
        print(f"lowbit-eval: error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
