#!/usr/bin/env python3
"""Reads the six Jane Austen novels from Debian's r-cran-janeaustenr and splits them into a
calibration text and a disjoint evaluation text (docs/REAL-MODELS.md, "Text").

    janeausten_corpus.py PKGROOT OUTDIR

PKGROOT is the tree that `dpkg-deb -x r-cran-janeaustenr_*.deb PKGROOT` made. The novels are
R objects in usr/lib/R/site-library/janeaustenr/data/Rdata.rdb: R's lazy-load database, whose
index Rdata.rdx (gzip'd R serialization) maps each object name to (offset, length) in the .rdb,
where each object is a 4-byte big-endian uncompressed size followed by a zlib stream holding
one R serialization (XDR, format version 2 or 3). Each novel is a character vector, one
element per printed line. Only the standard library is used (no R).

Split rule (fixed, deterministic): every novel is cut into paragraphs (runs of non-empty lines);
in each novel, paragraph k goes to evaluation when k % 10 == 9 and to calibration otherwise.
Paragraphs are joined with "\\n\\n", novels in alphabetical order of their R object names,
each preceded by a "# NAME" line. So the two files share no paragraph, both cover all six novels
evenly, and the evaluation part is about 10% of the text.

Writes OUTDIR/janeausten-calibration.txt, OUTDIR/janeausten-evaluation.txt (UTF-8) and prints
their sizes.
"""
from __future__ import annotations

import gzip
import struct
import sys
import zlib
from pathlib import Path

NOVELS = ["emma", "mansfieldpark", "northangerabbey", "persuasion", "prideprejudice",
          "sensesensibility"]
EVAL_EVERY, EVAL_AT = 10, 9

# SEXP types and the serialization's special codes (R's serialize.c)
NILSXP, SYMSXP, LISTSXP, CLOSXP, ENVSXP, PROMSXP, LANGSXP = 0, 1, 2, 3, 4, 5, 6
CHARSXP, LGLSXP, INTSXP, REALSXP, CPLXSXP, STRSXP = 9, 10, 13, 14, 15, 16
DOTSXP, VECSXP, EXPRSXP, RAWSXP = 17, 19, 20, 24
REFSXP, NILVALUE_SXP, GLOBALENV_SXP, UNBOUNDVALUE_SXP, MISSINGARG_SXP = 255, 254, 253, 252, 251
BASENAMESPACE_SXP, EMPTYENV_SXP, BASEENV_SXP = 250, 242, 241


class RVector(list):
    """An R vector: its elements, and its attributes (names, class, ...) in .attrs."""
    attrs: dict = {}


class RReader:
    """A minimal unserializer for XDR R serializations: enough for data objects (vectors,
    lists, pairlists, symbols, attributes, environments)."""

    def __init__(self, data: bytes):
        self.d, self.p, self.refs = data, 0, []

    def int(self) -> int:
        (v,) = struct.unpack_from(">i", self.d, self.p)
        self.p += 4
        return v

    def length(self) -> int:
        n = self.int()
        if n == -1:
            hi, lo = self.int(), self.int()
            n = (hi << 32) + lo
        return n

    def header(self) -> None:
        if self.d[:2] != b"X\n":
            raise ValueError("not an XDR R serialization (expected 'X\\n')")
        self.p = 2
        version = self.int()
        self.int(), self.int()  # writer's R version, minimal reader version
        if version == 3:
            n = self.int()  # native encoding name
            self.p += n
        elif version != 2:
            raise ValueError(f"R serialization version {version} not supported")

    def item(self):
        flags = self.int()
        t = flags & 0xFF
        has_attr, has_tag = bool(flags & (1 << 9)), bool(flags & (1 << 10))
        if t == NILVALUE_SXP:
            return None
        if t in (GLOBALENV_SXP, UNBOUNDVALUE_SXP, MISSINGARG_SXP, BASENAMESPACE_SXP,
                 EMPTYENV_SXP, BASEENV_SXP):
            return ("special", t)
        if t == REFSXP:
            i = flags >> 8
            return self.refs[(i if i else self.int()) - 1]
        if t == SYMSXP:
            sym = ("symbol", self.item())
            self.refs.append(sym)
            return sym
        if t == ENVSXP:
            env: dict = {"type": "env"}
            self.refs.append(env)
            self.int()  # locked
            env["enclos"], env["frame"], env["hashtab"], env["attr"] = (
                self.item(), self.item(), self.item(), self.item())
            return env
        if t in (LISTSXP, LANGSXP, CLOSXP, PROMSXP, DOTSXP):
            attr = self.item() if has_attr else None
            tag = self.item() if has_tag else None
            car = self.item()
            cdr = self.item()
            return {"type": "pairlist", "tag": tag, "car": car, "cdr": cdr, "attr": attr}
        if t == CHARSXP:
            n = self.int()
            if n == -1:
                return None  # NA_character_
            s = self.d[self.p:self.p + n]
            self.p += n
            latin1 = bool((flags >> 12) & (1 << 2))
            return s.decode("latin-1" if latin1 else "utf-8")
        if t in (LGLSXP, INTSXP):
            n = self.length()
            v = list(struct.unpack_from(f">{n}i", self.d, self.p))
            self.p += 4 * n
        elif t == REALSXP:
            n = self.length()
            v = list(struct.unpack_from(f">{n}d", self.d, self.p))
            self.p += 8 * n
        elif t == CPLXSXP:
            n = self.length()
            v = list(struct.unpack_from(f">{2 * n}d", self.d, self.p))
            self.p += 16 * n
        elif t == RAWSXP:
            n = self.length()
            v = self.d[self.p:self.p + n]
            self.p += n
        elif t in (STRSXP, VECSXP, EXPRSXP):
            v = [self.item() for _ in range(self.length())]
        else:
            raise ValueError(f"SEXP type {t} not supported by this reader")
        v = RVector(v)
        if has_attr:
            v.attrs = pairlist_to_dict(self.item())  # names, class, ...
        return v


def unserialize(data: bytes):
    r = RReader(data)
    r.header()
    return r.item()


def pairlist_to_dict(pl) -> dict:
    out = {}
    while pl is not None:
        out[pl["tag"][1]] = pl["car"]
        pl = pl["cdr"]
    return out


def read_lazyload_db(datadir: Path) -> dict[str, object]:
    # The index is list(variables=, references=, compressed=); variables is a named list
    # of c(offset, length) into the .rdb.
    index = unserialize(gzip.decompress((datadir / "Rdata.rdx").read_bytes()))
    variables = index[index.attrs["names"].index("variables")]
    rdb = (datadir / "Rdata.rdb").read_bytes()
    out = {}
    for name, (offset, length) in zip(variables.attrs["names"], variables):
        blob = rdb[int(offset):int(offset) + int(length)]
        (size,) = struct.unpack(">I", blob[:4])
        raw = zlib.decompress(blob[4:])
        if len(raw) != size:
            raise ValueError(f"{name}: {len(raw)} bytes unpacked, header says {size}")
        out[name] = unserialize(raw)
    return out


def paragraphs(lines: list) -> list[str]:
    paras, cur = [], []
    for line in lines:
        line = (line or "").strip()
        if line:
            cur.append(line)
        elif cur:
            paras.append(" ".join(cur))
            cur = []
    if cur:
        paras.append(" ".join(cur))
    return paras


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    pkgroot, outdir = Path(sys.argv[1]), Path(sys.argv[2])
    objs = read_lazyload_db(pkgroot / "usr/lib/R/site-library/janeaustenr/data")
    missing = [n for n in NOVELS if n not in objs]
    if missing:
        raise SystemExit(f"janeausten_corpus: objects {missing} not in Rdata.rdb "
                         f"(found {sorted(objs)})")
    calib, evals = [], []
    for name in NOVELS:
        paras = paragraphs(objs[name])
        calib.append(f"# {name}")
        evals.append(f"# {name}")
        for k, p in enumerate(paras):
            (evals if k % EVAL_EVERY == EVAL_AT else calib).append(p)
    outdir.mkdir(parents=True, exist_ok=True)
    for fname, parts in (("janeausten-calibration.txt", calib),
                         ("janeausten-evaluation.txt", evals)):
        text = "\n\n".join(parts) + "\n"
        (outdir / fname).write_text(text, encoding="utf-8")
        print(f"janeausten_corpus: {fname}: {len(text)} characters, "
              f"{len(parts) - len(NOVELS)} paragraphs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
