#!/usr/bin/env python3
"""Writes a tiny Llama-shaped GGUF v3 model for lowbit-quantize's lit tests.

Standard library only (struct, array). The layout follows GGUF_SPEC.md
section 1: header, metadata, tensor infos, zero padding to the alignment,
then each tensor's data padded to the alignment.

  make_gguf.py OUT [--variant NAME] [--dtype f32|f16] [--layers N] [--llama-keys]
              [--experts N]

--experts N makes a Mixtral-style MoE: a router ffn_gate_inp and 3-D
ffn_{gate,up,down}_exps tensors with N experts instead of the dense FFN.

--llama-keys adds the hyper-parameters llama.cpp's loader requires, so that
llama.cpp can quantize the same file (to compare its output with ours).

Variants that break the file on purpose (for error tests):
  valid, bad-magic, version1, truncated (cut in the tensor data),
  truncated-header (cut inside the metadata), bad-offset, huge-string,
  no-arch (no general.architecture),
  iq2 (an extra IQ2_XXS tensor, which lowbit cannot decode: quantizing
  fails after the output file was started).
"""
import argparse
import array
import struct

ALIGNMENT = 32
F32, F16 = 0, 1
T_UINT32, T_FLOAT32, T_STRING, T_ARRAY = 4, 6, 8, 9


def gguf_string(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def kv(key, vtype, payload):
    return gguf_string(key) + struct.pack("<I", vtype) + payload


def pad(n):
    return (n + ALIGNMENT - 1) // ALIGNMENT * ALIGNMENT


def model_tensors(layers, experts=0, hidden=256, ffn=512, vocab=32, kv_dim=128):
    t = [("token_embd.weight", [hidden, vocab]), ("output_norm.weight", [hidden]),
         ("output.weight", [hidden, vocab])]
    for i in range(layers):
        p = "blk.%d." % i
        t += [(p + "attn_norm.weight", [hidden]), (p + "attn_q.weight", [hidden, hidden]),
              (p + "attn_k.weight", [hidden, kv_dim]), (p + "attn_v.weight", [hidden, kv_dim]),
              (p + "attn_output.weight", [hidden, hidden]), (p + "ffn_norm.weight", [hidden])]
        if experts:
            t += [(p + "ffn_gate_inp.weight", [hidden, experts]),
                  (p + "ffn_gate_exps.weight", [hidden, ffn, experts]),
                  (p + "ffn_up_exps.weight", [hidden, ffn, experts]),
                  (p + "ffn_down_exps.weight", [ffn, hidden, experts])]
        else:
            t += [(p + "ffn_gate.weight", [hidden, ffn]), (p + "ffn_up.weight", [hidden, ffn]),
                  (p + "ffn_down.weight", [ffn, hidden])]
    return t


def tensor_values(index, count, is_norm):
    """Deterministic weights: norms near 1, the rest small and varied."""
    if is_norm:
        return array.array("f", [1.0 + 0.001 * (i % 7) for i in range(count)])
    state = 12345 + 7919 * index
    out = array.array("f", bytes(4 * count))
    for i in range(count):
        state = (state * 1103515245 + 12345) & 0x7FFFFFFF
        out[i] = ((state >> 8) / float(1 << 23) - 0.5) * 0.1
    return out


def to_f16(values):
    return b"".join(struct.pack("<e", v) for v in values)


def build(variant, dtype, layers, llama_keys=False, experts=0):
    tensors = model_tensors(layers, experts)
    meta = []
    if variant != "no-arch":
        meta.append(kv("general.architecture", T_STRING, gguf_string("llama")))
    meta += [
        kv("general.name", T_STRING, gguf_string("tiny-llama")),
        kv("llama.block_count", T_UINT32, struct.pack("<I", layers)),
        kv("llama.embedding_length", T_UINT32, struct.pack("<I", 256)),
        kv("llama.attention.head_count", T_UINT32, struct.pack("<I", 4)),
        kv("llama.attention.head_count_kv", T_UINT32, struct.pack("<I", 2)),
        kv("llama.attention.layer_norm_rms_epsilon", T_FLOAT32, struct.pack("<f", 1e-5)),
        kv("tokenizer.ggml.tokens", T_ARRAY,
           struct.pack("<IQ", T_STRING, 3) + b"".join(gguf_string(s) for s in ("<s>", "a", "b"))),
    ]
    if llama_keys:
        meta += [
            kv("llama.context_length", T_UINT32, struct.pack("<I", 128)),
            kv("llama.feed_forward_length", T_UINT32, struct.pack("<I", 512)),
            kv("llama.rope.dimension_count", T_UINT32, struct.pack("<I", 64)),
            kv("llama.vocab_size", T_UINT32, struct.pack("<I", 32)),
        ]
    if experts:
        meta += [
            kv("llama.expert_count", T_UINT32, struct.pack("<I", experts)),
            kv("llama.expert_used_count", T_UINT32, struct.pack("<I", 2)),
        ]
    if variant == "huge-string":
        meta.append(gguf_string("general.bad") + struct.pack("<IQ", T_STRING, 1 << 60))

    infos, blobs, offset = [], [], 0
    for index, (name, shape) in enumerate(tensors):
        count = 1
        for d in shape:
            count *= d
        is_norm = len(shape) == 1
        values = tensor_values(index, count, is_norm)
        ttype = F32 if is_norm or dtype == "f32" else F16
        data = values.tobytes() if ttype == F32 else to_f16(values)
        stored_offset = offset + (ALIGNMENT if variant == "bad-offset" and index == 1 else 0)
        infos.append(gguf_string(name) + struct.pack("<I", len(shape)) +
                     b"".join(struct.pack("<Q", d) for d in shape) + struct.pack("<IQ", ttype, stored_offset))
        blobs.append(data + bytes(pad(len(data)) - len(data)))
        offset += pad(len(data))

    if variant == "iq2":
        # 2 rows of one 256-block, 66 bytes each; the bytes are never decoded.
        data = bytes(range(132))
        infos.append(gguf_string("blk.1.extra.weight") + struct.pack("<I", 2) + struct.pack("<QQ", 256, 2) +
                     struct.pack("<IQ", 16, offset))
        blobs.append(data + bytes(pad(len(data)) - len(data)))
        offset += pad(len(data))
        tensors = tensors + [("blk.1.extra.weight", [256, 2])]

    version = 1 if variant == "version1" else 3
    magic = b"GGML" if variant == "bad-magic" else b"GGUF"
    header = magic + struct.pack("<IQQ", version, len(tensors), len(meta)) + b"".join(meta) + b"".join(infos)
    header += bytes(pad(len(header)) - len(header))
    out = header + b"".join(blobs)
    if variant == "truncated":
        out = out[: len(header) + 1000]
    elif variant == "truncated-header":
        out = out[:100]
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--variant", default="valid")
    parser.add_argument("--dtype", default="f32", choices=["f32", "f16"])
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--llama-keys", action="store_true")
    parser.add_argument("--experts", type=int, default=0)
    args = parser.parse_args()
    with open(args.out, "wb") as f:
        f.write(build(args.variant, args.dtype, args.layers, args.llama_keys, args.experts))


if __name__ == "__main__":
    main()
