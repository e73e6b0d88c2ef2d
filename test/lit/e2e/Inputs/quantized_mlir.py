"""Reads `lowbit-compile --emit=quantized` output: for each lowbit.matmul, in
program order, the packed weight's format, shape and bytes and its side
arrays (scales, zero points, mins), from the MLIR text alone."""
import re

import numpy as np

ELEMENT = {"f32": np.float32, "i32": np.int32, "i8": np.int8}


def tensor_type(text):
    """'tensor<64x8xf32>' -> (shape, numpy dtype)."""
    inner = re.fullmatch(r"tensor<(.*)>", text.strip()).group(1)
    *dims, element = inner.split("x") if "x" in inner else [inner]
    return [int(d) for d in dims], ELEMENT[element]


def resources(text):
    """The dialect_resources blobs: name -> bytes (the leading u32 is the
    blob's alignment, not data)."""
    blobs = {}
    for name, hexdata in re.findall(r'^\s*([\w.$-]+|"[^"]+"): "0x([0-9A-F]*)"', text, re.M):
        blobs[name.strip('"')] = bytes.fromhex(hexdata)[4:]
    return blobs


def literal(body, shape, dtype):
    """A dense<...> body: hex, a splat or a nested list."""
    if body.startswith('"0x'):
        return np.frombuffer(bytes.fromhex(body[3:-1]), dtype).reshape(shape)
    values = np.array(eval(body.replace("true", "1").replace("false", "0")), dtype)
    return np.broadcast_to(values, shape).copy() if values.ndim == 0 else values.reshape(shape)


def read(path):
    text = open(path).read()
    blobs = resources(text)
    values = {}
    for name, body, type_ in re.findall(r"(%[\w]+) = arith\.constant (dense(?:_resource)?<.*?>) : (tensor<[^>]*>)$",
                                        text, re.M):
        shape, dtype = tensor_type(type_)
        if body.startswith("dense_resource<"):
            key = body[len("dense_resource<"):-1].strip('"')
            values[name] = np.frombuffer(blobs[key], dtype).reshape(shape)
        else:
            values[name] = literal(body[len("dense<"):-1], shape, dtype)
    packed = {}
    for name, key, rows, cols, fmt in re.findall(
            r"(%[\w]+) = lowbit\.constant dense_resource<([^>]+)> : tensor<\d+xi8> -> "
            r"!lowbit\.packed<(\d+)x(\d+), (.*?)>$", text, re.M):
        packed[name] = (fmt, int(rows), int(cols), np.frombuffer(blobs[key.strip('"')], np.uint8))
    matmuls = []
    for line in re.findall(r"= lowbit\.matmul (.*)$", text, re.M):
        operands = re.match(r"(%\w+), (%\w+)", line)
        fmt, n, k, raw = packed[operands.group(2)]
        side = {}
        for what in ("scales", "zero_points", "mins", "codebooks", "bias"):
            m = re.search(what + r"\((%\w+) :", line)
            side[what] = values[m.group(1)] if m else None
        matmuls.append(dict(format=fmt, n=n, k=k, raw=raw, **side))
    return matmuls
