#!/usr/bin/env python3
"""Exports the real models to ONNX with torch.onnx.export and saves reference outputs
(docs/REAL-MODELS.md).

Run with the export venv that scripts/export-models.sh makes (Debian's python3-torch 1.13,
transformers 4.46.3, onnxruntime; test/e2e/models/export-requirements.txt):

    ${LOWBIT_CACHE}/export-venv/bin/python scripts/export-models.py [--only smollm2|minilm] [--force]

Inputs (fetched by scripts/fetch-models.sh into ${LOWBIT_CACHE:-~/.cache/lowbit}/models):
  SmolLM2-135M-Instruct.Q4_1.gguf, all-MiniLM-L6-v2/, text/janeausten-evaluation.txt
Outputs, in ${LOWBIT_CACHE}/exports (never in the repository):
  smollm2-135m.onnx   LlamaForCausalLM, input_ids[batch, seq] (int64) -> logits[batch, seq, 49152]
  smollm2-135m.ref.npz  input_ids (1 x 16), logits of torch, onnxruntime and llama.cpp, and
                      of torch with gguf-py's Q8_0 / Q4_0 applied to every Linear weight
  minilm-l6-v2.onnx   BertModel: input_ids, attention_mask, token_type_ids [batch, seq] (int64)
                      -> last_hidden_state[batch, seq, 384]; the sentence embedding is its
                      mean over attention_mask, L2-normalized, computed outside the graph
  minilm-l6-v2-pooled.onnx  the same with pooling and normalization inside the graph
                      -> last_hidden_state, sentence_embedding[batch, 384]
  minilm-l6-v2.ref.npz  the three inputs (4 x 16), both outputs of torch and onnxruntime, and
                      of torch with Q8_0 / Q4_0 Linear weights (QUANT_REFS)
  export-info.json    versions, sizes, hashes, times and the agreement measured here
Each export is skipped when its files exist and were made from the same inputs and script
(a stamp in export-info.json), unless --force.

SmolLM2's float model is its Q4_1 GGUF dequantized by gguf-py. llama.cpp's converter
(convert_hf_to_gguf.py, LlamaModel.permute) reorders the rows of attn_q and attn_k from
Hugging Face's rotary layout (rotate_half: the two halves of each head) to GGML's
(interleaved pairs); this script undoes it. The check: HF logits against llama.cpp's own
(llama-cpp-python in the main venv, on the Q4_1 file) on the same tokens.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np
import torch

OPSET = 17
SMOL_SEQ = 16
MINILM_BATCH, MINILM_SEQ = 4, 16
SCRIPT_HASH = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]


def cache_dir() -> Path:
    return Path(os.environ.get("LOWBIT_CACHE", str(Path.home() / ".cache" / "lowbit")))


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def log(msg: str) -> None:
    print(f"export-models: {msg}", flush=True)


def eval_text(models: Path) -> str:
    return (models / "text" / "janeausten-evaluation.txt").read_text(encoding="utf-8")


def first_paragraph(text: str, min_chars: int = 200) -> str:
    """The first paragraph of the evaluation text that is prose (not a '# name' or CHAPTER line)."""
    for p in text.split("\n\n"):
        if len(p) >= min_chars and not p.startswith("#"):
            return p
    raise ValueError("no paragraph long enough")


def stats(a: np.ndarray, b: np.ndarray) -> dict:
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    return {"max_abs_diff": float(np.max(np.abs(a - b))),
            "max_abs_ref": float(np.max(np.abs(b)))}


def top1(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean(np.argmax(a, -1) == np.argmax(b, -1)))


# Weight formats whose effect on the outputs is measured here with gguf-py's own quantizers:
# every nn.Linear weight (what lowbit-compile --quant quantizes: each MatMul with a constant
# weight, SmolLM2's tied lm_head included) quantized along its input dimension and
# dequantized, activations in f32. The test compares lowbit's quantized outputs with these.
QUANT_REFS = ("Q8_0", "Q4_0")


def with_quantized_linears(model, qtype: str, forward):
    """forward() with every nn.Linear weight of model round-tripped through gguf-py's qtype;
    the weights are restored afterwards."""
    import gguf

    t = gguf.GGMLQuantizationType[qtype]
    saved = []
    with torch.no_grad():
        for mod in model.modules():
            if isinstance(mod, torch.nn.Linear):
                w = mod.weight
                q = gguf.quants.dequantize(gguf.quants.quantize(w.numpy(), t), t)
                saved.append((mod, w))
                mod.weight = torch.nn.Parameter(torch.from_numpy(np.ascontiguousarray(q, np.float32)))
        try:
            return forward()
        finally:
            for mod, w in saved:
                mod.weight = w


# ---------------------------------------------------------------- SmolLM2 (GGUF -> HF Llama)

GGUF_TO_HF = {
    "attn_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm",
    "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj",
    "attn_output": "self_attn.o_proj", "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj",
    "ffn_down": "mlp.down_proj",
}


def unpermute(w: np.ndarray, n_head: int) -> np.ndarray:
    """Inverse of convert_hf_to_gguf.py's permute(w, n_head, n_head): within each head,
    GGML's row order (pairs interleaved) back to HF's (first half, second half)."""
    rows = w.shape[0]
    return (w.reshape(n_head, rows // n_head // 2, 2, *w.shape[1:])
             .swapaxes(1, 2).reshape(w.shape))


def smollm2_from_gguf(path: Path):
    import gguf
    from transformers import LlamaConfig, LlamaForCausalLM

    r = gguf.GGUFReader(str(path))

    def kv(name):
        return r.fields[name].contents()

    n_head, n_kv = kv("llama.attention.head_count"), kv("llama.attention.head_count_kv")
    hidden = kv("llama.embedding_length")
    vocab = len(r.fields["tokenizer.ggml.tokens"].data)
    tied = not any(t.name == "output.weight" for t in r.tensors)
    cfg = LlamaConfig(
        vocab_size=vocab, hidden_size=hidden,
        intermediate_size=kv("llama.feed_forward_length"),
        num_hidden_layers=kv("llama.block_count"),
        num_attention_heads=n_head, num_key_value_heads=n_kv,
        head_dim=hidden // n_head,
        max_position_embeddings=kv("llama.context_length"),
        rms_norm_eps=float(kv("llama.attention.layer_norm_rms_epsilon")),
        rope_theta=float(kv("llama.rope.freq_base")),
        hidden_act="silu", tie_word_embeddings=tied,
        bos_token_id=kv("tokenizer.ggml.bos_token_id"),
        eos_token_id=kv("tokenizer.ggml.eos_token_id"),
        pad_token_id=kv("tokenizer.ggml.padding_token_id"),
        use_cache=False, attn_implementation="eager", torch_dtype="float32",
    )
    state = {}
    for t in r.tensors:
        w = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32)
        parts = t.name.split(".")
        if t.name == "token_embd.weight":
            name = "model.embed_tokens.weight"
        elif t.name == "output_norm.weight":
            name = "model.norm.weight"
        elif t.name == "output.weight":
            name = "lm_head.weight"
        elif parts[0] == "blk":
            layer, role = parts[1], parts[2]
            if role == "attn_q":
                w = unpermute(w, n_head)
            elif role == "attn_k":
                w = unpermute(w, n_kv)
            name = f"model.layers.{layer}.{GGUF_TO_HF[role]}.weight"
        else:
            raise ValueError(f"unexpected GGUF tensor {t.name}")
        state[name] = torch.from_numpy(np.ascontiguousarray(w))
    model = LlamaForCausalLM(cfg)
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [m for m in missing if not (tied and m == "lm_head.weight")]
    if missing or unexpected:
        raise ValueError(f"state dict mismatch: missing {missing}, unexpected {unexpected}")
    if tied:
        model.tie_weights()
    model.eval()
    return model, cfg


class LogitsOnly(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids):
        return self.model(input_ids=input_ids, use_cache=False).logits


LLAMA_CPP_REF = r"""
import sys, numpy as np, llama_cpp
gguf_path, text, n_tok, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
llm = llama_cpp.Llama(model_path=gguf_path, n_ctx=256, n_threads=2, n_batch=256,
                      logits_all=True, verbose=False)
toks = llm.tokenize(text.encode(), add_bos=False, special=False)[:n_tok]
llm.eval(toks)
np.savez(out, input_ids=np.array([toks], dtype=np.int64),
         logits=np.array(llm.scores[:len(toks)], dtype=np.float32)[None])
"""


def export_smollm2(models: Path, out: Path, info: dict) -> None:
    gguf_path = models / "SmolLM2-135M-Instruct.Q4_1.gguf"
    onnx_path, ref_path = out / "smollm2-135m.onnx", out / "smollm2-135m.ref.npz"
    text = first_paragraph(eval_text(models))

    # llama.cpp's logits on the first SMOL_SEQ tokens (its own tokenizer), in the main venv.
    t0 = time.time()
    main_py = cache_dir() / "venv" / "bin" / "python"
    lc_path = out / "smollm2-135m.llama-cpp.npz"
    subprocess.run([str(main_py), "-c", LLAMA_CPP_REF, str(gguf_path), text, str(SMOL_SEQ),
                    str(lc_path)], check=True)
    lc = np.load(lc_path)
    input_ids = lc["input_ids"]
    log(f"smollm2: llama.cpp reference on {input_ids.shape[1]} tokens ({time.time() - t0:.1f} s)")

    t0 = time.time()
    model, cfg = smollm2_from_gguf(gguf_path)
    log(f"smollm2: LlamaForCausalLM from the dequantized GGUF ({time.time() - t0:.1f} s)")
    with torch.no_grad():
        torch_logits = model(torch.from_numpy(input_ids)).logits.numpy()
    vs_lc = stats(torch_logits, lc["logits"])
    vs_lc["top1_agreement"] = top1(torch_logits, lc["logits"])
    log(f"smollm2: torch vs llama.cpp: {vs_lc}")
    if vs_lc["top1_agreement"] < 0.75:
        raise SystemExit("export-models: SmolLM2 in transformers disagrees with llama.cpp: "
                         "wrong weight mapping or Q/K permutation")

    # Called through a wrapper that takes input_ids alone: with the bare model, torch 1.13's
    # exporter makes forward()'s Python default num_logits_to_keep=0 a second graph input.
    t0 = time.time()
    with torch.no_grad():
        torch.onnx.export(
            LogitsOnly(model).eval(), (torch.from_numpy(input_ids),), str(onnx_path),
            input_names=["input_ids"], output_names=["logits"],
            dynamic_axes={"input_ids": {0: "batch", 1: "seq"},
                          "logits": {0: "batch", 1: "seq"}},
            opset_version=OPSET, do_constant_folding=True)
    export_s = time.time() - t0
    log(f"smollm2: exported {onnx_path} ({onnx_path.stat().st_size >> 20} MiB, {export_s:.1f} s)")

    ort_logits = run_ort(onnx_path, {"input_ids": input_ids})[0]
    vs_ort = stats(ort_logits, torch_logits)
    vs_ort["top1_agreement"] = top1(ort_logits, torch_logits)
    log(f"smollm2: onnxruntime vs torch: {vs_ort}")
    # torch.onnx.export leaves a module in the training mode it had before: keep eval.
    model.eval()
    quant = {}
    for qt in QUANT_REFS:
        # after the export: replacing lm_head's weight unties it from the embedding
        ql = with_quantized_linears(
            model, qt, lambda: model(torch.from_numpy(input_ids)).logits.numpy())
        quant[f"logits_torch_{qt.lower()}"] = ql
        log(f"smollm2: torch with {qt} linears vs float: {stats(ql, torch_logits)}, "
            f"top-1 {top1(ql, torch_logits):.3f}")
    np.savez(ref_path, input_ids=input_ids, logits_torch=torch_logits, logits_ort=ort_logits,
             logits_llama_cpp=lc["logits"], **quant)
    info["smollm2"] = {
        "onnx": onnx_path.name, "onnx_bytes": onnx_path.stat().st_size,
        "onnx_sha256": sha256(onnx_path), "export_seconds": round(export_s, 1),
        "tokens": int(input_ids.shape[1]), "text_head": text[:80],
        "config": {k: getattr(cfg, k) for k in (
            "hidden_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads",
            "intermediate_size", "vocab_size", "rope_theta", "rms_norm_eps",
            "tie_word_embeddings")},
        "torch_vs_llama_cpp": vs_lc, "ort_vs_torch": vs_ort,
    }


# ---------------------------------------------------------------- all-MiniLM-L6-v2

class SentenceEmbedder(torch.nn.Module):
    """sentence-transformers' all-MiniLM-L6-v2 (modules.json): Transformer, mean Pooling
    over attention_mask, Normalize (L2)."""

    def __init__(self, bert):
        super().__init__()
        self.bert = bert

    def forward(self, input_ids, attention_mask, token_type_ids):
        h = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                      token_type_ids=token_type_ids).last_hidden_state
        m = attention_mask.unsqueeze(-1).to(h.dtype)
        pooled = (h * m).sum(1) / m.sum(1).clamp(min=1e-9)
        return h, torch.nn.functional.normalize(pooled, p=2.0, dim=1)


def minilm_inputs(model_dir: Path, text: str):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tok.no_truncation()
    sentences = [s.strip() + "." for s in text.split(".") if len(s.strip()) > 20][:MINILM_BATCH]
    ids = np.zeros((MINILM_BATCH, MINILM_SEQ), np.int64)
    mask = np.zeros_like(ids)
    for i, s in enumerate(sentences):
        e = tok.encode(s).ids  # [CLS] ... [SEP]
        if len(e) > MINILM_SEQ:
            e = e[:MINILM_SEQ - 1] + [e[-1]]
        # different lengths on purpose, so that padding and the mask matter
        e = e[:max(6, MINILM_SEQ - 3 * i)]
        ids[i, :len(e)] = e
        mask[i, :len(e)] = 1
    return sentences, ids, mask, np.zeros_like(ids)


# The wrappers are put in eval mode before torch.onnx.export: it exports in eval mode but
# afterwards restores the mode a module had, and a new module is in training mode, which
# would switch BERT's dropout on for the quantized references below.
class HiddenOnly(torch.nn.Module):
    def __init__(self, bert):
        super().__init__()
        self.bert = bert

    def forward(self, input_ids, attention_mask, token_type_ids):
        return self.bert(input_ids=input_ids, attention_mask=attention_mask,
                         token_type_ids=token_type_ids).last_hidden_state


def mean_pool_normalize(h: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """sentence-transformers' Pooling (mean over attention_mask) and Normalize, in numpy."""
    m = mask[..., None].astype(np.float64)
    pooled = (h.astype(np.float64) * m).sum(1) / np.maximum(m.sum(1), 1e-9)
    return (pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)).astype(
        np.float32)


def export_minilm(models: Path, out: Path, info: dict) -> None:
    """Two graphs: minilm-l6-v2.onnx is BertModel alone (last_hidden_state, what a feature-
    extraction export looks like; pooling is done outside, mean_pool_normalize), and
    minilm-l6-v2-pooled.onnx has mean pooling and L2 normalization inside (two outputs)."""
    from transformers import BertModel

    model_dir = models / "all-MiniLM-L6-v2"
    onnx_path, ref_path = out / "minilm-l6-v2.onnx", out / "minilm-l6-v2.ref.npz"
    pooled_path = out / "minilm-l6-v2-pooled.onnx"
    t0 = time.time()
    bert = BertModel.from_pretrained(str(model_dir), attn_implementation="eager",
                                     add_pooling_layer=False, torch_dtype=torch.float32)
    bert.eval()
    sentences, ids, mask, types = minilm_inputs(model_dir, first_paragraph(eval_text(models)))
    log(f"minilm: BertModel from model.safetensors ({time.time() - t0:.1f} s)")
    args = tuple(torch.from_numpy(a) for a in (ids, mask, types))
    with torch.no_grad():
        h, emb = (x.numpy() for x in SentenceEmbedder(bert).eval()(*args))
    emb_np = mean_pool_normalize(h, mask)
    t0 = time.time()
    dyn = {0: "batch", 1: "seq"}
    in_names = ["input_ids", "attention_mask", "token_type_ids"]
    with torch.no_grad():
        torch.onnx.export(
            HiddenOnly(bert).eval(), args, str(onnx_path), input_names=in_names,
            output_names=["last_hidden_state"],
            dynamic_axes={"input_ids": dyn, "attention_mask": dyn, "token_type_ids": dyn,
                          "last_hidden_state": dyn},
            opset_version=OPSET, do_constant_folding=True)
        export_s = time.time() - t0
        torch.onnx.export(
            SentenceEmbedder(bert).eval(), args, str(pooled_path), input_names=in_names,
            output_names=["last_hidden_state", "sentence_embedding"],
            dynamic_axes={"input_ids": dyn, "attention_mask": dyn, "token_type_ids": dyn,
                          "last_hidden_state": dyn, "sentence_embedding": {0: "batch"}},
            opset_version=OPSET, do_constant_folding=True)
    log(f"minilm: exported {onnx_path} ({onnx_path.stat().st_size >> 20} MiB, {export_s:.1f} s)"
        f" and {pooled_path.name}")
    feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
    (ort_h,) = run_ort(onnx_path, feeds)
    ort_ph, ort_pemb = run_ort(pooled_path, feeds)
    ort_emb = mean_pool_normalize(ort_h, mask)
    vs_ort = {"last_hidden_state": stats(ort_h, h),
              "sentence_embedding_min_cosine": float(np.min(np.sum(ort_emb * emb, 1))),
              "pooled_graph_last_hidden_state": stats(ort_ph, h),
              "pooled_graph_sentence_embedding": stats(ort_pemb, emb),
              "numpy_pooling_vs_torch": stats(emb_np, emb)}
    log(f"minilm: onnxruntime vs torch: {vs_ort}")
    bert.eval()  # torch.onnx.export restores the wrapper's mode: no dropout here
    quant = {}
    for qt in QUANT_REFS:
        qh = with_quantized_linears(bert, qt, lambda: HiddenOnly(bert)(*args).numpy())
        quant[f"last_hidden_state_torch_{qt.lower()}"] = qh
        quant[f"sentence_embedding_torch_{qt.lower()}"] = mean_pool_normalize(qh, mask)
        log(f"minilm: torch with {qt} linears vs float: min cosine "
            f"{np.min(np.sum(mean_pool_normalize(qh, mask) * emb, 1)):.5f}")
    np.savez(ref_path, input_ids=ids, attention_mask=mask, token_type_ids=types,
             last_hidden_state_torch=h, sentence_embedding_torch=emb,
             last_hidden_state_ort=ort_h, sentence_embedding_ort=ort_emb, **quant)
    info["minilm"] = {
        "onnx": onnx_path.name, "onnx_bytes": onnx_path.stat().st_size,
        "onnx_sha256": sha256(onnx_path), "pooled_onnx": pooled_path.name,
        "pooled_onnx_bytes": pooled_path.stat().st_size, "export_seconds": round(export_s, 1),
        "batch": MINILM_BATCH, "seq": MINILM_SEQ, "sentences": sentences,
        "tokens_per_row": mask.sum(1).tolist(), "ort_vs_torch": vs_ort,
    }


def run_ort(path: Path, feeds: dict) -> list:
    try:
        import onnxruntime as ort
    except ImportError:
        log("onnxruntime not installed; skipping its check")
        return [None]
    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", choices=["smollm2", "minilm"])
    ap.add_argument("--force", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(int(os.environ.get("LOWBIT_EXPORT_THREADS", "2")))
    models, out = cache_dir() / "models", cache_dir() / "exports"
    out.mkdir(parents=True, exist_ok=True)
    info_path = out / "export-info.json"
    info = json.loads(info_path.read_text()) if info_path.exists() else {}
    import onnxruntime
    import transformers
    versions = {"torch": torch.__version__, "transformers": transformers.__version__,
                "onnxruntime": onnxruntime.__version__, "numpy": np.__version__,
                "python": sys.version.split()[0], "opset": OPSET}
    inputs = {
        "smollm2": [models / "SmolLM2-135M-Instruct.Q4_1.gguf"],
        "minilm": [models / "all-MiniLM-L6-v2" / "model.safetensors",
                   models / "all-MiniLM-L6-v2" / "config.json"],
    }
    files = {"smollm2": ["smollm2-135m.onnx", "smollm2-135m.ref.npz"],
             "minilm": ["minilm-l6-v2.onnx", "minilm-l6-v2-pooled.onnx", "minilm-l6-v2.ref.npz"]}
    exporters = {"smollm2": export_smollm2, "minilm": export_minilm}
    for name in ([args.only] if args.only else ["smollm2", "minilm"]):
        stamp = hashlib.sha256(json.dumps(
            [SCRIPT_HASH, versions, [sha256(p) for p in inputs[name]],
             sha256(models / "text" / "janeausten-evaluation.txt")]).encode()).hexdigest()[:16]
        if (not args.force and info.get(name, {}).get("stamp") == stamp
                and all((out / f).exists() for f in files[name])):
            log(f"{name}: up to date ({out / files[name][0]})")
            continue
        t0 = time.time()
        exporters[name](models, out, info)
        info[name]["stamp"] = stamp
        info[name]["total_seconds"] = round(time.time() - t0, 1)
        info["versions"] = versions
        info_path.write_text(json.dumps(info, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
