"""Decodes packed lowbit weights in numpy, written from the layouts in
docs/FORMATS.md and /work/shared/reference/GGUF_SPEC.md section 2, sharing no
code with lib/Quant or the runtime: the independent dequantizer the e2e
tests compare the compiled kernels with.

decode(fmt, raw, n, k, scales, zero_points, mins) -> float64 [n, k]
  fmt: the format text ('q4_k', 'int4, group = 32, asym', 'ternary', ...)
  raw: the packed bytes (uint8, n rows of equal length)
  scales/zero_points/mins: the side arrays of int and ternary (else None)
"""
import numpy as np

IQ4_TABLE = np.array([-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113], np.float64)
BLOCK = {  # weights per block, bytes per block (GGUF_SPEC.md 2.0)
    "q4_0": (32, 18), "q4_1": (32, 20), "q5_0": (32, 22), "q5_1": (32, 24), "q8_0": (32, 34),
    "q2_k": (256, 84), "q3_k": (256, 110), "q4_k": (256, 144), "q5_k": (256, 176), "q6_k": (256, 210),
    "iq4_nl": (32, 18), "iq4_xs": (256, 136), "tq1_0": (256, 54), "tq2_0": (256, 66),
}


def f16(b, at):
    """The fp16 at byte `at` of every block, as float64 [blocks, 1]."""
    return b[:, at:at + 2].copy().view(np.float16).astype(np.float64)


def nibbles_q4_0(qs):
    """Q4_0 order: element j = low nibble of qs[j], j + 16 = high nibble."""
    return np.concatenate([qs & 15, qs >> 4], axis=1).astype(np.int64)


def fifth_bit(b, at):
    qh = b[:, at:at + 4].copy().view("<u4").astype(np.int64)
    return (qh >> np.arange(32)) & 1


def q2_planes(qs):
    """Q2_K / Q3_K / TQ2_0 low bits: element 128h + 32p + l = bits 2p of qs[32h + l]."""
    out = np.empty((qs.shape[0], 256), np.int64)
    for h in range(2):
        for p in range(4):
            out[:, 128 * h + 32 * p:128 * h + 32 * p + 32] = (qs[:, 32 * h:32 * h + 32] >> (2 * p)) & 3
    return out


def k4_scales(sc):
    """get_scale_min_k4: 8 six-bit scales and mins from 12 bytes."""
    sc = sc.astype(np.int64)
    s, m = np.empty((sc.shape[0], 8), np.int64), np.empty((sc.shape[0], 8), np.int64)
    for j in range(4):
        s[:, j] = sc[:, j] & 63
        m[:, j] = sc[:, j + 4] & 63
    for j in range(4, 8):
        s[:, j] = (sc[:, j + 4] & 15) | ((sc[:, j - 4] >> 6) << 4)
        m[:, j] = (sc[:, j + 4] >> 4) | ((sc[:, j] >> 6) << 4)
    return s, m


def k4_nibbles(qs):
    """Q4_K / Q5_K: chunk c of 64 = low nibbles of qs[32c..], then high nibbles."""
    out = np.empty((qs.shape[0], 256), np.int64)
    for c in range(4):
        out[:, 64 * c:64 * c + 32] = qs[:, 32 * c:32 * c + 32] & 15
        out[:, 64 * c + 32:64 * c + 64] = qs[:, 32 * c:32 * c + 32] >> 4
    return out


def decode_blocks(kind, b):
    """b: uint8 [blocks, bytes per block] -> float64 [blocks, weights per block]."""
    if kind == "q8_0":
        return f16(b, 0) * b[:, 2:34].view(np.int8)
    if kind in ("q4_0", "iq4_nl"):
        q = nibbles_q4_0(b[:, 2:18])
        return f16(b, 0) * (IQ4_TABLE[q] if kind == "iq4_nl" else q - 8)
    if kind == "q4_1":
        return f16(b, 0) * nibbles_q4_0(b[:, 4:20]) + f16(b, 2)
    if kind == "q5_0":
        return f16(b, 0) * ((nibbles_q4_0(b[:, 6:22]) | (fifth_bit(b, 2) << 4)) - 16)
    if kind == "q5_1":
        return f16(b, 0) * (nibbles_q4_0(b[:, 8:24]) | (fifth_bit(b, 4) << 4)) + f16(b, 2)
    if kind == "q2_k":
        q = q2_planes(b[:, 16:80])
        sc = np.repeat(b[:, 0:16].astype(np.int64), 16, axis=1)
        return f16(b, 80) * (sc & 15) * q - f16(b, 82) * (sc >> 4)
    if kind == "q3_k":
        low = q2_planes(b[:, 32:96])
        hbit = (b[:, 0:32].astype(np.int64)[:, np.arange(256) % 32] >> (np.arange(256) // 32)) & 1
        q = low | (hbit << 2)
        s = b[:, 96:108].astype(np.int64)
        sc = np.empty((b.shape[0], 16), np.int64)
        for j in range(16):
            low4 = s[:, j] & 15 if j < 8 else s[:, j - 8] >> 4
            high2 = (s[:, 8 + j % 4] >> (2 * (j // 4))) & 3
            sc[:, j] = (low4 | (high2 << 4)) - 32
        return f16(b, 108) * np.repeat(sc, 16, axis=1) * (q - 4)
    if kind in ("q4_k", "q5_k"):
        s, m = k4_scales(b[:, 4:16])
        if kind == "q4_k":
            q = k4_nibbles(b[:, 16:144])
        else:
            q = k4_nibbles(b[:, 48:176])
            q |= ((b[:, 16:48].astype(np.int64)[:, np.arange(256) % 32] >> (np.arange(256) // 32)) & 1) << 4
        return f16(b, 0) * np.repeat(s, 32, axis=1) * q - f16(b, 2) * np.repeat(m, 32, axis=1)
    if kind == "q6_k":
        ql, qh = b[:, 0:128].astype(np.int64), b[:, 128:192].astype(np.int64)
        q = np.empty((b.shape[0], 256), np.int64)
        for h in range(2):
            L = ql[:, 64 * h:64 * h + 64]
            H = qh[:, 32 * h:32 * h + 32]
            q[:, 128 * h + 0:128 * h + 32] = (L[:, 0:32] & 15) | ((H & 3) << 4)
            q[:, 128 * h + 32:128 * h + 64] = (L[:, 32:64] & 15) | (((H >> 2) & 3) << 4)
            q[:, 128 * h + 64:128 * h + 96] = (L[:, 0:32] >> 4) | (((H >> 4) & 3) << 4)
            q[:, 128 * h + 96:128 * h + 128] = (L[:, 32:64] >> 4) | (((H >> 6) & 3) << 4)
        sc = np.repeat(b[:, 192:208].view(np.int8).astype(np.int64), 16, axis=1)
        return f16(b, 208) * sc * (q - 32)
    if kind == "iq4_xs":
        sh = b[:, 2:4].copy().view("<u2").astype(np.int64)
        sl = b[:, 4:8].astype(np.int64)
        out = np.empty((b.shape[0], 256))
        for j in range(8):
            ls = ((sl[:, j // 2] >> (4 * (j % 2))) & 15) | (((sh[:, 0] >> (2 * j)) & 3) << 4)
            qs = b[:, 8 + 16 * j:8 + 16 * j + 16]
            out[:, 32 * j:32 * j + 32] = (f16(b, 0)[:, 0] * (ls - 32))[:, None] * IQ4_TABLE[nibbles_q4_0(qs)]
        return out
    if kind == "tq2_0":
        return f16(b, 64) * (q2_planes(b[:, 0:64]) - 1)
    if kind == "tq1_0":
        def trits(bytes_, n):
            u = (bytes_.astype(np.int64) * 3 ** n) % 256
            return (u * 3) >> 8
        t = np.empty((b.shape[0], 256), np.int64)
        for n in range(5):
            t[:, 32 * n:32 * n + 32] = trits(b[:, 0:32], n)
            t[:, 160 + 16 * n:160 + 16 * n + 16] = trits(b[:, 32:48], n)
        for n in range(4):
            t[:, 240 + 4 * n:240 + 4 * n + 4] = trits(b[:, 48:52], n)
        return f16(b, 52) * (t - 1)
    raise ValueError(kind)


def parse_format(text):
    """'int4, group = 32, asym' -> dict(kind, bits, granularity, group, offset)."""
    parts = [p.strip() for p in text.split(",")]
    head = parts[0]
    f = {"kind": head, "bits": 0, "granularity": "channel", "group": 0, "offset": "none"}
    if head.startswith("int"):
        f["kind"], f["bits"] = "int", int(head[3:])
    elif head == "ternary":
        f["bits"], f["granularity"] = 2, "tensor"
    for p in parts[1:]:
        if p in ("asym", "min"):
            f["offset"] = {"asym": "zero_point", "min": "min"}[p]
        elif p == "per_tensor":
            f["granularity"] = "tensor"
        elif p == "per_channel":
            f["granularity"] = "channel"
        elif p.startswith("group"):
            f["granularity"], f["group"] = "group", int(p.split("=")[1])
        else:
            raise ValueError(p)
    return f


def unpack_codes(raw, count, bits):
    """FORMATS.md 'Code packing': one LSB-first bit string per row."""
    bitsarr = np.unpackbits(raw, axis=1, bitorder="little")[:, :count * bits].reshape(raw.shape[0], count, bits)
    return (bitsarr.astype(np.int64) << np.arange(bits)).sum(axis=2)


def padded_length(f, k):
    """Codes per packed row: K rounded up to whole groups (FORMATS.md: the
    last group may be shorter; the row is packed as if it were whole)."""
    g = f["group"] if f["granularity"] == "group" else 0
    return -(-k // g) * g if g else k


def side_view(f, a, n, k):
    """[n, k] view of a side array of [n, groups] (or a scalar): column j
    takes its group j // group's entry."""
    a = np.asarray(a, np.float64)
    if f["granularity"] == "tensor":
        return np.full((n, k), float(a.reshape(-1)[0]))
    if f["granularity"] == "channel":
        return np.repeat(a.reshape(n, 1), k, axis=1)
    return np.repeat(a.reshape(n, -1), f["group"], axis=1)[:, :k]


def decode(fmt, raw, n, k, scales=None, zero_points=None, mins=None):
    raw = np.ascontiguousarray(raw, np.uint8).reshape(n, -1)
    f = parse_format(fmt)
    if f["kind"] in BLOCK:
        qk, size = BLOCK[f["kind"]]
        assert raw.shape[1] == k // qk * size, (fmt, raw.shape, k)
        return decode_blocks(f["kind"], raw.reshape(-1, size)).reshape(n, k)
    bits = f["bits"]
    padded = padded_length(f, k)
    assert raw.shape[1] == (padded * bits + 7) // 8, (fmt, raw.shape)
    q = unpack_codes(raw, padded, bits)[:, :k]
    side = lambda a: side_view(f, a, n, k)  # noqa: E731

    s = side(scales).astype(np.float32)
    if f["kind"] == "ternary":
        assert q.max() <= 2, "ternary code 3 written"
        return (s * (q - 1).astype(np.float32)).astype(np.float64)
    if f["offset"] == "min":  # float32 as the format defines: s * q + m
        return (s * q.astype(np.float32) + side(mins).astype(np.float32)).astype(np.float64)
    z = side(zero_points).astype(np.int64) if f["offset"] == "zero_point" else 1 << (bits - 1)
    return (s * (q - z).astype(np.float32)).astype(np.float64)


def code_part(fmt, raw, n, k, scales=None, zero_points=None, mins=None, int8_signed=False):
    """The part of each decoded weight that multiplies its code, where a
    format adds an offset applied apart from the codes (Q4_1/Q5_1's m, the
    K-quants' -dmin*m, int asym's -s*z, int min's m): a kernel may multiply
    the codes with rounded activations and the offset with exact ones
    (X86Matmul.h). Other formats, and Q2_K (its mins change every 16
    weights, finer than the kernels' exact sums of x per 32, so they go
    with the rounded activations): the weight itself. int8_signed: the
    256-bit x86 kernels (X86Avx2Matmul.h) take int8 codes as q - 128, so
    their code part is s (q - 128) and the rest goes with the offset."""
    w = decode(fmt, raw, n, k, scales, zero_points, mins)
    f = parse_format(fmt)
    raw = np.ascontiguousarray(raw, np.uint8).reshape(n, -1)
    kind = f["kind"]
    if kind in ("q4_1", "q5_1"):
        qk, size = BLOCK[kind]
        m = f16(raw.reshape(-1, size), 2)
        return w - np.repeat(m, qk, axis=1).reshape(n, k)
    if kind in ("q4_k", "q5_k"):
        qk, size = BLOCK[kind]
        b = raw.reshape(-1, size)
        offset = f16(b, 2) * np.repeat(k4_scales(b[:, 4:16])[1], 32, axis=1)
        return w + offset.reshape(n, k)
    if kind == "int" and f["offset"] != "none":
        bits = f["bits"]
        q = unpack_codes(raw, padded_length(f, k), bits)[:, :k]
        s = side_view(f, scales, n, k)
        return s * (q - 128) if bits == 8 and int8_signed else s * q
    return w
