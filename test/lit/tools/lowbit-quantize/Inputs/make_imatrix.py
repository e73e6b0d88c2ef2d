#!/usr/bin/env python3
"""Writes a legacy llama.cpp imatrix.dat for the model of make_gguf.py.

Format (docs/GGUF.md): int32 entry count; per entry int32 name length, the
name, int32 ncall, int32 value count, float32 values (sum of squared
activations / count · ncall); then int32 chunk count, int32 dataset name
length and the dataset name. Standard library only.

  make_imatrix.py OUT [--layers N] [--experts N]
"""
import argparse
import struct


def entries(layers, experts, hidden=256, ffn=512):
    """(name, values): ne[0] values per matrix, one matrix per expert."""
    out = []
    for i in range(layers):
        p = "blk.%d." % i
        for name in ("attn_q", "attn_k", "attn_v", "attn_output"):
            out.append((p + name + ".weight", hidden))
        if experts:
            out += [(p + "ffn_gate_exps.weight", hidden * experts), (p + "ffn_up_exps.weight", hidden * experts),
                    (p + "ffn_down_exps.weight", ffn * experts)]
        else:
            out += [(p + "ffn_gate.weight", hidden), (p + "ffn_up.weight", hidden), (p + "ffn_down.weight", ffn)]
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--experts", type=int, default=0)
    args = parser.parse_args()
    data = [struct.pack("<i", len(entries(args.layers, args.experts)))]
    for index, (name, columns) in enumerate(entries(args.layers, args.experts)):
        ncall = 10
        # Importance varying over columns, so that it changes the result.
        values = [(1.0 + ((j * 37 + index) % 17)) * ncall for j in range(columns)]
        data.append(struct.pack("<i", len(name)) + name.encode() + struct.pack("<ii", ncall, columns) +
                    struct.pack("<%df" % columns, *values))
    dataset = b"calibration.txt"
    data.append(struct.pack("<ii", 100, len(dataset)) + dataset)
    with open(args.out, "wb") as f:
        f.write(b"".join(data))


if __name__ == "__main__":
    main()
