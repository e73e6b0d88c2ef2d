"""Helpers shared by the GGUF reference scripts (test/e2e/gguf).

Run these scripts with the venv that scripts/setup.sh creates:
    ${LOWBIT_CACHE:-~/.cache/lowbit}/venv/bin/python
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import gguf

# llama_ftype ids (llama.h; GGUF_SPEC.md section 1.8), by the name llama-quantize uses.
FTYPES: dict[str, int] = {
    "F32": 0, "F16": 1, "Q4_0": 2, "Q4_1": 3, "Q8_0": 7, "Q5_0": 8, "Q5_1": 9,
    "Q2_K": 10, "Q3_K_S": 11, "Q3_K_M": 12, "Q3_K_L": 13, "Q4_K_S": 14, "Q4_K_M": 15,
    "Q5_K_S": 16, "Q5_K_M": 17, "Q6_K": 18, "Q2_K_S": 21, "IQ4_NL": 25, "IQ4_XS": 30,
    "BF16": 32, "TQ1_0": 36, "TQ2_0": 37,
}

# The mix's default tensor type (llama_ftype_get_default_type), for the single-type mixes.
FTYPE_DEFAULT_TYPE: dict[str, str] = {
    "F32": "F32", "F16": "F16", "BF16": "BF16", "Q4_0": "Q4_0", "Q4_1": "Q4_1",
    "Q5_0": "Q5_0", "Q5_1": "Q5_1", "Q8_0": "Q8_0", "Q6_K": "Q6_K", "IQ4_NL": "IQ4_NL",
    "IQ4_XS": "IQ4_XS", "TQ1_0": "TQ1_0", "TQ2_0": "TQ2_0",
}

# Keys (or prefixes ending in '*') that two correct quantizers may legitimately
# write differently. Everything else must match exactly.
DEFAULT_IGNORED_KEYS: tuple[str, ...] = (
    "general.quantized_by",   # free-form: who/what quantized the file
    "quantize.imatrix.*",     # provenance of an importance matrix, when one was used
)


def cache_dir() -> Path:
    return Path(os.environ.get("LOWBIT_CACHE", str(Path.home() / ".cache" / "lowbit")))


def default_model() -> Path:
    return cache_dir() / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf"


def qtype(name: str) -> gguf.GGMLQuantizationType:
    return gguf.GGMLQuantizationType[name]


def gguf_py_can_quantize(t: gguf.GGMLQuantizationType) -> bool:
    """True where gguf-py has its own numpy quantizer for t (not just a dequantizer)."""
    if t in (gguf.GGMLQuantizationType.F32, gguf.GGMLQuantizationType.F16):
        return True
    cls = gguf.quants._type_traits.get(t)
    if cls is None:
        return False
    return "quantize_blocks" in cls.__dict__


def gguf_py_quantizable_types() -> list[str]:
    return [t.name for t in gguf.GGMLQuantizationType if gguf_py_can_quantize(t)]


def field_value(field: gguf.ReaderField):
    return field.contents()


def copy_metadata(reader: gguf.GGUFReader, writer: gguf.GGUFWriter,
                  overrides: dict[str, tuple[object, gguf.GGUFValueType]] | None = None) -> None:
    """Copies every key/value pair of reader into writer (in order), replacing the
    values named in overrides and appending overrides the reader lacks."""
    overrides = dict(overrides or {})
    for field in reader.fields.values():
        # virtual fields and the architecture, which GGUFWriter writes itself
        if field.name.startswith("GGUF.") or field.name == gguf.Keys.General.ARCHITECTURE:
            continue
        vtype = field.types[0]
        sub = field.types[-1] if vtype == gguf.GGUFValueType.ARRAY else None
        if field.name in overrides:
            val, vt = overrides.pop(field.name)
            writer.add_key_value(field.name, val, vt)
        else:
            writer.add_key_value(field.name, field.contents(), vtype, sub_type=sub)
    for key, (val, vt) in overrides.items():
        writer.add_key_value(key, val, vt)


def new_writer(reader: gguf.GGUFReader, path: Path) -> gguf.GGUFWriter:
    arch = reader.fields[gguf.Keys.General.ARCHITECTURE].contents()
    writer = gguf.GGUFWriter(str(path), arch)
    if gguf.Keys.General.ALIGNMENT in reader.fields:
        writer.data_alignment = int(reader.fields[gguf.Keys.General.ALIGNMENT].contents())
    return writer


def tensor_f32(t: gguf.ReaderTensor) -> np.ndarray:
    """The tensor's values as float32, shaped like its numpy data (rows, ne0)."""
    return gguf.quants.dequantize(np.asarray(t.data), t.tensor_type).astype(np.float32, copy=False)


class _InMemoryNumpy:
    """numpy, except that memmap reads the whole file into an ordinary array."""

    def __getattr__(self, name):
        return getattr(np, name)

    @staticmethod
    def memmap(path, mode="r"):
        return np.fromfile(path, dtype=np.uint8)


def open_reader(path: Path | str) -> gguf.GGUFReader:
    """gguf.GGUFReader on an in-memory copy of the file: the same parser, but about twice
    as fast on files with a 49k-token vocabulary, where numpy.memmap's per-slice
    overhead dominates. The tensors' data are then views of that copy."""
    mod = gguf.gguf_reader
    saved = mod.np
    mod.np = _InMemoryNumpy()
    try:
        return gguf.GGUFReader(str(path))
    finally:
        mod.np = saved
