"""check_formats.py BINDIR WORKDIR FORMAT...

For each weight format: compiles WORKDIR/mlp.onnx (make_model.py) with
`lowbit-compile --quant FORMAT` into an artifact and into quantized MLIR, runs
the artifact with lowbit-run on WORKDIR/x.npy, and checks

  (w) every decoded weight against its float weight, within the per-weight
      bound E that the format's step size gives (weight_bound below);
  (a) the output against numpy's float output, within the bound that E
      propagates through the model (output_bound below);
  (b) the output against numpy's output with the decoded weights (the
      weights the artifact holds, decoded by decode.py from the MLIR text,
      which shares no code with lowbit), within float32 rounding: the
      compiled kernels compute exactly that product. This runs the portable
      kernel (LOWBIT_MATMUL_KERNELS=portable); with --tuned, the tuned x86
      kernels (--kernels=FAMILY: one family) and the int8 activation term.

Prints one line per format, "FORMAT: ok ..." with the errors, or
"FORMAT: FAIL ..." and exits 1 at the end if any failed.
"""
import os
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import decode  # noqa: E402
import quantized_mlir  # noqa: E402

U32 = 2.0 ** -24  # float32 unit roundoff
U16 = 2.0 ** -11  # fp16 unit roundoff (the block formats' scales are fp16)


def blocks(w, size):
    """[n, k] -> [n, ceil(k / size), size]. A short last group (an int or
    ternary group that does not divide k, FORMATS.md) is padded with NaN,
    which the nan-reductions of those formats' bounds skip: its statistics
    are those of its real weights, as the quantizer's are."""
    n, k = w.shape
    pad = -k % size
    if pad:
        w = np.concatenate([w, np.full((n, pad), np.nan)], axis=1)
    return w.reshape(n, -1, size)


def spread(per_block, size, k=None):
    """[n, groups] -> [n, groups * size], cut to k columns."""
    return np.repeat(per_block, size, axis=1)[:, :k]


def weight_bound(fmt, w):
    """E[n, k]: the largest error the format may give each weight of the float
    rows w [n, k] (float64), from its step size.

    Legacy block formats (round to nearest, no search; GGUF_SPEC.md 3.1), one
    block of 32 at a time, amax/min/max over the block:
      q8_0:  step d = amax/127, codes round(x/d): |e| <= d/2.
      q4_0:  d = amax/8 with the extreme at code 0 (-8); the other side stops
             at +7, so a weight near +amax is clamped: |e| <= d (one step).
      q5_0:  the same with d = amax/16.
      q4_1, q5_1: d = (max - min)/(2^b - 1), m = min: |e| <= d/2.
      tq1_0, tq2_0: d = amax over 256, codes round(x/d) in {-1, 0, 1}:
             |e| <= d/2.
    Each of them stores d (and m) in fp16 but chose the codes with the fp32
    d, so the decoded value moves by |q| * |d - fp16(d)| <= qmax * d * 2^-11
    (+ |m| * 2^-11): added.

    Searched formats (their scale searches minimize a squared error, so they
    may clip a few weights by more than half a step):
      int (intB, sym / asym / min, per tensor / channel / group):
             FORMATS.md: the candidates are c * (the min/max range), c in
             [0.70, 1]; a weight is either inside the chosen grid (|e| <= s/2
             with s <= s(c = 1)) or clipped by at most (1 - c) of the range:
             |e| <= s1/2 + 0.30 * range (asym: the range [min(x,0), max(x,0)];
             min: [min, max]). Symmetric: when the extreme is negative the
             positive side of the grid ends one step short, at
             c * amax * (2^(b-1) - 1) / 2^(b-1), so a weight near +amax is
             clipped by up to amax * (1 - 0.70 * (2^(b-1) - 1) / 2^(b-1))
             (0.39 amax for 4 bits). Separately, c = 1 is a
             candidate and every weight counts 1, so the chosen squared error
             of a group is at most the c = 1 one, at most n * (s1/2)^2: no
             weight can err by more than sqrt(n) * s1/2. E is the smaller.
      ternary (per tensor): s = absmean * t, t in [0.6, 1.6]; a weight errs by
             at most max(s/2, amax - s) <= max(0.8 absmean, amax - 0.6 absmean).
      K-quants, IQ4 (GGUF_SPEC.md 3.3-3.7): the sub-block scales come from a
             weighted least-squares search and are then quantized against the
             super-block's largest one (4, 6 or 8 bits), and codes are
             recomputed with the stored scales. E = F * step with step the
             sub-block's plain round-to-nearest step (min/max: range/(2^b-1)
             over the sub-block with min <= 0; symmetric: amax/2^(b-1); IQ4:
             amax/127 times the table's widest gap, 24). F = 0.5 (rounding)
             + 1 (the search's narrowest candidate clips by up to one step)
             + the scale quantization: half a unit of the super-block scale
             times the largest code, relative to this sub-block's step,
             computed per sub-block below. This is an engineering bound
             (the least-squares refit is not bounded by it); the printed
             ratio shows the margin.
    """
    kind = decode.parse_format(fmt)
    k_ = kind["kind"]
    n, k = w.shape
    if k_ in ("q8_0", "q4_0", "q5_0", "q4_1", "q5_1", "tq1_0", "tq2_0"):
        size = 256 if k_.startswith("tq") else 32
        b = blocks(w, size)
        amax, lo, hi = np.abs(b).max(2), b.min(2), b.max(2)
        if k_ == "q8_0":
            d = amax / 127
            e = d / 2 + 127 * d * U16
        elif k_ in ("q4_0", "q5_0"):
            levels = 8 if k_ == "q4_0" else 16
            d = amax / levels
            e = d + levels * d * U16
        elif k_ in ("q4_1", "q5_1"):
            levels = 15 if k_ == "q4_1" else 31
            d = (hi - lo) / levels
            e = d / 2 + levels * d * U16 + np.abs(lo) * U16
        else:
            d = amax
            e = d / 2 + d * U16
        return spread(e, size)
    if k_ == "int":
        bits, g = kind["bits"], kind["granularity"]
        size = k * n if g == "tensor" else k if g == "channel" else kind["group"]
        b = w.reshape(1, 1, -1) if g == "tensor" else blocks(w, size)
        amax, lo, hi = np.nanmax(np.abs(b), 2), np.nanmin(b, 2), np.nanmax(b, 2)
        if kind["offset"] == "none":
            half = 2 ** (bits - 1)
            s1, clip = amax / (half - 1), amax * (1 - 0.70 * (half - 1) / half)
        else:
            rng_ = np.maximum(hi, 0) - np.minimum(lo, 0) if kind["offset"] == "zero_point" else hi - lo
            s1, clip = rng_ / (2 ** bits - 1), 0.30 * rng_
        # A short group has fewer weights than `size`: the sqrt(size) term
        # only grows, so the bound still holds.
        e = np.minimum(s1 / 2 + clip, np.sqrt(size) * s1 / 2) * (1 + 1e-5)
        return np.full((n, k), e[0, 0]) if g == "tensor" else spread(e, size, k)
    if k_ == "ternary":
        g = kind["granularity"]
        size = k * n if g == "tensor" else k if g == "channel" else kind["group"]
        b = w.reshape(1, 1, -1) if g == "tensor" else blocks(w, size)
        absmean, amax = np.nanmean(np.abs(b), 2), np.nanmax(np.abs(b), 2)
        e = np.maximum(0.8 * absmean, amax - 0.6 * absmean) * (1 + 1e-5)
        return np.full((n, k), e[0, 0]) if g == "tensor" else spread(e, size, k)
    # K-quants and IQ4.
    sub = {"q2_k": 16, "q3_k": 16, "q4_k": 32, "q5_k": 32, "q6_k": 16, "iq4_nl": 32, "iq4_xs": 32}[k_]
    bits = {"q2_k": 2, "q3_k": 3, "q4_k": 4, "q5_k": 5, "q6_k": 6}.get(k_, 4)
    scale_levels = {"q2_k": 15, "q3_k": 32, "q4_k": 63, "q5_k": 63, "q6_k": 128, "iq4_xs": 32}.get(k_)
    b = blocks(w, sub)
    amax, lo, hi = np.abs(b).max(2), np.minimum(b.min(2), 0), b.max(2)
    if k_ in ("q2_k", "q4_k", "q5_k"):  # d * sc * q - dmin * m
        step = (hi - lo) / (2 ** bits - 1)
        codes, mins = 2 ** bits - 1, -lo
    elif k_ in ("q3_k", "q6_k"):  # d * sc * (q - 2^(b-1))
        step = amax / 2 ** (bits - 1)
        codes, mins = 2 ** (bits - 1), np.zeros_like(lo)
    else:  # IQ4: d * T[q], |T| <= 127, widest gap 24
        step = amax / 127 * 24
        codes, mins = 127 / 24, np.zeros_like(lo)  # in units of step
    f = 1.5 * step
    if scale_levels:  # half a unit of the super-block scale (and min), times the largest code
        per_super = 256 // sub
        smax = step.reshape(n, -1, per_super).max(2, keepdims=True)
        mmax = mins.reshape(n, -1, per_super).max(2, keepdims=True)
        extra = (codes * smax + mmax) / (2 * scale_levels) * (1 + 4 * U16)
        f = f + np.repeat(extra[:, :, 0], per_super, axis=1)
    return spread(f, sub)


def mlp(x, w1, b1, w2):
    return np.maximum(x @ w1 + b1, 0) @ w2


def output_bound(x, w1, b1, w2, e1, e2):
    """|y_q - y| for y = relu(x W1 + b1) W2 when each weight of W1 and W2 errs
    by at most E1, E2 (as [k, n] arrays): the first layer moves h by at most
    |x| E1 (relu is 1-Lipschitz), and y_q - y = (h_q - h) W2q + h (W2q - W2),
    so |y_q - y| <= e_h (|W2| + E2) + |h| E2. Float rounding is small next to
    it (checked by (b))."""
    h = np.maximum(x @ w1 + b1, 0)
    e_h = np.abs(x) @ e1
    return e_h @ (np.abs(w2) + e2) + h @ e2


def rounding_bound(x, w1, b1, w2):
    """The largest float32 rounding error of y = relu(x W1 + b1) W2 computed
    in any summation order (Higham's gamma_n = n u / (1 - n u) times the sum
    of |terms|), with each weight decoded in float32 (one or two roundings:
    2u |w|), the bias add (u |h|), and the first layer's error carried
    through the second."""
    k1, k2 = w1.shape[0], w2.shape[0]
    g = lambda m: m * U32 / (1 - m * U32)  # noqa: E731
    h = np.abs(x) @ np.abs(w1)
    e_h = g(k1 + 2) * h + U32 * (h + np.abs(b1))
    habs = np.maximum(x @ w1 + b1, 0) + e_h
    return e_h @ np.abs(w2) + g(k2 + 2) * (habs @ np.abs(w2))


def block_max(a, size=32):
    """max |a| over each block of `size` along the last axis, repeated back."""
    m = np.abs(a).reshape(a.shape[0], -1, size).max(2)
    return np.repeat(m, size, axis=1)


def activation_rounding_bound(x, w1, b1, w2, parts, float_bound):
    """The tuned x86 kernels (LOWBIT_MATMUL_KERNELS=tuned) round each
    activation to int8 per block of 32 along K, d = max|x_b| / 127, so
    |x - d q| <= max|x_b| / 254 (X86Matmul.h); that error multiplies each
    weight's code part (`parts`, at most |w| or the part before an offset the
    kernel applies against exact sums). First layer: sum_k max|x_b|/254 *
    parts1. Second layer: the same with h's block maxima (taken from the
    reference h plus the first layer's error), plus the first layer's error
    carried through |W2|."""
    h = np.maximum(x @ w1 + b1, 0)
    e1 = (block_max(x) / 254) @ parts[0]
    e1_total = e1 + (np.abs(x) @ np.abs(w1)) * 260 * U32 * 2  # with float rounding of layer 1, generously
    e2 = (block_max(h + e1_total) / 254) @ parts[1]
    return e1_total @ np.abs(w2) + e2


def q8_blocks(a):
    """What the tuned kernels feed VPDPBUSD: each row rounded to int8 per
    block of 32 along K, d = max|a_b| / 127 in float32, q = round(a / d)
    (X86Matmul.h). Returns (d*q, d per element, the distance of a/d from the
    nearest rounding tie, in units of d)."""
    a32 = a.astype(np.float32)
    b = a32.reshape(a.shape[0], -1, 32)
    d = (np.abs(b).max(2, keepdims=True) / np.float32(127)).astype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(d > 0, b / d, 0).astype(np.float64)
    q = np.round(r)
    tie = np.abs(np.abs(r - np.floor(r)) - 0.5)
    d_full = np.broadcast_to(d, b.shape).astype(np.float64)
    return ((q * d_full).reshape(a.shape), d_full.reshape(a.shape), tie.reshape(a.shape))


def tuned_layer(a, code, offset, bias):
    """numpy's model of one matmul by the tuned kernels: a q8(a) C + a O + b,
    with C the weights' code parts and O their offsets (applied against exact
    sums), and its tolerance: float32 rounding (gamma_(K+2) times the sum of
    |terms| of both parts), plus one step d times |C| for each activation
    within 1e-4 of a step of a rounding tie (computing a * (1/d) instead of
    a / d may round it the other way)."""
    K = a.shape[1]
    g = (K + 2) * U32 / (1 - (K + 2) * U32)
    aq, d, tie = q8_blocks(a)
    out = aq @ code + a @ offset + bias
    tol = (g * (np.abs(aq) @ np.abs(code) + np.abs(a) @ np.abs(offset) + np.abs(bias))
           + np.where(tie < 1e-4, d, 0) @ np.abs(code))
    return out, tol


def run(cmd, env=None):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    if p.returncode != 0:
        raise RuntimeError(" ".join(cmd) + " failed:\n" + p.stdout)


def main():
    args = sys.argv[1:]
    markdown = "--markdown" in args
    tuned = "--tuned" in args
    kernels = "tuned"  # --kernels=avx512|avxvnni|avx2: one family (X86Matmul.h)
    xfile = "x.npy"
    for a in list(args):
        if a.startswith("--x="):
            xfile = a[len("--x="):]
        if a.startswith("--kernels="):
            kernels = a[len("--kernels="):]
    args = [a for a in args if not a.startswith("--")]
    if markdown:
        print("| format | weights: RMS error / RMS weight | weights: max error / bound | output vs float: max abs"
              " | rel (max abs / max abs output) | max / bound | output vs decoded weights: max abs | rel |"
              + (" vs int8-activation model: rel | max / bound |" if tuned else ""))
        print("| --- | --- | --- | --- | --- | --- | --- | --- |" + (" --- | --- |" if tuned else ""))
    bindir, work, formats = args[0], args[1], args[2:]
    ws = np.load(os.path.join(work, "weights.npz"))
    w1, b1, w2 = (ws[k].astype(np.float64) for k in ("W1", "b1", "W2"))
    x32 = np.load(os.path.join(work, xfile))
    x = x32.astype(np.float64)
    y_float = mlp(x, w1, b1, w2)
    failed = 0
    for fmt in formats:
        tag = fmt.replace(", ", "_").replace(" = ", "").replace(" ", "")
        lbm, mlir, outdir = (os.path.join(work, tag + s) for s in (".lbm", ".mlir", ".out"))
        model = os.path.join(work, "mlp.onnx")
        run([os.path.join(bindir, "lowbit-compile"), model, "--quant", fmt, "-o", lbm])
        run([os.path.join(bindir, "lowbit-compile"), model, "--quant", fmt, "--emit=quantized", "-o", mlir])
        # (b) holds to float rounding only for the portable kernel; the
        # tuned ones (the runtime's default) get the int8 term with --tuned.
        env = dict(os.environ)
        env["LOWBIT_MATMUL_KERNELS"] = kernels if tuned else "portable"
        run([os.path.join(bindir, "lowbit-run"), lbm, "--input", "x=" + os.path.join(work, xfile),
             "--output-dir", outdir, "--threads", "2"], env)
        y = np.load(os.path.join(outdir, "y.npy")).astype(np.float64)
        h_kernel = np.load(os.path.join(outdir, "h3.npy")).astype(np.float64)
        problems = []
        is_mix = fmt.endswith(("_s", "_m", "_l", "_xs", "_xl")) and fmt not in decode.BLOCK
        matmuls = quantized_mlir.read(mlir)
        if len(matmuls) != 2:
            problems.append("%d quantized matmuls, expected 2" % len(matmuls))
            deq = []
        else:
            deq = []
            for m, w in zip(matmuls, (w1, w2)):
                if not is_mix and m["format"] != fmt:
                    problems.append("format %r, expected %r" % (m["format"], fmt))
                if (m["n"], m["k"]) != (w.shape[1], w.shape[0]):
                    problems.append("shape %dx%d" % (m["n"], m["k"]))
                deq.append(decode.decode(m["format"], m["raw"], m["n"], m["k"], m["scales"], m["zero_points"],
                                         m["mins"]).T)
        if problems:
            print("%s: FAIL %s" % (fmt, "; ".join(problems)))
            failed += 1
            continue
        # (w) the weights.
        e1, e2 = (weight_bound(m["format"], w.T).T for m, w in zip(matmuls, (w1, w2)))
        werr1, werr2 = np.abs(deq[0] - w1), np.abs(deq[1] - w2)
        wratio = max((werr1 / e1).max(), (werr2 / e2).max())
        if wratio > 1:
            problems.append("a weight errs by %.3g x its bound" % wratio)
        # Relative error of the weights: RMS error over RMS weight.
        wrel = np.sqrt(((deq[0] - w1) ** 2).mean() / (w1 ** 2).mean())
        # (a) the output against the float model.
        bound_a = output_bound(x, w1, b1, w2, e1, e2) + rounding_bound(x, w1, b1, w2)
        err_a = np.abs(y - y_float)
        ratio_a = (err_a / bound_a).max()
        if ratio_a > 1:
            problems.append("output vs float: %.3g x the bound" % ratio_a)
        # (b) the output against the decoded weights' product.
        y_deq = mlp(x, deq[0], b1, deq[1])
        bound_b = rounding_bound(x, deq[0], b1, deq[1])
        if tuned:
            # The tuned kernels round activations to int8: bound that error
            # from the format of the rounding (a worst case, loose) and also
            # compare with numpy's model of exactly what they compute (sharp).
            codes = [decode.code_part(m["format"], m["raw"], m["n"], m["k"], m["scales"], m["zero_points"],
                                      m["mins"], int8_signed=kernels in ("avx2", "avxvnni")).T for m in matmuls]
            parts = [np.maximum(np.abs(d), np.abs(c)) for d, c in zip(deq, codes)]
            bound_b = bound_b + activation_rounding_bound(x, deq[0], b1, deq[1], parts, bound_b)
            # Each layer on the input the kernel actually had (h3 is an
            # output too), so no error is carried from one to the next.
            h_emul, tol_h = tuned_layer(x, codes[0], deq[0] - codes[0], b1)
            h_emul, tol_h = np.maximum(h_emul, 0), tol_h
            y_emul, tol_y = tuned_layer(h_kernel, codes[1], deq[1] - codes[1], 0)
            err_emul = max(np.abs(h_kernel - h_emul).max() / np.abs(h_emul).max(),
                           np.abs(y - y_emul).max() / np.abs(y_emul).max())
            ratio_emul = max((np.abs(h_kernel - h_emul) / tol_h).max(), (np.abs(y - y_emul) / tol_y).max())
            if ratio_emul > 1:
                problems.append("output vs the int8-activation model: %.3g x its bound" % ratio_emul)
            emul_note = ", vs int8-activation model: rel %.2e, max/bound %.3f" % (err_emul, ratio_emul)
        else:
            emul_note = ""
        err_b = np.abs(y - y_deq)
        ratio_b = (err_b / bound_b).max()
        if ratio_b > 1:
            problems.append("output vs decoded weights: %.3g x the rounding bound" % ratio_b)
        scale = np.abs(y_float).max()
        if is_mix:
            fmt = "%s (%s, %s)" % (fmt, matmuls[0]["format"], matmuls[1]["format"])
        if markdown:
            print("| %s%s | %.4f | %.2f | %.4g | %.4f | %.4f | %.2g | %.1e |%s"
                  % (fmt, " **FAIL**" if problems else "", wrel, wratio, err_a.max(), err_a.max() / scale, ratio_a,
                     err_b.max(), err_b.max() / scale, " %.1e | %.3f |" % (err_emul, ratio_emul) if tuned else ""))
            failed += bool(problems)
            continue
        print("%s: %s | weights rms rel %.4f, max/bound %.2f | vs float: max abs %.4g, rel %.4f, "
              "max/bound %.3f | vs decoded: max abs %.3g, rel %.2e, max/bound %.3f%s"
              % (fmt, "FAIL " + "; ".join(problems) if problems else "ok", wrel, wratio, err_a.max(),
                 err_a.max() / scale, ratio_a, err_b.max(), err_b.max() / scale, ratio_b, emul_note))
        failed += bool(problems)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
